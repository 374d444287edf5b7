"""The reconciler: no batch job stays `running` after its executor is gone.

Every few seconds, for each running job: a heartbeat (the executor's progress events)
older than the timeout means the executor hangs or cannot report, so the job becomes
`error` "heartbeat lost" and its executor is stopped; a launcher that says the executor
is gone (process ended, Job failed, pod OOMKilled or evicted, deadline) makes the job
`error` with that reason once a grace period has passed without the final status event,
which may still be on its way through the `JOBS` stream. Each such error is also a log
entry of the job, so the user reads why.
"""

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from eoplex_common.documents import Document
from eoplex_common.tasks import stop_task
from eoplex_jobs.launcher.protocol import Launcher
from eoplex_jobs.store import JobStore

log = logging.getLogger(__name__)


class Reconciler:
    """Checks the running jobs periodically in the background; see the module docstring."""

    def __init__(
        self,
        *,
        store: JobStore,
        launcher: Launcher,
        interval_seconds: float,
        exit_grace_seconds: float,
        heartbeat_timeout_seconds: float,
    ) -> None:
        self.store = store
        self.launcher = launcher
        self.interval_seconds = interval_seconds
        self.exit_grace_seconds = exit_grace_seconds
        self.heartbeat_timeout = timedelta(seconds=heartbeat_timeout_seconds)
        # When each job's executor was first seen gone (monotonic clock), for the grace.
        self._gone_since: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Reconcile every `interval_seconds` in the background."""
        self._task = asyncio.create_task(self._loop(), name="reconciler")

    async def stop(self) -> None:
        """Stop reconciling."""
        if self._task is not None:
            await stop_task(self._task)
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.reconcile()
            except Exception:
                log.warning("reconciling running jobs failed; retrying", exc_info=True)
            await asyncio.sleep(self.interval_seconds)

    async def reconcile(self) -> None:
        """One pass over every running job."""
        running = await self.store.in_status("running")
        for job in running:
            try:
                await self._check(job)
            except Exception:
                # E.g. the Kubernetes API not answering: the heartbeat still guards the job.
                log.warning("checking job %s failed", job["_id"], exc_info=True)
        still_running = {job["_id"] for job in running}
        self._gone_since = {
            job_id: since for job_id, since in self._gone_since.items() if job_id in still_running
        }

    async def _check(self, job: Document) -> None:
        job_id = job["_id"]
        beat = job.get("heartbeat_at") or job.get("started_at")
        silence = datetime.now(UTC) - beat if beat is not None else timedelta(0)
        if silence > self.heartbeat_timeout:
            reason = (
                f"heartbeat lost: the executor reported nothing for {silence.total_seconds():.0f} s"
            )
            if await self._fail(job, reason):
                await self.launcher.cancel(job)
            return
        if not job.get("launcher_ref"):
            # Admitted, not launched yet: the scheduler stores the ref right after launching.
            # A scheduler that stopped in between leaves no heartbeat, caught above.
            return
        status = await self.launcher.status(job)
        if status.alive:
            self._gone_since.pop(job_id, None)
            return
        gone_since = self._gone_since.setdefault(job_id, time.monotonic())
        if time.monotonic() - gone_since >= self.exit_grace_seconds:
            await self._fail(
                job, f"the executor stopped without reporting a result: {status.reason}"
            )

    async def _fail(self, job: Document, reason: str) -> bool:
        """`running -> error` with `reason`, logged for the user; False if the job had
        changed meanwhile (finished, canceled)."""
        fields = {"error": reason, "finished_at": datetime.now(UTC)}
        failed = await self.store.transition(
            job["_id"], expected=("running",), to="error", fields=fields
        )
        if failed is None:
            return False
        log.info("job %s: %s", job["_id"], reason)
        await self.store.append_log(job["_id"], level="error", message=f"The job failed: {reason}")
        return True
