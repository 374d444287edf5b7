"""The jobs service's NATS side: the work queue of job starts, and the durable consumer
of the `JOBS` stream (status, progress and log events of running jobs).

The payloads and subjects of `JOBS` are the contract in `eoplex_common.job_events`.
Events are applied idempotently, so a redelivery (after a crash before the ack) does
no harm: status changes are transitions from `running` only, progress is stored only
while running, and each log event is stored under its stream sequence number once.
The consumer is durable: events published while the service is down wait in the
stream and are applied when it comes back.
"""

import asyncio
import logging
from typing import Any

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, RetentionPolicy, StreamConfig
from nats.js.errors import NotFoundError

from eoplex_common.events import publish_event
from eoplex_common.job_events import (
    JOBS_STREAM,
    InvalidJobEvent,
    JobEvent,
    LogEvent,
    ProgressEvent,
    StatusEvent,
    ensure_jobs_stream,
    parse_event,
    parse_subject,
)
from eoplex_common.pricing import price
from eoplex_common.tasks import stop_task
from eoplex_jobs.store import JobStore

log = logging.getLogger(__name__)

# The work queue of job starts: one message per StartJob, consumed by the scheduler.
JOBQUEUE_STREAM = "JOBQUEUE"
JOBQUEUE_SUBJECT = "jobqueue.start"
# The durable consumer of `JOBS` shared by every replica of the jobs service.
EVENTS_CONSUMER = "jobs-service"


class WorkQueue:
    """The `JOBQUEUE` stream of job starts (work-queue retention: a message is gone once
    the scheduler acks it); StartJob publishes the job id (UTF-8) on `jobqueue.start`."""

    def __init__(self, *, js: JetStreamContext) -> None:
        self.js = js

    async def ensure_stream(self) -> None:
        """Declare the stream at start-up (a work-queue stream cannot be re-declared with
        other settings, so an existing one is left as it is)."""
        config = StreamConfig(
            name=JOBQUEUE_STREAM,
            subjects=[JOBQUEUE_SUBJECT],
            retention=RetentionPolicy.WORK_QUEUE,
        )
        try:
            await self.js.stream_info(JOBQUEUE_STREAM)
        except NotFoundError:
            await self.js.add_stream(config)

    async def publish(self, job_id: str) -> None:
        """Ask the scheduler to admit the job."""
        await publish_event(self.js, JOBQUEUE_SUBJECT, job_id.encode())


async def apply_event(
    store: JobStore, job_id: str, event: JobEvent, *, event_id: str, cost_per_megapixel: float
) -> None:
    """Apply one event of a job; an event for a job that is no longer running (canceled,
    deleted, already finished) changes nothing. A finished job costs what a synchronous
    request reading and producing as many pixels would (`input_pixels` and
    `produced_pixels` of its usage)."""
    if isinstance(event, LogEvent):
        await store.append_log(
            job_id,
            level=event.level,
            message=event.message,
            data=event.data,
            time=event.time,
            event_id=event_id,
        )
    elif isinstance(event, ProgressEvent):
        fields = {"progress": event.progress, "heartbeat_at": event.time}
        await store.update_in_status(job_id, statuses=("running",), fields=fields)
    else:
        await _apply_status(
            store, job_id, event, event_id=event_id, cost_per_megapixel=cost_per_megapixel
        )


async def _apply_status(
    store: JobStore, job_id: str, event: StatusEvent, *, event_id: str, cost_per_megapixel: float
) -> None:
    fields: dict[str, Any]
    if event.status == "finished":
        fields = {
            "assets": event.assets,
            "usage": event.usage,
            "costs": _costs(event.usage, cost_per_megapixel),
            "finished_at": event.time,
            "heartbeat_at": event.time,
            "progress": 100.0,
        }
        await store.transition(job_id, expected=("running",), to="finished", fields=fields)
    else:
        # The log entry first, so whoever sees the status `error` also finds the reason in
        # the logs, and a redelivery after a crash in between still fails the job (the
        # entry is stored once per event).
        job = await store.get(job_id)
        if job is None or job["status"] != "running":
            return
        message = f"The job failed: {event.message}" if event.message else "The job failed."
        await store.append_log(
            job_id, level="error", message=message, time=event.time, event_id=event_id
        )
        fields = {"error": event.message, "finished_at": event.time, "heartbeat_at": event.time}
        await store.transition(job_id, expected=("running",), to="error", fields=fields)


def _costs(usage: dict[str, Any], cost_per_megapixel: float) -> float | None:
    """The price of `input_pixels + produced_pixels` (`eoplex_common.pricing`); None if the
    executor did not report the pixels it read (an executor that does not count what it
    produces reports none)."""
    read = _metric(usage, "input_pixels")
    if read is None:
        return None
    return price(
        int(read + (_metric(usage, "produced_pixels") or 0)), cost_per_megapixel=cost_per_megapixel
    )


def _metric(usage: dict[str, Any], name: str) -> int | float | None:
    metric = usage.get(name)
    value = metric.get("value") if isinstance(metric, dict) else None
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


class JobEventConsumer:
    """Pulls `JOBS` events through the durable consumer and applies them to the store."""

    def __init__(
        self,
        *,
        js: JetStreamContext,
        store: JobStore,
        cost_per_megapixel: float,
        durable: str = EVENTS_CONSUMER,
        batch: int = 100,
        retry_delay_seconds: float = 1.0,
    ) -> None:
        self.js = js
        self.store = store
        self.cost_per_megapixel = cost_per_megapixel
        self.durable = durable
        self.batch = batch
        self.retry_delay_seconds = retry_delay_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Declare the stream and the durable consumer, then consume in the background."""
        await ensure_jobs_stream(self.js)
        subscription = await self.js.pull_subscribe(
            "jobs.>",
            durable=self.durable,
            stream=JOBS_STREAM,
            config=ConsumerConfig(ack_wait=30, max_ack_pending=1000),
        )
        self._task = asyncio.create_task(self._consume(subscription), name="jobs-events")

    async def stop(self) -> None:
        """Stop consuming; unacknowledged events stay in the stream for the next start."""
        if self._task is None:
            return
        await stop_task(self._task)
        self._task = None

    async def _consume(self, subscription: JetStreamContext.PullSubscription) -> None:
        while True:
            try:
                messages = await subscription.fetch(self.batch, timeout=1.0)
            except TimeoutError:
                # No event within the second (nats-py raises its own or asyncio's).
                continue
            except Exception:
                # NATS down or reconnecting: the messages stay in the stream.
                log.warning("fetching job events failed; retrying", exc_info=True)
                await asyncio.sleep(self.retry_delay_seconds)
                continue
            for message in messages:
                await self._handle(message)

    async def _handle(self, message: Msg) -> None:
        try:
            job_id, kind = parse_subject(message.subject)
            event = parse_event(kind, message.data)
        except InvalidJobEvent as error:
            log.warning("dropping an invalid job event on %s: %s", message.subject, error)
            await message.term()
            return
        try:
            await apply_event(
                self.store,
                job_id,
                event,
                event_id=str(message.metadata.sequence.stream),
                cost_per_megapixel=self.cost_per_megapixel,
            )
        except Exception:
            # MongoDB unreachable: redeliver later rather than lose the event.
            log.warning("applying a job event failed; it is redelivered", exc_info=True)
            await message.nak(delay=self.retry_delay_seconds)
            return
        await message.ack()
