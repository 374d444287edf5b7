"""Settings of the files service (prefix `OPENEO_FILES_`)."""

from pydantic_settings import SettingsConfigDict

from eoplex_common.settings import ServiceSettings


class FilesSettings(ServiceSettings):
    """Where the files service listens and which bucket holds the user workspaces."""

    model_config = SettingsConfigDict(env_prefix="OPENEO_FILES_", extra="ignore")

    listen: str = "127.0.0.1:50066"
    bucket: str = "eoplex-user-files"
