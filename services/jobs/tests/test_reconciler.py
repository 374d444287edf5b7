"""The reconciler against real MongoDB, with the local launcher and real processes."""

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import Infrastructure, fresh_database
from eoplex_jobs.launcher import LauncherSettings, LocalLauncher
from eoplex_jobs.reconciler import Reconciler
from eoplex_jobs.store import JobStore
from eoplex_proto.openeo.jobs.v1 import jobs_pb2

EXITS_3 = [sys.executable, "-c", "import sys; sys.exit(3)"]
SLEEPS = [sys.executable, "-c", "import time; time.sleep(30)"]


@pytest.fixture
async def store(infrastructure: Infrastructure) -> AsyncIterator[JobStore]:
    async with fresh_database(infrastructure.mongodb_url, "test_reconciler") as database:
        yield JobStore(database)


def local_launcher(tmp_path: Path, command: list[str]) -> LocalLauncher:
    return LocalLauncher(
        LauncherSettings(executor_command=command, state_dir=tmp_path, cancel_grace_seconds=1)
    )


def reconciler(
    store: JobStore, launcher: LocalLauncher, *, grace: float = 0.0, heartbeat: float = 60.0
) -> Reconciler:
    return Reconciler(
        store=store,
        launcher=launcher,
        interval_seconds=0.1,
        exit_grace_seconds=grace,
        heartbeat_timeout_seconds=heartbeat,
    )


async def running_job(
    store: JobStore, launcher: LocalLauncher, *, heartbeat_age: timedelta = timedelta(0)
) -> dict[str, Any]:
    """A job as the scheduler leaves it: running, launched, with a heartbeat."""
    beat = datetime.now(UTC) - heartbeat_age
    job = await store.create(
        {"user_id": "alice", "tenant_id": "lab", "status": "running", "started_at": beat}
    )
    ref = await launcher.launch(job, jobs_pb2.JobSpec())
    updated = await store.update_fields(job["_id"], {"launcher_ref": ref, "heartbeat_at": beat})
    assert updated is not None
    return updated


async def exited(launcher: LocalLauncher, job: dict[str, Any]) -> None:
    for _ in range(200):
        if not (await launcher.status(job)).alive:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the process did not end")


async def exited_job(store: JobStore, tmp_path: Path) -> tuple[LocalLauncher, dict[str, Any]]:
    """A running job whose executor process has exited (status 3), and its launcher."""
    launcher = local_launcher(tmp_path, EXITS_3)
    job = await running_job(store, launcher)
    await exited(launcher, job)
    return launcher, job


async def error_logs(store: JobStore, job_id: str) -> list[str]:
    records = await store.logs(job_id, after_seq=0, levels=("error",), limit=0)
    return [record["message"] for record in records]


async def test_a_dead_process_makes_the_job_an_error_in_one_tick(
    store: JobStore, tmp_path: Path
) -> None:
    launcher, job = await exited_job(store, tmp_path)
    await reconciler(store, launcher).reconcile()
    stored = await store.get(job["_id"])
    assert stored is not None
    reason = "the executor stopped without reporting a result: exit code 3"
    assert (stored["status"], stored["error"]) == ("error", reason)
    assert stored["finished_at"] is not None
    assert await error_logs(store, job["_id"]) == [f"The job failed: {reason}"]


async def test_a_final_event_within_the_grace_wins(store: JobStore, tmp_path: Path) -> None:
    launcher, job = await exited_job(store, tmp_path)
    checker = reconciler(store, launcher, grace=0.3)
    await checker.reconcile()
    assert (await store.get(job["_id"]) or {})["status"] == "running"
    # The executor's `finished` event, applied by the event consumer.
    await store.transition(job["_id"], expected=("running",), to="finished")
    await asyncio.sleep(0.35)
    await checker.reconcile()
    assert (await store.get(job["_id"]) or {})["status"] == "finished"
    assert await error_logs(store, job["_id"]) == []


async def test_after_the_grace_without_a_final_event_the_job_is_an_error(
    store: JobStore, tmp_path: Path
) -> None:
    launcher, job = await exited_job(store, tmp_path)
    checker = reconciler(store, launcher, grace=0.3)
    await checker.reconcile()
    assert (await store.get(job["_id"]) or {})["status"] == "running"
    await asyncio.sleep(0.35)
    await checker.reconcile()
    assert (await store.get(job["_id"]) or {})["status"] == "error"


async def test_a_stale_heartbeat_makes_the_job_an_error_and_stops_the_executor(
    store: JobStore, tmp_path: Path
) -> None:
    launcher = local_launcher(tmp_path, SLEEPS)
    job = await running_job(store, launcher, heartbeat_age=timedelta(seconds=90))
    await reconciler(store, launcher, heartbeat=60).reconcile()
    stored = await store.get(job["_id"])
    assert stored is not None
    assert stored["status"] == "error"
    assert stored["error"].startswith("heartbeat lost: the executor reported nothing for 9")
    assert (await launcher.status(job)).reason == "killed by signal 15 (SIGTERM)"
    assert await error_logs(store, job["_id"]) == [f"The job failed: {stored['error']}"]


async def test_a_live_executor_with_a_fresh_heartbeat_is_left_alone(
    store: JobStore, tmp_path: Path
) -> None:
    launcher = local_launcher(tmp_path, SLEEPS)
    job = await running_job(store, launcher, heartbeat_age=timedelta(seconds=30))
    try:
        await reconciler(store, launcher, heartbeat=60).reconcile()
        assert (await store.get(job["_id"]) or {})["status"] == "running"
    finally:
        await launcher.cancel(job)


async def test_the_background_loop_catches_a_dead_process(store: JobStore, tmp_path: Path) -> None:
    launcher = local_launcher(tmp_path, EXITS_3)
    checker = reconciler(store, launcher)
    await checker.start()
    try:
        job = await running_job(store, launcher)
        for _ in range(100):
            if (await store.get(job["_id"]) or {})["status"] == "error":
                break
            await asyncio.sleep(0.05)
    finally:
        await checker.stop()
    assert (await store.get(job["_id"]) or {})["error"].endswith("exit code 3")


async def test_a_job_admitted_but_not_yet_launched_is_left_alone(
    store: JobStore, tmp_path: Path
) -> None:
    launcher = local_launcher(tmp_path, SLEEPS)
    job = await store.create(
        {
            "user_id": "alice",
            "tenant_id": "lab",
            "status": "running",
            "heartbeat_at": datetime.now(UTC),
        }
    )
    await reconciler(store, launcher).reconcile()
    assert (await store.get(job["_id"]) or {})["status"] == "running"
