"""`python -m eoplex_executor` serves the gRPC health check, and stops cleanly on SIGTERM."""

from pathlib import Path

from conftest import Infrastructure, ServiceProcess


def test_serves_and_stops_cleanly(infrastructure: Infrastructure, tmp_path: Path) -> None:
    with ServiceProcess("executor", env=infrastructure.env, log_dir=tmp_path) as service:
        pass
    assert service.returncode == 0, service.log()
