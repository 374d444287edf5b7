"""Settings of the data-discovery service (prefix `OPENEO_DATA_DISCOVERY_`)."""

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from eoplex_common.settings import ServiceSettings


class DataDiscoverySettings(ServiceSettings):
    """Where the data-discovery service listens, how it talks to the STAC APIs behind
    external collections; infrastructure URLs come from `ServiceSettings`."""

    model_config = SettingsConfigDict(env_prefix="OPENEO_DATA_DISCOVERY_", extra="ignore")

    listen: str = "127.0.0.1:50063"
    # How often the document of each stac-api collection is fetched again.
    refresh_seconds: float = 3600.0
    # The mounted Kubernetes Secret of upstream credentials: one JSON file per entry,
    # {"access_key_id", "secret_access_key", "session_token"?}.
    credentials_dir: Path | None = None
    # Upstream search pages are cached this long, at most this many pages.
    search_cache_seconds: float = 60.0
    search_cache_entries: int = 256
    # Retries of a request answered 429, 5xx or not at all, and each request's timeout.
    upstream_retries: int = 4
    upstream_timeout_seconds: float = 30.0
