"""Running the gateway: uvicorn with the app, graceful shutdown on SIGTERM/SIGINT."""

import contextlib
import signal
from collections.abc import Iterator

import uvicorn

from eoplex_common.logs import configure_logging
from eoplex_common.settings import ServiceAddresses
from eoplex_common.tracing import configure_tracing
from eoplex_gateway.app import create_app
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
    """A uvicorn server for the app; requests in flight get the grace period at shutdown."""
    config = uvicorn.Config(
        create_app(settings=settings, addresses=addresses),
        host=settings.host,
        port=settings.port,
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
