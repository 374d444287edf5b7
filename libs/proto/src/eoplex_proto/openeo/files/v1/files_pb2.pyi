from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetStorageUsageRequest(_message.Message):
    __slots__ = ("user_id", "tenant_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    tenant_id: str
    def __init__(self, user_id: _Optional[str] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class GetStorageUsageResponse(_message.Message):
    __slots__ = ("used_bytes",)
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    used_bytes: int
    def __init__(self, used_bytes: _Optional[int] = ...) -> None: ...
