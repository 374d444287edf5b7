"""Running the gateway: uvicorn with the app, graceful shutdown on SIGTERM/SIGINT."""

import contextlib
import signal
from collections.abc import Iterator

import uvicorn

from eoplex_common.logs import configure_logging
from eoplex_common.settings import ServiceAddresses
from eoplex_common.tracing import configure_tracing
from eoplex_gateway.app import create_app
from eoplex_gateway.connections import ConnectionLimits, bounded_protocol
from eoplex_gateway.settings import GatewaySettings


class GatewayServer(uvicorn.Server):
    """uvicorn, but a signal-initiated graceful shutdown exits with status 0.

    uvicorn re-raises the signal after shutting down (exit 143), which Kubernetes and
    the local supervisor would report as an error.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {
            sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def build_server(settings: GatewaySettings, addresses: ServiceAddresses) -> uvicorn.Server:
    """A uvicorn server for the app, within the connection limits of `settings`; requests
    in flight get the grace period at shutdown."""
    limits = ConnectionLimits(
        max_header_bytes=settings.max_header_bytes,
        header_timeout_seconds=settings.header_timeout_seconds,
        max_connections=settings.max_connections,
    )
    config = uvicorn.Config(
        create_app(settings=settings, addresses=addresses),
        host=settings.host,
        port=settings.port,
        http=bounded_protocol(limits),
        # The API has no WebSocket endpoint: no upgrade is honoured.
        ws="none",
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        lifespan="on",
        # Our own logging and access log; forwarded headers only as `settings` allow.
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )
    return GatewayServer(config)


def main() -> None:
    """Entry point: `python -m eoplex_gateway`."""
    settings = GatewaySettings()
    configure_logging(service="gateway", level=settings.log_level, fmt=settings.log_format)
    configure_tracing(service="gateway", otlp_endpoint=settings.otlp_endpoint)
    build_server(settings, ServiceAddresses()).run()
