"""Settings of the jobs service (prefix `OPENEO_JOBS_`)."""

from pydantic_settings import SettingsConfigDict

from eoplex_common.settings import ServiceSettings


class JobsSettings(ServiceSettings):
    """Where the jobs service listens; infrastructure URLs come from `ServiceSettings`."""

    model_config = SettingsConfigDict(env_prefix="OPENEO_JOBS_", extra="ignore")

    listen: str = "127.0.0.1:50065"
