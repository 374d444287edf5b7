"""`python -m eoplex_gateway` serves HTTP and stops cleanly on SIGTERM, exiting 0."""

import signal
import sys
from pathlib import Path

from eoplex.servers import ProcessSpec, free_port, http_answers, start_process, wait_ready


def test_serves_and_exits_zero_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/.well-known/openeo"
    spec = ProcessSpec(
        "gateway",
        [sys.executable, "-m", "eoplex_gateway"],
        http_answers(url),
        env={"OPENEO_PORT": str(port), "OPENEO_GATEWAY_HOST": "127.0.0.1"},
        ready_timeout_seconds=30,
    )
    process = start_process(spec, log_path=tmp_path / "gateway.log")
    try:
        wait_ready(spec, process)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, (tmp_path / "gateway.log").read_text()
