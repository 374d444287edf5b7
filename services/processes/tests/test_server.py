"""`python -m eoplex_processes` serves health only once MongoDB answers; stops on SIGTERM."""

from pathlib import Path

import pytest

from conftest import Infrastructure, ServiceProcess
from eoplex.servers import free_port


def test_serves_and_stops_cleanly(infrastructure: Infrastructure, tmp_path: Path) -> None:
    with ServiceProcess("processes", env=infrastructure.env, log_dir=tmp_path) as service:
        pass
    assert service.returncode == 0, service.log()


def test_exits_without_serving_when_mongodb_is_down(
    infrastructure: Infrastructure, tmp_path: Path
) -> None:
    env = {**infrastructure.env, "OPENEO_MONGODB_URL": f"mongodb://127.0.0.1:{free_port()}"}
    with pytest.raises(RuntimeError, match="exited with status 1"):
        with ServiceProcess("processes", env=env, log_dir=tmp_path):
            pass
