from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ExecuteRequest(_message.Message):
    __slots__ = ("process_json", "user_id", "tenant_id", "max_pixels")
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_PIXELS_FIELD_NUMBER: _ClassVar[int]
    process_json: str
    user_id: str
    tenant_id: str
    max_pixels: int
    def __init__(self, process_json: _Optional[str] = ..., user_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., max_pixels: _Optional[int] = ...) -> None: ...

class ResultChunk(_message.Message):
    __slots__ = ("media_type", "filename", "size", "costs", "data")
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    COSTS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    media_type: str
    filename: str
    size: int
    costs: float
    data: bytes
    def __init__(self, media_type: _Optional[str] = ..., filename: _Optional[str] = ..., size: _Optional[int] = ..., costs: _Optional[float] = ..., data: _Optional[bytes] = ...) -> None: ...

class EstimateRequest(_message.Message):
    __slots__ = ("process_json", "user_id", "tenant_id")
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    process_json: str
    user_id: str
    tenant_id: str
    def __init__(self, process_json: _Optional[str] = ..., user_id: _Optional[str] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class EstimateResponse(_message.Message):
    __slots__ = ("pixels_read", "bytes_read", "pixels_written", "bytes_written", "files_written")
    PIXELS_READ_FIELD_NUMBER: _ClassVar[int]
    BYTES_READ_FIELD_NUMBER: _ClassVar[int]
    PIXELS_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    BYTES_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    FILES_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    pixels_read: int
    bytes_read: int
    pixels_written: int
    bytes_written: int
    files_written: int
    def __init__(self, pixels_read: _Optional[int] = ..., bytes_read: _Optional[int] = ..., pixels_written: _Optional[int] = ..., bytes_written: _Optional[int] = ..., files_written: _Optional[int] = ...) -> None: ...
