from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Owner(_message.Message):
    __slots__ = ("user_id", "tenant_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    tenant_id: str
    def __init__(self, user_id: _Optional[str] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class UsageMetric(_message.Message):
    __slots__ = ("count", "amount", "unit")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    count: int
    amount: float
    unit: str
    def __init__(self, count: _Optional[int] = ..., amount: _Optional[float] = ..., unit: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("job_id", "title", "description", "process_json", "status", "progress", "created", "updated", "plan", "costs", "budget", "usage", "job_options_json", "log_level")
    class UsageEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: UsageMetric
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[UsageMetric, _Mapping]] = ...) -> None: ...
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    COSTS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    JOB_OPTIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    LOG_LEVEL_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    title: str
    description: str
    process_json: str
    status: str
    progress: float
    created: str
    updated: str
    plan: str
    costs: float
    budget: float
    usage: _containers.MessageMap[str, UsageMetric]
    job_options_json: str
    log_level: str
    def __init__(self, job_id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., process_json: _Optional[str] = ..., status: _Optional[str] = ..., progress: _Optional[float] = ..., created: _Optional[str] = ..., updated: _Optional[str] = ..., plan: _Optional[str] = ..., costs: _Optional[float] = ..., budget: _Optional[float] = ..., usage: _Optional[_Mapping[str, UsageMetric]] = ..., job_options_json: _Optional[str] = ..., log_level: _Optional[str] = ...) -> None: ...

class CreateJobRequest(_message.Message):
    __slots__ = ("owner", "process_json", "title", "description", "plan", "budget", "job_options_json", "log_level")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    JOB_OPTIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    LOG_LEVEL_FIELD_NUMBER: _ClassVar[int]
    owner: Owner
    process_json: str
    title: str
    description: str
    plan: str
    budget: float
    job_options_json: str
    log_level: str
    def __init__(self, owner: _Optional[_Union[Owner, _Mapping]] = ..., process_json: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., plan: _Optional[str] = ..., budget: _Optional[float] = ..., job_options_json: _Optional[str] = ..., log_level: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("owner", "limit", "page_token")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    owner: Owner
    limit: int
    page_token: str
    def __init__(self, owner: _Optional[_Union[Owner, _Mapping]] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class JobRequest(_message.Message):
    __slots__ = ("owner", "job_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    owner: Owner
    job_id: str
    def __init__(self, owner: _Optional[_Union[Owner, _Mapping]] = ..., job_id: _Optional[str] = ...) -> None: ...

class UpdateJobRequest(_message.Message):
    __slots__ = ("owner", "job_id", "fields", "title", "description", "process_json", "plan", "budget", "job_options_json", "log_level")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROCESS_JSON_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    JOB_OPTIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    LOG_LEVEL_FIELD_NUMBER: _ClassVar[int]
    owner: Owner
    job_id: str
    fields: _containers.RepeatedScalarFieldContainer[str]
    title: str
    description: str
    process_json: str
    plan: str
    budget: float
    job_options_json: str
    log_level: str
    def __init__(self, owner: _Optional[_Union[Owner, _Mapping]] = ..., job_id: _Optional[str] = ..., fields: _Optional[_Iterable[str]] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., process_json: _Optional[str] = ..., plan: _Optional[str] = ..., budget: _Optional[float] = ..., job_options_json: _Optional[str] = ..., log_level: _Optional[str] = ...) -> None: ...

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetResultsRequest(_message.Message):
    __slots__ = ("owner", "job_id", "api_url")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    API_URL_FIELD_NUMBER: _ClassVar[int]
    owner: Owner
    job_id: str
    api_url: str
    def __init__(self, owner: _Optional[_Union[Owner, _Mapping]] = ..., job_id: _Optional[str] = ..., api_url: _Optional[str] = ...) -> None: ...

class GetResultsResponse(_message.Message):
    __slots__ = ("document_json",)
    DOCUMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    document_json: str
    def __init__(self, document_json: _Optional[str] = ...) -> None: ...

class ResultLink(_message.Message):
    __slots__ = ("job_id", "asset", "expires", "signature")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    asset: str
    expires: int
    signature: str
    def __init__(self, job_id: _Optional[str] = ..., asset: _Optional[str] = ..., expires: _Optional[int] = ..., signature: _Optional[str] = ...) -> None: ...

class GetSharedResultsRequest(_message.Message):
    __slots__ = ("link", "api_url")
    LINK_FIELD_NUMBER: _ClassVar[int]
    API_URL_FIELD_NUMBER: _ClassVar[int]
    link: ResultLink
    api_url: str
    def __init__(self, link: _Optional[_Union[ResultLink, _Mapping]] = ..., api_url: _Optional[str] = ...) -> None: ...

class DownloadResultRequest(_message.Message):
    __slots__ = ("link", "offset", "length")
    LINK_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    link: ResultLink
    offset: int
    length: int
    def __init__(self, link: _Optional[_Union[ResultLink, _Mapping]] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ...) -> None: ...

class ResultChunk(_message.Message):
    __slots__ = ("header", "data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    header: ResultHeader
    data: bytes
    def __init__(self, header: _Optional[_Union[ResultHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class ResultHeader(_message.Message):
    __slots__ = ("size", "media_type", "modified", "offset", "length")
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODIFIED_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    size: int
    media_type: str
    modified: str
    offset: int
    length: int
    def __init__(self, size: _Optional[int] = ..., media_type: _Optional[str] = ..., modified: _Optional[str] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ...) -> None: ...

class GetLogsRequest(_message.Message):
    __slots__ = ("owner", "job_id", "offset", "level", "limit")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    owner: Owner
    job_id: str
    offset: str
    level: str
    limit: int
    def __init__(self, owner: _Optional[_Union[Owner, _Mapping]] = ..., job_id: _Optional[str] = ..., offset: _Optional[str] = ..., level: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class GetLogsResponse(_message.Message):
    __slots__ = ("logs_json", "next_offset", "level")
    LOGS_JSON_FIELD_NUMBER: _ClassVar[int]
    NEXT_OFFSET_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    logs_json: _containers.RepeatedScalarFieldContainer[str]
    next_offset: str
    level: str
    def __init__(self, logs_json: _Optional[_Iterable[str]] = ..., next_offset: _Optional[str] = ..., level: _Optional[str] = ...) -> None: ...

class EstimateResponse(_message.Message):
    __slots__ = ("estimate_json",)
    ESTIMATE_JSON_FIELD_NUMBER: _ClassVar[int]
    estimate_json: str
    def __init__(self, estimate_json: _Optional[str] = ...) -> None: ...

class JobSpec(_message.Message):
    __slots__ = ("job", "owner", "max_pixels", "paid_pixels")
    JOB_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MAX_PIXELS_FIELD_NUMBER: _ClassVar[int]
    PAID_PIXELS_FIELD_NUMBER: _ClassVar[int]
    job: Job
    owner: Owner
    max_pixels: int
    paid_pixels: int
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ..., owner: _Optional[_Union[Owner, _Mapping]] = ..., max_pixels: _Optional[int] = ..., paid_pixels: _Optional[int] = ...) -> None: ...
