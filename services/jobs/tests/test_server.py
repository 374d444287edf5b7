"""`python -m eoplex_jobs` declares the JOBS stream, serves health, stops on SIGTERM."""

import time
from pathlib import Path

import nats

from conftest import Infrastructure, ServiceProcess


def test_serves_and_stops_cleanly(infrastructure: Infrastructure, tmp_path: Path) -> None:
    with ServiceProcess("jobs", env=infrastructure.env, log_dir=tmp_path) as service:
        # Long enough for the scheduler and the event consumer to be waiting in a fetch,
        # which a NATS drain at shutdown used to wait out until the SIGKILL.
        time.sleep(2)
    assert service.returncode == 0, service.log()


async def test_declares_the_jobs_stream(infrastructure: Infrastructure, tmp_path: Path) -> None:
    with ServiceProcess("jobs", env=infrastructure.env, log_dir=tmp_path):
        connection = await nats.connect(infrastructure.nats_url)
        try:
            info = await connection.jetstream().stream_info("JOBS")
        finally:
            await connection.close()
    assert info.config.subjects == ["jobs.*.status", "jobs.*.progress", "jobs.*.log"]
