"""Settings of the gateway (prefix `OPENEO_GATEWAY_`; the port is the global `OPENEO_PORT`)."""

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from eoplex_common.rpc import MAX_MESSAGE_BYTES
from eoplex_common.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    """Where the HTTP API listens, its request limits, and how it learns its public URL."""

    model_config = SettingsConfigDict(
        env_prefix="OPENEO_GATEWAY_", extra="ignore", populate_by_name=True
    )

    host: str = "127.0.0.1"
    port: int = Field(8000, validation_alias=AliasChoices("port", "OPENEO_PORT"))
    # A body the gateway reads whole (all but uploads, which stream) may be this large;
    # at most what one gRPC message between the services holds (it travels in one).
    max_body_bytes: int = Field(10 * 1024 * 1024, gt=0, le=MAX_MESSAGE_BYTES)
    # Connections (see `connections.py`): a request's head (request line and header
    # fields) may be this large (431 beyond), must arrive within this time (408 beyond),
    # an idle kept-alive connection is closed after this time, and this many connections
    # may be open at once in the process (503 beyond).
    max_header_bytes: int = Field(64 * 1024, gt=0)
    header_timeout_seconds: float = Field(10.0, gt=0)
    keep_alive_timeout_seconds: int = Field(5, gt=0)
    max_connections: int = Field(1000, gt=0)
    # The URL clients use, e.g. "https://openeo.example" behind an ingress; derived per
    # request when unset.
    public_url: str | None = None
    # Honour X-Forwarded-Proto/-Host/-For: only behind a proxy that sets them itself.
    trust_proxy_headers: bool = False
    # The deadline of one `POST /result`, computing and sending the file: above the
    # executor's own timeout (OPENEO_EXECUTOR_SYNC_TIMEOUT_SECONDS, 300 s by default), so
    # a slow computation ends as the executor's RequestTimeout, not as this deadline.
    result_timeout_seconds: float = 600.0
    # The deadline of one upload or download of a workspace file (`/files/{path}`), for
    # a file of the maximum size over a slow link; a stalled upload ends sooner, at the
    # files service's OPENEO_FILES_UPLOAD_IDLE_TIMEOUT_SECONDS.
    file_transfer_timeout_seconds: float = 3600.0
