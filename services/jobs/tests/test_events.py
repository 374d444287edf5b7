"""The durable consumer of `JOBS`: status, progress and log events applied to the jobs,
idempotently, only to running jobs, and none lost while the service is down."""

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from conftest import Infrastructure
from eoplex_common.events import connect_nats
from eoplex_common.job_events import (
    EventKind,
    LogEvent,
    log_payload,
    progress_payload,
    status_payload,
    subject,
)
from eoplex_common.mongo import connect_mongo
from eoplex_jobs.events import apply_event
from services.jobs.tests.jobs_server import RunningJobs, running_jobs

PROCESS = {
    "process_graph": {"a": {"process_id": "absolute", "arguments": {"x": 1}, "result": True}}
}


async def running_job(running: RunningJobs, status: str = "running") -> str:
    job = await running.store.create(
        {"user_id": "alice", "tenant_id": "t1", "process": PROCESS, "status": status}
    )
    return str(job["_id"])


async def publish(running: RunningJobs, job_id: str, kind: EventKind, payload: bytes) -> None:
    await running.nats.jetstream().publish(subject(job_id, kind), payload)


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait up to 10 s for `check` to hold (the consumer applies events asynchronously)."""
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition did not become true within 10 s")


async def job_field(running: RunningJobs, job_id: str, name: str) -> Any:
    job = await running.store.get(job_id)
    assert job is not None
    return job.get(name)


async def log_messages(running: RunningJobs, job_id: str) -> list[str]:
    records = await running.store.logs(
        job_id, after_seq=0, levels=("debug", "info", "warning", "error"), limit=0
    )
    return [record["message"] for record in records]


async def test_progress_logs_and_the_finish_are_applied(infrastructure: Infrastructure) -> None:
    async with running_jobs(infrastructure) as running:
        job_id = await running_job(running)
        sent = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        await publish(running, job_id, "progress", progress_payload(40, time=sent))
        await publish(running, job_id, "log", log_payload("info", "reading", data={"n": 3}))

        async def progressed() -> bool:
            return await job_field(running, job_id, "progress") == 40.0

        await eventually(progressed)
        assert await job_field(running, job_id, "heartbeat_at") == sent
        await eventually(lambda: _equals(log_messages(running, job_id), ["reading"]))

        assets = [{"name": "out.tif", "key": f"jobs/{job_id}/out.tif", "type": "image/tiff"}]
        usage = {
            "duration": {"value": 3, "unit": "seconds"},
            # 25 Mpixel read and produced at the default 0.01 per Mpixel.
            "input_pixels": {"value": 20_000_000, "unit": "pixels"},
            "produced_pixels": {"value": 5_000_000, "unit": "pixels"},
        }
        finished = status_payload("finished", assets=assets, usage=usage)
        await publish(running, job_id, "status", finished)
        await eventually(lambda: _equals(job_field(running, job_id, "status"), "finished"))
        job = await running.store.get(job_id)
        assert job is not None
        assert (job["progress"], job["assets"], job["usage"], job["costs"]) == (
            100.0,
            assets,
            usage,
            0.25,
        )
        assert job["finished_at"] is not None
        # A late error or progress for a finished job changes nothing.
        await publish(running, job_id, "status", status_payload("error", message="late"))
        await publish(running, job_id, "progress", progress_payload(10))
        await publish(running, job_id, "log", log_payload("info", "after"))
        await eventually(lambda: _equals(log_messages(running, job_id), ["reading", "after"]))
        job = await running.store.get(job_id)
        assert job is not None
        assert (job["status"], job["progress"]) == ("finished", 100.0)


async def test_an_error_is_stored_with_a_log_entry_saying_why(
    infrastructure: Infrastructure,
) -> None:
    async with running_jobs(infrastructure) as running:
        job_id = await running_job(running)
        await publish(running, job_id, "status", status_payload("error", message="out of memory"))
        await eventually(lambda: _equals(job_field(running, job_id, "status"), "error"))
        assert await job_field(running, job_id, "error") == "out of memory"
        assert await log_messages(running, job_id) == ["The job failed: out of memory"]


async def test_events_for_canceled_missing_or_invalid_jobs_are_dropped(
    infrastructure: Infrastructure,
) -> None:
    async with running_jobs(infrastructure) as running:
        canceled = await running_job(running, status="canceled")
        running_id = await running_job(running)
        await publish(running, canceled, "status", status_payload("finished"))
        await publish(running, canceled, "progress", progress_payload(50))
        await publish(running, "j-" + "0" * 24, "log", log_payload("info", "nobody"))
        await running.nats.jetstream().publish(f"jobs.{running_id}.progress", b"not json")
        # Events after the dropped ones are still applied.
        await publish(running, running_id, "progress", progress_payload(70))
        await eventually(lambda: _equals(job_field(running, running_id, "progress"), 70.0))
        assert await job_field(running, canceled, "status") == "canceled"
        assert await job_field(running, canceled, "progress") == 0.0


async def test_a_redelivered_event_is_applied_once(infrastructure: Infrastructure) -> None:
    async with running_jobs(infrastructure) as running:
        job_id = await running_job(running)
        event = LogEvent("warning", "twice", datetime.now(UTC))
        for _ in range(2):
            await apply_event(running.store, job_id, event, event_id="17", cost_per_megapixel=0.01)
        assert await log_messages(running, job_id) == ["twice"]


async def test_events_published_while_the_service_is_down_are_applied_when_it_is_back(
    infrastructure: Infrastructure,
) -> None:
    database = f"test_jobs_{secrets.token_hex(6)}"
    durable = f"jobs-test-{secrets.token_hex(6)}"
    try:
        async with running_jobs(
            infrastructure, database_name=database, events_durable=durable
        ) as first:
            job_id = await running_job(first)
            await publish(first, job_id, "progress", progress_payload(10))
            await eventually(lambda: _equals(job_field(first, job_id, "progress"), 10.0))
        # The service is down: events wait in the stream for its durable consumer.
        publisher = await connect_nats(infrastructure.nats_url, name="executor-test")
        try:
            js = publisher.jetstream()
            await js.publish(subject(job_id, "log"), log_payload("info", "while down"))
            await js.publish(subject(job_id, "status"), status_payload("finished"))
        finally:
            await publisher.close()
        async with running_jobs(
            infrastructure, database_name=database, events_durable=durable
        ) as second:
            await eventually(lambda: _equals(job_field(second, job_id, "status"), "finished"))
            assert await log_messages(second, job_id) == ["while down"]
    finally:
        client = connect_mongo(infrastructure.mongodb_url)
        await client.drop_database(database)
        await client.close()


async def _equals(value: Awaitable[Any], expected: Any) -> bool:
    return bool(await value == expected)
