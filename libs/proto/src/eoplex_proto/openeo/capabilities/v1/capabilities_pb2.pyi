from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JsonDocument(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...

class Endpoint(_message.Message):
    __slots__ = ("path", "methods")
    PATH_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    path: str
    methods: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, path: _Optional[str] = ..., methods: _Optional[_Iterable[str]] = ...) -> None: ...

class GetCapabilitiesRequest(_message.Message):
    __slots__ = ("api_url", "endpoints")
    API_URL_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    api_url: str
    endpoints: _containers.RepeatedCompositeFieldContainer[Endpoint]
    def __init__(self, api_url: _Optional[str] = ..., endpoints: _Optional[_Iterable[_Union[Endpoint, _Mapping]]] = ...) -> None: ...

class GetWellKnownRequest(_message.Message):
    __slots__ = ("api_url",)
    API_URL_FIELD_NUMBER: _ClassVar[int]
    api_url: str
    def __init__(self, api_url: _Optional[str] = ...) -> None: ...

class GetConformanceRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetFileFormatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetUdfRuntimesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetServiceTypesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetHealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ComponentHealth(_message.Message):
    __slots__ = ("name", "kind", "status", "detail")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    status: str
    detail: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., status: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class GetHealthResponse(_message.Message):
    __slots__ = ("status", "components")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    status: str
    components: _containers.RepeatedCompositeFieldContainer[ComponentHealth]
    def __init__(self, status: _Optional[str] = ..., components: _Optional[_Iterable[_Union[ComponentHealth, _Mapping]]] = ...) -> None: ...
