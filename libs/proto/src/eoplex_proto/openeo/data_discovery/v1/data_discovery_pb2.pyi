from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class JsonDocument(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...

class ListCollectionsRequest(_message.Message):
    __slots__ = ("limit", "page_token")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    limit: int
    page_token: str
    def __init__(self, limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCollectionsResponse(_message.Message):
    __slots__ = ("collections_json", "next_page_token", "prev_page_token")
    COLLECTIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PREV_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    collections_json: _containers.RepeatedScalarFieldContainer[str]
    next_page_token: str
    prev_page_token: str
    def __init__(self, collections_json: _Optional[_Iterable[str]] = ..., next_page_token: _Optional[str] = ..., prev_page_token: _Optional[str] = ...) -> None: ...

class GetCollectionRequest(_message.Message):
    __slots__ = ("collection_id",)
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    collection_id: str
    def __init__(self, collection_id: _Optional[str] = ...) -> None: ...

class SearchItemsRequest(_message.Message):
    __slots__ = ("collection_id", "bbox", "bbox_crs", "datetime_start", "datetime_end", "bands", "property_filter_json", "limit", "page_token")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    BBOX_FIELD_NUMBER: _ClassVar[int]
    BBOX_CRS_FIELD_NUMBER: _ClassVar[int]
    DATETIME_START_FIELD_NUMBER: _ClassVar[int]
    DATETIME_END_FIELD_NUMBER: _ClassVar[int]
    BANDS_FIELD_NUMBER: _ClassVar[int]
    PROPERTY_FILTER_JSON_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    collection_id: str
    bbox: _containers.RepeatedScalarFieldContainer[float]
    bbox_crs: str
    datetime_start: str
    datetime_end: str
    bands: _containers.RepeatedScalarFieldContainer[str]
    property_filter_json: str
    limit: int
    page_token: str
    def __init__(self, collection_id: _Optional[str] = ..., bbox: _Optional[_Iterable[float]] = ..., bbox_crs: _Optional[str] = ..., datetime_start: _Optional[str] = ..., datetime_end: _Optional[str] = ..., bands: _Optional[_Iterable[str]] = ..., property_filter_json: _Optional[str] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchItemsResponse(_message.Message):
    __slots__ = ("items_json", "next_page_token", "number_matched")
    ITEMS_JSON_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NUMBER_MATCHED_FIELD_NUMBER: _ClassVar[int]
    items_json: _containers.RepeatedScalarFieldContainer[str]
    next_page_token: str
    number_matched: int
    def __init__(self, items_json: _Optional[_Iterable[str]] = ..., next_page_token: _Optional[str] = ..., number_matched: _Optional[int] = ...) -> None: ...

class StageCollectionRequest(_message.Message):
    __slots__ = ("collection_json",)
    COLLECTION_JSON_FIELD_NUMBER: _ClassVar[int]
    collection_json: str
    def __init__(self, collection_json: _Optional[str] = ...) -> None: ...

class StageCollectionResponse(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: str
    def __init__(self, version: _Optional[str] = ...) -> None: ...

class StageItemsRequest(_message.Message):
    __slots__ = ("collection_id", "version", "items_json")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ITEMS_JSON_FIELD_NUMBER: _ClassVar[int]
    collection_id: str
    version: str
    items_json: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, collection_id: _Optional[str] = ..., version: _Optional[str] = ..., items_json: _Optional[_Iterable[str]] = ...) -> None: ...

class StageItemsResponse(_message.Message):
    __slots__ = ("staged",)
    STAGED_FIELD_NUMBER: _ClassVar[int]
    staged: int
    def __init__(self, staged: _Optional[int] = ...) -> None: ...

class CommitCollectionRequest(_message.Message):
    __slots__ = ("collection_id", "version")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    collection_id: str
    version: str
    def __init__(self, collection_id: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class CommitCollectionResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: int
    def __init__(self, items: _Optional[int] = ...) -> None: ...

class AbortCollectionRequest(_message.Message):
    __slots__ = ("collection_id", "version")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    collection_id: str
    version: str
    def __init__(self, collection_id: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class AbortCollectionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteCollectionRequest(_message.Message):
    __slots__ = ("collection_id",)
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    collection_id: str
    def __init__(self, collection_id: _Optional[str] = ...) -> None: ...

class DeleteCollectionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
