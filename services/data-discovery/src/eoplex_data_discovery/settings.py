"""Settings of the data-discovery service (prefix `OPENEO_DATA_DISCOVERY_`)."""

from pydantic_settings import SettingsConfigDict

from eoplex_common.settings import ServiceSettings


class DataDiscoverySettings(ServiceSettings):
    """Where the data-discovery service listens; infrastructure URLs come from `ServiceSettings`."""

    model_config = SettingsConfigDict(env_prefix="OPENEO_DATA_DISCOVERY_", extra="ignore")

    listen: str = "127.0.0.1:50063"
