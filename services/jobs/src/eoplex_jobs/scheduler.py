"""The scheduler: admits queued batch jobs from the `JOBQUEUE` work queue and launches them.

StartJob moves a job to `queued` and publishes its id (`WorkQueue.publish`). The
scheduler pulls through one durable consumer, so messages wait in the stream while the
jobs service is down. Per message: a job that is no longer `queued` is dropped; one
over its tenant's `max_concurrent_jobs` (auth `GetTenantQuota`, 0 = no limit) or its
user's limit is put back with a delay (`nak`) and stays queued; otherwise the atomic
`queued -> running` transition admits it and the launcher starts its executor, handing
it the job's spec (`JobSpecs`). The transition is the lock: a job published twice, or
pulled by two replicas at once, is launched once; it is also the only place that writes
`running` (the executor reports progress, then `finished` or `error`). On start the scheduler
re-publishes every queued job, so a lost message never strands a job.

The limits are checked by counting running jobs before the transition, so two replicas
admitting two jobs of one user at the same instant could exceed the limit by one.
"""

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig

from eoplex_common.documents import Document
from eoplex_common.errors import OpenEOError
from eoplex_common.tasks import stop_task
from eoplex_jobs.events import JOBQUEUE_STREAM, JOBQUEUE_SUBJECT, WorkQueue
from eoplex_jobs.launcher.protocol import Launcher
from eoplex_jobs.spec import JobSpecs
from eoplex_jobs.store import JobStore

log = logging.getLogger(__name__)

# The one durable consumer of the work queue, shared by every replica and every restart.
SCHEDULER_CONSUMER = "scheduler"

# tenant id -> the tenant's `max_concurrent_jobs` (0 = no limit).
TenantJobLimit = Callable[[str], Awaitable[int]]


def fair_order(jobs: list[Document], running: Mapping[tuple[str, str], int]) -> list[Document]:
    """`jobs` in the order to admit them: users with fewer running jobs first, interleaving
    users (a user's n-th job of the batch counts as n more running), then longest queued."""
    by_queue_time = sorted(
        jobs, key=lambda job: (job.get("queued_at") or job["created"], job["_id"])
    )
    taken: Counter[tuple[str, str]] = Counter()
    keyed = []
    for position, job in enumerate(by_queue_time):
        user = (job["tenant_id"], job["user_id"])
        keyed.append((running[user] + taken[user], position, job))
        taken[user] += 1
    return [job for _, _, job in sorted(keyed, key=lambda item: item[:2])]


class Scheduler:
    """Consumes the work queue in the background; see the module docstring."""

    def __init__(
        self,
        *,
        js: JetStreamContext,
        store: JobStore,
        launcher: Launcher,
        specs: JobSpecs,
        tenant_job_limit: TenantJobLimit,
        max_concurrent_per_user: int,
        retry_delay_seconds: float,
        batch: int = 16,
    ) -> None:
        self.js = js
        self.store = store
        self.launcher = launcher
        self.specs = specs
        self.tenant_job_limit = tenant_job_limit
        self.max_concurrent_per_user = max_concurrent_per_user
        self.retry_delay_seconds = retry_delay_seconds
        self.batch = batch
        self._task: asyncio.Task[None] | None = None
        self._subscription: JetStreamContext.PullSubscription | None = None

    async def start(self) -> None:
        """Bind the durable consumer, re-publish every queued job, then schedule."""
        queue = WorkQueue(js=self.js)
        await queue.ensure_stream()
        self._subscription = await self.js.pull_subscribe(
            JOBQUEUE_SUBJECT,
            durable=SCHEDULER_CONSUMER,
            stream=JOBQUEUE_STREAM,
            config=ConsumerConfig(ack_wait=60),
        )
        for job in await self.store.in_status("queued"):
            await queue.publish(job["_id"])
        self._task = asyncio.create_task(self._consume(self._subscription), name="scheduler")

    async def stop(self) -> None:
        """Stop scheduling; unacknowledged messages are redelivered to the next scheduler."""
        if self._task is not None:
            await stop_task(self._task)
            self._task = None
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _consume(self, subscription: JetStreamContext.PullSubscription) -> None:
        while True:
            try:
                messages = await subscription.fetch(self.batch, timeout=1.0)
            except TimeoutError:  # nats-py raises its own subclass or asyncio's
                continue
            try:
                await self.schedule(messages)
            except Exception:
                # MongoDB or NATS unreachable: what is not acked comes back after ack_wait.
                log.warning("scheduling failed; the messages are redelivered", exc_info=True)
                await asyncio.sleep(self.retry_delay_seconds)

    async def schedule(self, messages: list[Msg]) -> None:
        """Admit, put back or drop each message of one fetch, fairly across users."""
        candidates: dict[str, tuple[Document, Msg]] = {}
        for message in messages:
            job = await self.store.get(message.data.decode(errors="replace"))
            if job is None or job["status"] != "queued" or job["_id"] in candidates:
                await message.ack()
                continue
            candidates[job["_id"]] = (job, message)
        jobs = [job for job, _ in candidates.values()]
        for job in fair_order(jobs, await self._running_per_user(jobs)):
            await self._admit(job, candidates[job["_id"]][1])

    async def _running_per_user(self, jobs: list[Document]) -> dict[tuple[str, str], int]:
        users = {(job["tenant_id"], job["user_id"]) for job in jobs}
        return {
            (tenant, user): (await self.store.running_counts(tenant_id=tenant, user_id=user))[1]
            for tenant, user in users
        }

    async def _admit(self, job: Document, message: Msg) -> None:
        try:
            admissible = await self._within_limits(job)
        except OpenEOError as error:
            log.warning("cannot check the limits of job %s: %s", job["_id"], error.message)
            admissible = False
        if not admissible:
            await message.nak(delay=self.retry_delay_seconds)
            return
        now = datetime.now(UTC)
        fields = {"started_at": now, "heartbeat_at": now, "progress": 0.0}
        running = await self.store.transition(
            job["_id"], expected=("queued",), to="running", fields=fields
        )
        if running is not None:
            await self._launch(running)
        await message.ack()

    async def _within_limits(self, job: Document) -> bool:
        tenant_running, user_running = await self.store.running_counts(
            tenant_id=job["tenant_id"], user_id=job["user_id"]
        )
        if 0 < self.max_concurrent_per_user <= user_running:
            return False
        tenant_limit = await self.tenant_job_limit(job["tenant_id"])
        return not 0 < tenant_limit <= tenant_running

    async def _launch(self, job: Document) -> None:
        job_id = job["_id"]
        try:
            ref = await self.launcher.launch(job, self.specs.of(job))
        except Exception as error:
            # Whatever stops the executor from starting (invalid resource options, the
            # Kubernetes API refusing, no executable) is this job's error, not the scheduler's.
            log.warning("launching job %s failed", job_id, exc_info=True)
            reason = error.message if isinstance(error, OpenEOError) else str(error)
            message = f"The executor could not be started: {reason}"
            # The log entry first: whoever sees the status `error` finds the reason too.
            await self.store.append_log(job_id, level="error", message=message)
            await self.store.transition(
                job_id,
                expected=("running",),
                to="error",
                fields={"error": message, "finished_at": datetime.now(UTC)},
            )
            return
        stored = await self.store.update_fields(job_id, {"launcher_ref": ref})
        if stored is None or stored["status"] != "running":
            # Canceled or deleted while launching: CancelJob found no executor to stop then.
            await self.launcher.cancel({**job, "launcher_ref": ref})
