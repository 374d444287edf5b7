"""A batch job's events on the `JOBS` stream: status, log and progress (the heartbeat),
each retried while NATS is briefly away, so that no status is lost."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from dask.callbacks import Callback

from eoplex_common import job_events
from eoplex_common.job_events import EventKind
from eoplex_executor.engine.settings import ExecutorSettings

log = logging.getLogger(__name__)

RETRY_INTERVAL_SECONDS = 0.5
# Progress while computing runs up to here; uploading takes the rest.
COMPUTED_PERCENT = 90.0

Publish = Callable[[str, bytes], Awaitable[None]]


class JobEvents:
    """Publishes one job's status, progress and log events, in order.

    Each event is retried for `retry_seconds` while publishing fails (NATS restarting,
    a leader election), so a short outage delays events instead of losing them.
    """

    def __init__(self, job_id: str, publish: Publish, *, retry_seconds: float) -> None:
        self.job_id = job_id
        self.publish = publish
        self.retry_seconds = retry_seconds
        # One event at a time, so a heartbeat cannot overtake a retried status or log.
        self._lock = asyncio.Lock()

    async def status(self, status: str, **fields: Any) -> None:
        """Report `finished` (with assets and usage) or `error` (with a message)."""
        await self._send("status", job_events.status_payload(status, **fields))

    async def progress(self, percent: float) -> None:
        """Report how far the job is; its arrival is the job's heartbeat."""
        await self._send("progress", job_events.progress_payload(percent))

    async def log(self, level: str, message: str, data: Any = None) -> None:
        """A log record of the job, also written to this process's log."""
        log.log(logging.getLevelName(level.upper()), "job %s: %s", self.job_id, message)
        await self._send("log", job_events.log_payload(level, message, data=data))

    async def _send(self, kind: EventKind, payload: bytes) -> None:
        subject = job_events.subject(self.job_id, kind)
        async with self._lock:
            deadline = time.monotonic() + self.retry_seconds
            while True:
                try:
                    await self.publish(subject, payload)
                    return
                except Exception as error:
                    if time.monotonic() >= deadline:
                        raise
                    log.warning("publishing %s failed (%r); retrying", subject, error)
                await asyncio.sleep(RETRY_INTERVAL_SECONDS)


class Progress(Callback):  # type: ignore[misc]  # dask's callbacks are untyped
    """How far the job is: dask tasks done while computing, then files uploaded."""

    def __init__(self) -> None:
        super().__init__()
        self.tasks = 0
        self.tasks_done = 0
        self.files = 0
        self.files_uploaded = 0

    @property
    def percent(self) -> float:
        if self.files:
            return COMPUTED_PERCENT + (100 - COMPUTED_PERCENT) * self.files_uploaded / self.files
        return COMPUTED_PERCENT * self.tasks_done / self.tasks if self.tasks else 0.0

    def _start_state(self, dsk: Any, state: Mapping[str, Any]) -> None:
        self.tasks += sum(len(state[key]) for key in ("ready", "waiting", "running", "finished"))

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self.tasks_done += 1


async def heartbeat(events: JobEvents, progress: Progress, settings: ExecutorSettings) -> None:
    """A progress event every `job_heartbeat_seconds`; a failed one does not end the job."""
    while True:
        await asyncio.sleep(settings.job_heartbeat_seconds)
        try:
            await events.progress(round(progress.percent, 1))
        except Exception as error:
            log.warning("cannot report the progress of job %s: %r", events.job_id, error)
