from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

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
    __slots__ = ("pixels_read", "bytes_read", "pixels_written", "bytes_written", "files_written", "pixels_produced")
    PIXELS_READ_FIELD_NUMBER: _ClassVar[int]
    BYTES_READ_FIELD_NUMBER: _ClassVar[int]
    PIXELS_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    BYTES_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    FILES_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    PIXELS_PRODUCED_FIELD_NUMBER: _ClassVar[int]
    pixels_read: int
    bytes_read: int
    pixels_written: int
    bytes_written: int
    files_written: int
    pixels_produced: int
    def __init__(self, pixels_read: _Optional[int] = ..., bytes_read: _Optional[int] = ..., pixels_written: _Optional[int] = ..., bytes_written: _Optional[int] = ..., files_written: _Optional[int] = ..., pixels_produced: _Optional[int] = ...) -> None: ...

class GetUdfSandboxRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UdfLimits(_message.Message):
    __slots__ = ("memory_bytes", "cpu_seconds", "sync_cpu_seconds", "file_bytes", "tasks")
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    CPU_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SYNC_CPU_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FILE_BYTES_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    memory_bytes: int
    cpu_seconds: int
    sync_cpu_seconds: int
    file_bytes: int
    tasks: int
    def __init__(self, memory_bytes: _Optional[int] = ..., cpu_seconds: _Optional[int] = ..., sync_cpu_seconds: _Optional[int] = ..., file_bytes: _Optional[int] = ..., tasks: _Optional[int] = ...) -> None: ...

class UdfSandbox(_message.Message):
    __slots__ = ("enforced", "runs_udfs", "reason", "layers", "limits")
    ENFORCED_FIELD_NUMBER: _ClassVar[int]
    RUNS_UDFS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    enforced: bool
    runs_udfs: bool
    reason: str
    layers: _containers.RepeatedScalarFieldContainer[str]
    limits: UdfLimits
    def __init__(self, enforced: _Optional[bool] = ..., runs_udfs: _Optional[bool] = ..., reason: _Optional[str] = ..., layers: _Optional[_Iterable[str]] = ..., limits: _Optional[_Union[UdfLimits, _Mapping]] = ...) -> None: ...
