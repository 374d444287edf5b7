from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListProcessesRequest(_message.Message):
    __slots__ = ("limit", "page_token")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    limit: int
    page_token: str
    def __init__(self, limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListProcessesResponse(_message.Message):
    __slots__ = ("processes_json", "next_page_token")
    PROCESSES_JSON_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    processes_json: _containers.RepeatedScalarFieldContainer[str]
    next_page_token: str
    def __init__(self, processes_json: _Optional[_Iterable[str]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ValidateProcessRequest(_message.Message):
    __slots__ = ("process_json", "user_id", "tenant_id")
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    process_json: str
    user_id: str
    tenant_id: str
    def __init__(self, process_json: _Optional[str] = ..., user_id: _Optional[str] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class ValidationError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ValidateProcessResponse(_message.Message):
    __slots__ = ("errors",)
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    errors: _containers.RepeatedCompositeFieldContainer[ValidationError]
    def __init__(self, errors: _Optional[_Iterable[_Union[ValidationError, _Mapping]]] = ...) -> None: ...

class Owner(_message.Message):
    __slots__ = ("user_id", "tenant_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    tenant_id: str
    def __init__(self, user_id: _Optional[str] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class ListUserProcessesRequest(_message.Message):
    __slots__ = ("owner", "limit", "page_token")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    owner: Owner
    limit: int
    page_token: str
    def __init__(self, owner: _Optional[_Union[Owner, _Mapping]] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListUserProcessesResponse(_message.Message):
    __slots__ = ("processes_json", "next_page_token")
    PROCESSES_JSON_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    processes_json: _containers.RepeatedScalarFieldContainer[str]
    next_page_token: str
    def __init__(self, processes_json: _Optional[_Iterable[str]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UserProcessRequest(_message.Message):
    __slots__ = ("owner", "process_graph_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PROCESS_GRAPH_ID_FIELD_NUMBER: _ClassVar[int]
    owner: Owner
    process_graph_id: str
    def __init__(self, owner: _Optional[_Union[Owner, _Mapping]] = ..., process_graph_id: _Optional[str] = ...) -> None: ...

class UserProcessResponse(_message.Message):
    __slots__ = ("process_json",)
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    process_json: str
    def __init__(self, process_json: _Optional[str] = ...) -> None: ...

class PutUserProcessRequest(_message.Message):
    __slots__ = ("owner", "process_graph_id", "process_json")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PROCESS_GRAPH_ID_FIELD_NUMBER: _ClassVar[int]
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    owner: Owner
    process_graph_id: str
    process_json: str
    def __init__(self, owner: _Optional[_Union[Owner, _Mapping]] = ..., process_graph_id: _Optional[str] = ..., process_json: _Optional[str] = ...) -> None: ...

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
