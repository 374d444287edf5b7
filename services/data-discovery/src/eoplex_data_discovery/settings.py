"""Settings of the data-discovery service (prefix `OPENEO_DATA_DISCOVERY_`)."""

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from eoplex_common.settings import ServiceSettings
from eoplex_data_discovery.upstream import UpstreamSettings


class DataDiscoverySettings(ServiceSettings, UpstreamSettings):
    """Where the data-discovery service listens, how it talks to the STAC APIs behind
    external collections (`UpstreamSettings`) and how often it refreshes them;
    infrastructure URLs come from `ServiceSettings`."""

    model_config = SettingsConfigDict(env_prefix="OPENEO_DATA_DISCOVERY_", extra="ignore")

    listen: str = "127.0.0.1:50063"
    # How often the document of each stac-api collection is read again.
    refresh_seconds: float = 3600.0
    # The mounted Kubernetes Secret of upstream credentials: one JSON file per entry,
    # {"access_key_id", "secret_access_key", "session_token"?}.
    credentials_dir: Path | None = None
