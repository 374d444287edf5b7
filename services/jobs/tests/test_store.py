"""The job store against the real MongoDB-compatible server: ids, owner confinement,
atomic transitions under concurrency, listing, counts and logs."""

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from conftest import Infrastructure, fresh_database
from eoplex_common.errors import JobNotFound
from eoplex_jobs.store import JobStore


@pytest.fixture
async def store(infrastructure: Infrastructure) -> AsyncIterator[JobStore]:
    async with fresh_database(infrastructure.mongodb_url, "test_jobstore") as database:
        job_store = JobStore(database)
        await job_store.ensure_indexes()
        yield job_store


def owned_by(user_id: str, tenant_id: str = "t1", **fields: object) -> dict[str, object]:
    return {"user_id": user_id, "tenant_id": tenant_id, "process": {"process_graph": {}}, **fields}


async def test_ids_are_random_and_a_new_job_is_created(store: JobStore) -> None:
    first = await store.create(owned_by("alice"))
    second = await store.create(owned_by("alice"))
    assert re.fullmatch(r"j-[0-9a-f]{24}", first["_id"])
    assert first["_id"] != second["_id"]
    stored = await store.get(first["_id"])
    assert stored is not None
    assert (stored["status"], stored["progress"], stored["user_id"]) == ("created", 0.0, "alice")
    assert stored["created"].tzinfo is not None


async def test_a_foreign_job_answers_exactly_like_a_missing_one(store: JobStore) -> None:
    job = await store.create(owned_by("alice", "t1"))
    assert (await store.owned(job["_id"], "alice", "t1"))["_id"] == job["_id"]
    messages = []
    for job_id, user, tenant in [
        (job["_id"], "bob", "t1"),
        (job["_id"], "alice", "t2"),
        ("j-" + "0" * 24, "alice", "t1"),
    ]:
        with pytest.raises(JobNotFound) as raised:
            await store.owned(job_id, user, tenant)
        messages.append(raised.value.message.replace(job_id, "<id>"))
    assert len(set(messages)) == 1


async def test_transitions_happen_only_from_the_expected_status(store: JobStore) -> None:
    job = await store.create(owned_by("alice"))
    assert await store.transition(job["_id"], expected=("running",), to="finished") is None
    queued = await store.transition(
        job["_id"], expected=("created",), to="queued", fields={"queued_at": datetime.now(UTC)}
    )
    assert queued is not None
    assert queued["status"] == "queued"
    assert queued["queued_at"] is not None
    assert queued["updated"] >= job["updated"]
    assert await store.transition("j-missing", expected=("created",), to="queued") is None


async def test_of_concurrent_transitions_exactly_one_wins(store: JobStore) -> None:
    job = await store.create(owned_by("alice"))
    outcomes = await asyncio.gather(
        *(store.transition(job["_id"], expected=("created",), to="queued") for _ in range(10))
    )
    assert sum(outcome is not None for outcome in outcomes) == 1
    # A finish and a cancel racing on a running job: one of them, never both.
    await store.transition(job["_id"], expected=("queued",), to="running")
    finish, cancel = await asyncio.gather(
        store.transition(job["_id"], expected=("running",), to="finished"),
        store.transition(job["_id"], expected=("queued", "running"), to="canceled"),
    )
    assert (finish is None) != (cancel is None)
    stored = await store.get(job["_id"])
    assert stored is not None
    assert stored["status"] == ("finished" if finish is not None else "canceled")


async def test_listing_is_confined_to_the_owner_newest_first_and_pages(store: JobStore) -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    ids = []
    for minute in range(5):
        job = await store.create(owned_by("alice", created=base + timedelta(minutes=minute)))
        ids.append(job["_id"])
    await store.create(owned_by("bob"))
    await store.create(owned_by("alice", "t2"))
    first = await store.list_owned("alice", "t1", limit=3, after=None)
    assert [job["_id"] for job in first] == ids[::-1][:3]
    assert all("process" not in job for job in first)
    rest = await store.list_owned(
        "alice", "t1", limit=3, after=(first[-1]["created"], first[-1]["_id"])
    )
    assert [job["_id"] for job in rest] == ids[::-1][3:]
    assert len(await store.list_owned("alice", "t1", limit=0, after=None)) == 5


async def test_running_counts_per_tenant_and_user(store: JobStore) -> None:
    for user, tenant, status in [
        ("alice", "t1", "running"),
        ("alice", "t1", "running"),
        ("alice", "t1", "queued"),
        ("bob", "t1", "running"),
        ("carol", "t2", "running"),
    ]:
        await store.create(owned_by(user, tenant, status=status))
    assert await store.running_counts(tenant_id="t1", user_id="alice") == (3, 2)
    assert await store.running_counts(tenant_id="t2", user_id="alice") == (1, 0)
    assert [job["user_id"] for job in await store.in_status("queued")] == ["alice"]


async def test_logs_are_numbered_filtered_paged_and_deduplicated(store: JobStore) -> None:
    job = await store.create(owned_by("alice"))
    levels = ["debug", "info", "warning", "error", "info"]
    for index, level in enumerate(levels):
        assert await store.append_log(job["_id"], level=level, message=f"m{index}")
    # The same event delivered twice is stored once.
    assert await store.append_log(job["_id"], level="info", message="e", event_id="42")
    assert not await store.append_log(job["_id"], level="info", message="e", event_id="42")
    every = await store.logs(
        job["_id"], after_seq=0, levels=("debug", "info", "warning", "error"), limit=0
    )
    assert [record["message"] for record in every] == ["m0", "m1", "m2", "m3", "m4", "e"]
    seqs = [record["seq"] for record in every]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    warnings = await store.logs(job["_id"], after_seq=0, levels=("warning", "error"), limit=0)
    assert [record["message"] for record in warnings] == ["m2", "m3"]
    page = await store.logs(job["_id"], after_seq=seqs[1], levels=("info",), limit=1)
    assert [record["message"] for record in page] == ["m4"]
    assert not await store.append_log("j-missing", level="info", message="lost")


async def test_delete_removes_the_job_and_its_logs(store: JobStore) -> None:
    job = await store.create(owned_by("alice"))
    await store.append_log(job["_id"], level="info", message="hello")
    await store.delete(job["_id"])
    assert await store.get(job["_id"]) is None
    assert await store.logs(job["_id"], after_seq=0, levels=("info",), limit=0) == []
