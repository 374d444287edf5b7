"""`python -m eoplex_data_discovery` serves once MongoDB and NATS answer; stops on SIGTERM."""

import sys
from pathlib import Path

from conftest import Infrastructure
from eoplex.probes import grpc_serving
from eoplex.servers import ProcessSpec, free_port, start_process, stop_process, wait_ready


def service_spec(env: dict[str, str]) -> ProcessSpec:
    address = f"127.0.0.1:{free_port()}"
    return ProcessSpec(
        name="data-discovery",
        argv=[sys.executable, "-m", "eoplex_data_discovery"],
        ready=grpc_serving(address),
        env={**env, "OPENEO_DATA_DISCOVERY_LISTEN": address},
        ready_timeout_seconds=30,
    )


def test_serves_and_stops_cleanly(infrastructure: Infrastructure, tmp_path: Path) -> None:
    spec = service_spec(infrastructure.env)
    process = start_process(spec, log_path=tmp_path / "data-discovery.log")
    try:
        wait_ready(spec, process)
    finally:
        stop_process(process)
    assert process.returncode == 0, (tmp_path / "data-discovery.log").read_text()
