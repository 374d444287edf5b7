"""Settings shared by every service, read from the environment at start-up.

Each service subclasses `ServiceSettings` with its own prefix (`OPENEO_AUTH_`,
`OPENEO_GATEWAY_`, ...). Infrastructure URLs and the addresses of the other
services are global (`OPENEO_MONGODB_URL`, `OPENEO_AUTH_ADDRESS`, ...) because
every service that uses them must agree on them. Settings objects are built in
`main()`, never at import, and passed in.
"""

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _global(name: str, default: object) -> object:
    """A field read from one un-prefixed `OPENEO_*` variable, shared by every service."""
    return Field(default, validation_alias=AliasChoices(name))


class ServiceAddresses(BaseSettings):
    """Where each gRPC service answers (`OPENEO_<SERVICE>_ADDRESS`), as seen by its clients."""

    model_config = SettingsConfigDict(env_prefix="OPENEO_", extra="ignore")

    auth_address: str = "127.0.0.1:50061"
    capabilities_address: str = "127.0.0.1:50062"
    data_discovery_address: str = "127.0.0.1:50063"
    processes_address: str = "127.0.0.1:50064"
    jobs_address: str = "127.0.0.1:50065"
    files_address: str = "127.0.0.1:50066"
    executor_address: str = "127.0.0.1:50067"

    def by_service(self) -> dict[str, str]:
        """Service name (as in `services/<name>`) to address."""
        return {
            name.removesuffix("_address").replace("_", "-"): value
            for name, value in self.model_dump().items()
        }


class InfrastructureSettings(BaseSettings):
    """The servers the back-end stores and signals through."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    mongodb_url: str = _global("OPENEO_MONGODB_URL", "mongodb://127.0.0.1:27017")  # type: ignore[assignment]
    nats_url: str = _global("OPENEO_NATS_URL", "nats://127.0.0.1:4222")  # type: ignore[assignment]
    s3_endpoint: str = _global("OPENEO_S3_ENDPOINT", "http://127.0.0.1:8333")  # type: ignore[assignment]
    s3_access_key: str = _global("OPENEO_S3_ACCESS_KEY", "eoplex")  # type: ignore[assignment]
    s3_secret_key: str = _global("OPENEO_S3_SECRET_KEY", "eoplex-secret")  # type: ignore[assignment]
    s3_region: str = _global("OPENEO_S3_REGION", "us-east-1")  # type: ignore[assignment]


class ServiceSettings(InfrastructureSettings):
    """Base of every service's settings: where it listens, how it logs and traces."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    listen: str = "127.0.0.1:50051"
    log_level: str = _global("OPENEO_LOG_LEVEL", "INFO")  # type: ignore[assignment]
    log_format: str = _global("OPENEO_LOG_FORMAT", "json")  # type: ignore[assignment]
    otlp_endpoint: str | None = _global("OTEL_EXPORTER_OTLP_ENDPOINT", None)  # type: ignore[assignment]
    rpc_timeout_seconds: float = _global("OPENEO_RPC_TIMEOUT_SECONDS", 10.0)  # type: ignore[assignment]
    shutdown_grace_seconds: float = _global("OPENEO_SHUTDOWN_GRACE_SECONDS", 5.0)  # type: ignore[assignment]
