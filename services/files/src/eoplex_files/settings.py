"""Settings of the files service (prefix `OPENEO_FILES_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from eoplex_common.settings import ServiceSettings


class FilesSettings(ServiceSettings):
    """Where the files service listens, which bucket holds the user workspaces, and the
    limits of an upload (the per-user quota comes from the tenant, with each upload)."""

    model_config = SettingsConfigDict(env_prefix="OPENEO_FILES_", extra="ignore")

    listen: str = "127.0.0.1:50066"
    bucket: str = "eoplex-user-files"
    # The largest file a user may upload (FileSizeExceeded above it).
    max_file_bytes: int = Field(2 * 1024**3, ge=1)
    # An upload that receives nothing for this long is dropped (RequestTimeout), so a
    # stalled client does not hold a multipart upload open forever.
    upload_idle_timeout_seconds: float = Field(60.0, gt=0)
