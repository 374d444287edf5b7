"""The scheduler against real NATS JetStream and MongoDB, with a launcher that starts
nothing but records what it was asked."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from conftest import Infrastructure, fresh_database
from eoplex_common.errors import BadRequest, ServiceUnavailable
from eoplex_common.events import connect_nats
from eoplex_jobs.events import JOBQUEUE_STREAM, WorkQueue
from eoplex_jobs.launcher.protocol import LaunchStatus
from eoplex_jobs.scheduler import SCHEDULER_CONSUMER, Scheduler, TenantJobLimit, fair_order
from eoplex_jobs.spec import JobSpecs
from eoplex_jobs.store import JobStore
from eoplex_proto.openeo.jobs.v1 import jobs_pb2

RETRY_SECONDS = 0.2


@dataclass
class FakeLauncher:
    """Records launches and cancels; `fail_with` makes every launch raise it."""

    launched: list[str] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)
    fail_with: Exception | None = None
    before_launch: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    async def launch(self, job: dict[str, Any], spec: jobs_pb2.JobSpec) -> dict[str, Any]:
        assert spec.job.job_id == job["_id"]
        if self.before_launch is not None:
            await self.before_launch(job)
        if self.fail_with is not None:
            raise self.fail_with
        self.launched.append(job["_id"])
        return {"kind": "fake", "job": job["_id"]}

    async def status(self, job: dict[str, Any]) -> LaunchStatus:
        return LaunchStatus(alive=True)

    async def cancel(self, job: dict[str, Any]) -> None:
        self.canceled.append(job["_id"])


@pytest.fixture
async def store(infrastructure: Infrastructure) -> AsyncIterator[JobStore]:
    async with fresh_database(infrastructure.mongodb_url, "test_scheduler") as database:
        yield JobStore(database)


@pytest.fixture
async def nats(infrastructure: Infrastructure) -> AsyncIterator[NATS]:
    """A connection, and the work queue as new: no message, no consumer of earlier tests."""
    connection = await connect_nats(infrastructure.nats_url, name="scheduler-test")
    js = connection.jetstream()
    await WorkQueue(js=js).ensure_stream()
    try:
        await js.delete_consumer(JOBQUEUE_STREAM, SCHEDULER_CONSUMER)
    except NotFoundError:
        pass
    await js.purge_stream(JOBQUEUE_STREAM)
    try:
        yield connection
    finally:
        await connection.close()


def no_tenant_limit() -> TenantJobLimit:
    async def limit(tenant_id: str) -> int:
        return 0

    return limit


@asynccontextmanager
async def scheduling(
    nats: NATS,
    store: JobStore,
    launcher: FakeLauncher,
    *,
    per_user: int = 2,
    tenant_limit: TenantJobLimit | None = None,
) -> AsyncIterator[Scheduler]:
    scheduler = Scheduler(
        js=nats.jetstream(),
        store=store,
        launcher=launcher,
        specs=JobSpecs(max_pixels_for=lambda tenant_id: 0, cost_per_megapixel=0.01),
        tenant_job_limit=tenant_limit or no_tenant_limit(),
        max_concurrent_per_user=per_user,
        retry_delay_seconds=RETRY_SECONDS,
    )
    await scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.stop()


async def queued_job(store: JobStore, user: str = "alice", tenant: str = "lab") -> str:
    job = await store.create(
        {"user_id": user, "tenant_id": tenant, "status": "queued", "queued_at": datetime.now(UTC)}
    )
    return str(job["_id"])


async def start(nats: NATS, store: JobStore, user: str = "alice", tenant: str = "lab") -> str:
    """What StartJob does: the job queued, its id on the work queue."""
    job_id = await queued_job(store, user, tenant)
    await WorkQueue(js=nats.jetstream()).publish(job_id)
    return job_id


async def statuses(store: JobStore, job_ids: list[str]) -> list[str]:
    return [(await store.get(job_id) or {}).get("status", "missing") for job_id in job_ids]


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


def test_fair_order_interleaves_users_with_fewer_running_jobs_first() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)

    def job(job_id: str, user: str, minute: int) -> dict[str, Any]:
        return {
            "_id": job_id,
            "user_id": user,
            "tenant_id": "t",
            "queued_at": t0 + timedelta(minutes=minute),
        }

    jobs = [
        job("a1", "a", 0),
        job("a2", "a", 1),
        job("a3", "a", 2),
        job("b1", "b", 3),
        job("c1", "c", 4),
    ]
    running = {("t", "a"): 0, ("t", "b"): 1, ("t", "c"): 0}
    assert [j["_id"] for j in fair_order(jobs, running)] == ["a1", "c1", "a2", "b1", "a3"]


async def test_over_the_user_limit_a_job_stays_queued_until_one_finishes(
    nats: NATS, store: JobStore
) -> None:
    launcher = FakeLauncher()
    async with scheduling(nats, store, launcher, per_user=2):
        jobs = [await start(nats, store) for _ in range(3)]

        async def two_running() -> bool:
            return sorted(await statuses(store, jobs)) == ["queued", "running", "running"]

        await eventually(two_running)
        await asyncio.sleep(4 * RETRY_SECONDS)
        assert sorted(await statuses(store, jobs)) == ["queued", "running", "running"]
        waiting = jobs[(await statuses(store, jobs)).index("queued")]
        first = next(job_id for job_id in jobs if job_id != waiting)
        await store.transition(first, expected=("running",), to="finished")

        async def third_launched() -> bool:
            # The scheduler stores the launcher's reference just after the transition.
            job = await store.get(waiting)
            return job is not None and job["status"] == "running" and "launcher_ref" in job

        await eventually(third_launched)
    assert sorted(launcher.launched) == sorted(jobs)
    admitted = await store.get(waiting)
    assert admitted is not None
    assert admitted["launcher_ref"] == {"kind": "fake", "job": waiting}
    assert admitted["started_at"] == admitted["heartbeat_at"]


async def test_another_user_is_not_held_up_by_a_full_user(nats: NATS, store: JobStore) -> None:
    launcher = FakeLauncher()
    async with scheduling(nats, store, launcher, per_user=1):
        alice = [await start(nats, store, "alice") for _ in range(2)]
        bob = await start(nats, store, "bob")

        async def bob_running() -> bool:
            return (await statuses(store, [bob])) == ["running"]

        await eventually(bob_running)
        assert sorted(await statuses(store, alice)) == ["queued", "running"]


async def test_over_the_tenant_quota_a_job_stays_queued(nats: NATS, store: JobStore) -> None:
    asked: list[str] = []

    async def one_per_tenant(tenant_id: str) -> int:
        asked.append(tenant_id)
        return 1

    launcher = FakeLauncher()
    async with scheduling(nats, store, launcher, per_user=0, tenant_limit=one_per_tenant):
        jobs = [await start(nats, store, user) for user in ("alice", "bob")]
        other_tenant = await start(nats, store, "carol", "uni")

        async def admitted() -> bool:
            return (await statuses(store, [other_tenant])) == ["running"] and "running" in (
                await statuses(store, jobs)
            )

        await eventually(admitted)
        await asyncio.sleep(4 * RETRY_SECONDS)
        assert sorted(await statuses(store, jobs)) == ["queued", "running"]
    assert {"lab", "uni"} <= set(asked)


async def test_without_an_answer_from_auth_a_job_stays_queued(nats: NATS, store: JobStore) -> None:
    async def unavailable(tenant_id: str) -> int:
        raise ServiceUnavailable(service="auth")

    launcher = FakeLauncher()
    async with scheduling(nats, store, launcher, tenant_limit=unavailable):
        job_id = await start(nats, store)
        await asyncio.sleep(4 * RETRY_SECONDS)
        assert await statuses(store, [job_id]) == ["queued"]
    assert launcher.launched == []


async def test_a_job_started_twice_concurrently_is_launched_once(
    nats: NATS, store: JobStore
) -> None:
    launcher = FakeLauncher()
    # Two replicas of the jobs service, the job id published twice.
    async with scheduling(nats, store, launcher), scheduling(nats, store, launcher):
        job_id = await queued_job(store)
        queue = WorkQueue(js=nats.jetstream())
        await asyncio.gather(queue.publish(job_id), queue.publish(job_id))

        async def running() -> bool:
            return (await statuses(store, [job_id])) == ["running"]

        await eventually(running)
        await asyncio.sleep(4 * RETRY_SECONDS)
    assert launcher.launched == [job_id]
    info = await nats.jetstream().stream_info(JOBQUEUE_STREAM)
    assert info.state.messages == 0


async def test_queued_jobs_are_admitted_after_a_restart(nats: NATS, store: JobStore) -> None:
    launcher = FakeLauncher()
    async with scheduling(nats, store, launcher, per_user=0):
        published = await start(nats, store)

        async def running() -> bool:
            return (await statuses(store, [published])) == ["running"]

        await eventually(running)
    # While no scheduler runs: one start is published, one message is lost.
    waiting = await start(nats, store, "bob")
    lost = await queued_job(store, "carol")
    async with scheduling(nats, store, launcher, per_user=0):

        async def all_running() -> bool:
            return (await statuses(store, [waiting, lost])) == ["running", "running"]

        await eventually(all_running)
    assert sorted(launcher.launched) == sorted([published, waiting, lost])


async def test_a_job_that_is_no_longer_queued_is_dropped(nats: NATS, store: JobStore) -> None:
    launcher = FakeLauncher()
    job_id = await queued_job(store)
    await store.transition(job_id, expected=("queued",), to="canceled")
    await WorkQueue(js=nats.jetstream()).publish(job_id)
    await WorkQueue(js=nats.jetstream()).publish("j-does-not-exist")
    async with scheduling(nats, store, launcher):

        async def consumed() -> bool:
            info = await nats.jetstream().stream_info(JOBQUEUE_STREAM)
            return bool(info.state.messages == 0)

        await eventually(consumed)
    assert launcher.launched == []
    assert await statuses(store, [job_id]) == ["canceled"]


async def test_a_job_whose_executor_cannot_start_is_an_error_with_a_log_entry(
    nats: NATS, store: JobStore
) -> None:
    launcher = FakeLauncher(fail_with=BadRequest(reason="job option 'cpu' asks for 64."))
    async with scheduling(nats, store, launcher):
        job_id = await start(nats, store)

        async def failed() -> bool:
            return (await statuses(store, [job_id])) == ["error"]

        await eventually(failed)
    job = await store.get(job_id)
    assert job is not None
    message = "The executor could not be started: Invalid request: job option 'cpu' asks for 64."
    assert job["error"] == message
    assert [
        (r["level"], r["message"])
        for r in await store.logs(job_id, after_seq=0, levels=("error",), limit=0)
    ] == [("error", message)]


async def test_a_job_canceled_while_launching_has_its_executor_stopped(
    nats: NATS, store: JobStore
) -> None:
    async def cancel_first(job: dict[str, Any]) -> None:
        await store.transition(job["_id"], expected=("running",), to="canceled")

    launcher = FakeLauncher(before_launch=cancel_first)
    async with scheduling(nats, store, launcher):
        job_id = await start(nats, store)

        async def stopped() -> bool:
            return launcher.canceled == [job_id]

        await eventually(stopped)
    assert await statuses(store, [job_id]) == ["canceled"]
