"""`python -m eoplex_processes` serves health only once MongoDB answers; stops on SIGTERM."""

import sys
from pathlib import Path

import pytest

from conftest import Infrastructure
from eoplex.probes import grpc_serving
from eoplex.servers import ProcessSpec, free_port, start_process, stop_process, wait_ready


def service_spec(env: dict[str, str]) -> ProcessSpec:
    address = f"127.0.0.1:{free_port()}"
    return ProcessSpec(
        name="processes",
        argv=[sys.executable, "-m", "eoplex_processes"],
        ready=grpc_serving(address),
        env={**env, "OPENEO_PROCESSES_LISTEN": address},
        ready_timeout_seconds=30,
    )


def test_serves_and_stops_cleanly(infrastructure: Infrastructure, tmp_path: Path) -> None:
    spec = service_spec(infrastructure.env)
    process = start_process(spec, log_path=tmp_path / "processes.log")
    try:
        wait_ready(spec, process)
    finally:
        stop_process(process)
    assert process.returncode == 0, (tmp_path / "processes.log").read_text()


def test_exits_without_serving_when_mongodb_is_down(
    infrastructure: Infrastructure, tmp_path: Path
) -> None:
    spec = service_spec(
        {**infrastructure.env, "OPENEO_MONGODB_URL": f"mongodb://127.0.0.1:{free_port()}"}
    )
    process = start_process(spec, log_path=tmp_path / "processes.log")
    try:
        with pytest.raises(RuntimeError, match="exited with status 1"):
            wait_ready(spec, process)
    finally:
        stop_process(process)
