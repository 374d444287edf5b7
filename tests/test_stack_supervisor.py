"""The supervisor restarts crashed processes and leaves none behind; the stack comes up."""

import base64
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from eoplex.servers import ProcessSpec
from eoplex.stack import LocalStack
from eoplex.supervisor import RestartPolicy, Supervisor

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# Exits with status 3 a moment after it starts, counting its runs in a file.
CRASHER = """
import sys, time
with open(sys.argv[1], "a") as runs:
    runs.write("run\\n")
time.sleep(0.2)
sys.exit(3)
"""

# Sleeps, with a grandchild in its process group that sleeps too; writes both pids.
SLEEPER_WITH_CHILD = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(sys.argv[1], "w") as pids:
    pids.write(f"{os.getpid()} {child.pid}")
time.sleep(600)
"""

# A supervisor of two sleepers in a subprocess, as `eoplex run` is: SIGTERM stops it.
SUPERVISOR = """
import json, signal, sys, threading
from pathlib import Path
from eoplex.servers import ProcessSpec
from eoplex.supervisor import Supervisor

work = Path(sys.argv[1])
sleeper = sys.argv[2]
stopping = threading.Event()
signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
supervisor = Supervisor(log_dir=work / "logs", stop_grace_seconds=5)
specs = [
    ProcessSpec(
        name=f"sleeper-{i}",
        argv=[sys.executable, "-c", sleeper, str(work / f"pids-{i}")],
        ready=(work / f"pids-{i}").exists,
    )
    for i in range(2)
]
supervisor.start_stage(specs)
print(json.dumps(supervisor.pids), flush=True)
stopping.wait()
supervisor.stop()
"""


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for a parent that is gone does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for(condition: Callable[[], bool], *, timeout_seconds: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.05)


def supervised_sleepers(tmp_path: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    """A supervisor subprocess once its sleepers run; their pids and their grandchildren's."""
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, str(tmp_path), SLEEPER_WITH_CHILD],
        stdout=subprocess.PIPE,
    )
    assert supervisor.stdout is not None
    children = json.loads(supervisor.stdout.readline())
    assert sorted(children) == ["sleeper-0", "sleeper-1"]
    pids = [int(pid) for i in range(2) for pid in (tmp_path / f"pids-{i}").read_text().split()]
    assert set(children.values()) < set(pids)
    return supervisor, pids


def test_restarts_a_crashed_process_with_backoff_and_logs_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="eoplex.supervisor")
    runs = tmp_path / "runs"
    policy = RestartPolicy(initial_backoff_seconds=0.1, max_backoff_seconds=0.2)
    supervisor = Supervisor(log_dir=tmp_path / "logs", restart_policy=policy)
    crasher = ProcessSpec("crasher", [sys.executable, "-c", CRASHER, str(runs)], runs.exists)
    try:
        supervisor.start_stage([crasher])
        wait_for(lambda: supervisor.restarts("crasher") >= 3)
    finally:
        supervisor.stop()

    crashes = [r.getMessage() for r in caplog.records if "terminated" in r.getMessage()]
    assert all("reason=Error exit_code=3;" in message for message in crashes)
    backoffs = [message.split("back-off ")[1].split(" s")[0] for message in crashes[:3]]
    assert backoffs == ["0.1", "0.2", "0.2"]
    assert runs.read_text().count("run") >= 3


def test_a_killed_process_is_restarted_and_the_signal_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="eoplex.supervisor")
    supervisor = Supervisor(log_dir=tmp_path / "logs")
    argv = [sys.executable, "-c", "import time; time.sleep(600)"]
    spec = ProcessSpec("sleeper", argv, ready=lambda: True)
    try:
        supervisor.start_stage([spec])
        first = supervisor.kill("sleeper")
        supervisor.wait_until_ready("sleeper", timeout_seconds=20)
        second = supervisor.pids["sleeper"]
    finally:
        supervisor.stop()

    assert second != first
    assert any(
        f"sleeper (pid {first}) terminated: reason=Error exit_code=137 signal=SIGKILL"
        in record.getMessage()
        for record in caplog.records
    )


@linux_only
def test_sigterm_stops_every_child_and_grandchild(tmp_path: Path) -> None:
    supervisor, pids = supervised_sleepers(tmp_path)
    try:
        assert all(alive(pid) for pid in pids)
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(30) == 0
        wait_for(lambda: not any(alive(pid) for pid in pids))
    finally:
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        supervisor.kill()
        supervisor.wait()
        assert supervisor.stdout is not None
        supervisor.stdout.close()


@linux_only
def test_children_die_with_a_killed_supervisor(tmp_path: Path) -> None:
    supervisor, pids = supervised_sleepers(tmp_path)
    children = pids[0::2]
    try:
        supervisor.kill()
        supervisor.wait()
        # The kernel's parent-death signal reaches direct children only.
        wait_for(lambda: not any(alive(pid) for pid in children))
    finally:
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        assert supervisor.stdout is not None
        supervisor.stdout.close()


def test_the_local_stack_answers_the_well_known_document(local_stack: LocalStack) -> None:
    with urllib.request.urlopen(local_stack.well_known_url, timeout=10) as response:
        assert response.status == 200
        document = json.load(response)
    assert [version["url"] for version in document["versions"]] == [local_stack.api_url]


def test_the_demo_user_can_log_in(local_stack: LocalStack) -> None:
    request = urllib.request.Request(local_stack.api_url + "credentials/basic")
    credentials = f"{local_stack.demo_user}:{local_stack.demo_password}".encode()
    request.add_header("Authorization", "Basic " + base64.b64encode(credentials).decode())
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["access_token"]
