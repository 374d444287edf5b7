"""The entry point every gRPC service process shares (`python -m eoplex_<service>`)."""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from eoplex_common.logs import configure_logging
from eoplex_common.settings import ServiceSettings
from eoplex_common.tracing import configure_tracing

Settings = TypeVar("Settings", bound=ServiceSettings)


def run_service(
    *,
    name: str,
    settings: Settings,
    serve: Callable[[Settings], Coroutine[Any, Any, None]],
) -> None:
    """Configure logs and tracing for `name`, then run `serve(settings)` until it returns."""
    configure_logging(service=name, level=settings.log_level, fmt=settings.log_format)
    configure_tracing(service=name, otlp_endpoint=settings.otlp_endpoint)
    asyncio.run(serve(settings))
