"""`python -m eoplex_jobs` declares the JOBS stream, serves health, stops on SIGTERM."""

import sys
from pathlib import Path

import nats

from conftest import Infrastructure
from eoplex.probes import grpc_serving
from eoplex.servers import ProcessSpec, free_port, start_process, stop_process, wait_ready


def service_spec(env: dict[str, str]) -> ProcessSpec:
    address = f"127.0.0.1:{free_port()}"
    return ProcessSpec(
        name="jobs",
        argv=[sys.executable, "-m", "eoplex_jobs"],
        ready=grpc_serving(address),
        env={**env, "OPENEO_JOBS_LISTEN": address},
        ready_timeout_seconds=30,
    )


def test_serves_and_stops_cleanly(infrastructure: Infrastructure, tmp_path: Path) -> None:
    spec = service_spec(infrastructure.env)
    process = start_process(spec, log_path=tmp_path / "jobs.log")
    try:
        wait_ready(spec, process)
    finally:
        stop_process(process)
    assert process.returncode == 0, (tmp_path / "jobs.log").read_text()


async def test_declares_the_jobs_stream(infrastructure: Infrastructure, tmp_path: Path) -> None:
    spec = service_spec(infrastructure.env)
    process = start_process(spec, log_path=tmp_path / "jobs.log")
    try:
        wait_ready(spec, process)
        connection = await nats.connect(infrastructure.nats_url)
        try:
            info = await connection.jetstream().stream_info("JOBS")
        finally:
            await connection.close()
    finally:
        stop_process(process)
    assert info.config.subjects == ["jobs.*.status", "jobs.*.progress", "jobs.*.log"]
