"""Settings of the executor service (prefix `OPENEO_EXECUTOR_`)."""

from pydantic_settings import SettingsConfigDict

from eoplex_common.settings import ServiceSettings


class ExecutorSettings(ServiceSettings):
    """Where the executor service listens; infrastructure URLs come from `ServiceSettings`."""

    model_config = SettingsConfigDict(env_prefix="OPENEO_EXECUTOR_", extra="ignore")

    listen: str = "127.0.0.1:50067"
