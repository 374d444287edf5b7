"""NATS JetStream: connecting, declaring streams, and publishing with trace context."""

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from eoplex_common.context import REQUEST_ID_HEADER, request_id
from eoplex_common.tracing import inject_trace_context


async def connect_nats(url: str, *, name: str) -> NATS:
    """A connection that reconnects forever, as a long-running service needs."""
    client = NATS()
    await client.connect(servers=[url], name=f"eoplex-{name}", max_reconnect_attempts=-1)
    return client


async def ensure_stream(
    js: JetStreamContext, *, name: str, subjects: list[str], max_age_seconds: float | None = None
) -> None:
    """Declare a stream, or update its subjects (and message age limit) if it exists."""
    config = StreamConfig(name=name, subjects=subjects, max_age=max_age_seconds)
    try:
        await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(config)
    else:
        await js.update_stream(config)


async def publish_event(js: JetStreamContext, subject: str, payload: bytes) -> None:
    """Publish with the request id and trace context as headers, so consumers continue the trace."""
    headers = {REQUEST_ID_HEADER: request_id.get()}
    inject_trace_context(headers)
    await js.publish(subject, payload, headers=headers)
