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

class RegisterStacApiRequest(_message.Message):
    __slots__ = ("url", "upstream_collection", "collection_id", "bands_from", "signing", "signing_url", "overrides_json", "s3_access", "s3_endpoint", "credentials_json", "credentials_secret", "s3_region")
    URL_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_COLLECTION_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    BANDS_FROM_FIELD_NUMBER: _ClassVar[int]
    SIGNING_FIELD_NUMBER: _ClassVar[int]
    SIGNING_URL_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_JSON_FIELD_NUMBER: _ClassVar[int]
    S3_ACCESS_FIELD_NUMBER: _ClassVar[int]
    S3_ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_JSON_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_SECRET_FIELD_NUMBER: _ClassVar[int]
    S3_REGION_FIELD_NUMBER: _ClassVar[int]
    url: str
    upstream_collection: str
    collection_id: str
    bands_from: str
    signing: str
    signing_url: str
    overrides_json: str
    s3_access: str
    s3_endpoint: str
    credentials_json: str
    credentials_secret: str
    s3_region: str
    def __init__(self, url: _Optional[str] = ..., upstream_collection: _Optional[str] = ..., collection_id: _Optional[str] = ..., bands_from: _Optional[str] = ..., signing: _Optional[str] = ..., signing_url: _Optional[str] = ..., overrides_json: _Optional[str] = ..., s3_access: _Optional[str] = ..., s3_endpoint: _Optional[str] = ..., credentials_json: _Optional[str] = ..., credentials_secret: _Optional[str] = ..., s3_region: _Optional[str] = ...) -> None: ...

class RefreshCollectionRequest(_message.Message):
    __slots__ = ("collection_id",)
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    collection_id: str
    def __init__(self, collection_id: _Optional[str] = ...) -> None: ...

class CollectionSource(_message.Message):
    __slots__ = ("collection_id", "kind", "upstream", "refreshed", "refresh_error", "title")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_FIELD_NUMBER: _ClassVar[int]
    REFRESHED_FIELD_NUMBER: _ClassVar[int]
    REFRESH_ERROR_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    collection_id: str
    kind: str
    upstream: str
    refreshed: str
    refresh_error: str
    title: str
    def __init__(self, collection_id: _Optional[str] = ..., kind: _Optional[str] = ..., upstream: _Optional[str] = ..., refreshed: _Optional[str] = ..., refresh_error: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...

class ListCollectionSourcesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCollectionSourcesResponse(_message.Message):
    __slots__ = ("sources",)
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    sources: _containers.RepeatedCompositeFieldContainer[CollectionSource]
    def __init__(self, sources: _Optional[_Iterable[_Union[CollectionSource, _Mapping]]] = ...) -> None: ...

class CollectionAccess(_message.Message):
    __slots__ = ("kind", "gdal_options", "signing", "signing_url", "mosaic")
    class GdalOptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KIND_FIELD_NUMBER: _ClassVar[int]
    GDAL_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SIGNING_FIELD_NUMBER: _ClassVar[int]
    SIGNING_URL_FIELD_NUMBER: _ClassVar[int]
    MOSAIC_FIELD_NUMBER: _ClassVar[int]
    kind: str
    gdal_options: _containers.ScalarMap[str, str]
    signing: str
    signing_url: str
    mosaic: str
    def __init__(self, kind: _Optional[str] = ..., gdal_options: _Optional[_Mapping[str, str]] = ..., signing: _Optional[str] = ..., signing_url: _Optional[str] = ..., mosaic: _Optional[str] = ...) -> None: ...

class ListUpstreamsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListUpstreamsResponse(_message.Message):
    __slots__ = ("urls",)
    URLS_FIELD_NUMBER: _ClassVar[int]
    urls: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, urls: _Optional[_Iterable[str]] = ...) -> None: ...
