"""`eoplex run` refuses to start, with a clear message, when its port is taken."""

import os
import socket
import subprocess
import sys
from pathlib import Path


def test_port_in_use_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "OPENEO_PORT": str(port), "OPENEO_STATE_DIR": str(tmp_path)}
        result = subprocess.run(
            [sys.executable, "-m", "eoplex", "run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"port {port} is in use" in result.stderr
    assert not (tmp_path / "logs").exists()
