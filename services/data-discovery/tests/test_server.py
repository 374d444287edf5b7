"""`python -m eoplex_data_discovery` serves once MongoDB and NATS answer; stops on SIGTERM."""

from pathlib import Path

from conftest import Infrastructure, ServiceProcess


def test_serves_and_stops_cleanly(infrastructure: Infrastructure, tmp_path: Path) -> None:
    with ServiceProcess("data-discovery", env=infrastructure.env, log_dir=tmp_path) as service:
        pass
    assert service.returncode == 0, service.log()
