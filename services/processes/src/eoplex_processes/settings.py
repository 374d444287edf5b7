"""Settings of the processes service (prefix `OPENEO_PROCESSES_`)."""

from pydantic_settings import SettingsConfigDict

from eoplex_common.settings import ServiceSettings


class ProcessesSettings(ServiceSettings):
    """Where the processes service listens; infrastructure URLs come from `ServiceSettings`."""

    model_config = SettingsConfigDict(env_prefix="OPENEO_PROCESSES_", extra="ignore")

    listen: str = "127.0.0.1:50064"
