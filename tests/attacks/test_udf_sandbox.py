"""Attacks of issue 13 on the UDF sandbox, replayed against real UDF processes.

Each test runs a UDF the way an execution does (`UdfProcesses`, confined processes of
their own) and has it try one way out. A UDF reports what it reached as bits of its
result, so a fence that holds gives 0; the tests that need no UDF answer check the
machine after the UDF ran (processes left, files written).
"""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.udf.process import UdfProcesses
from eoplex_executor.udf.sandbox import SandboxSupport, UdfLimits, UdfSandbox

BLOCK = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"))


def udf(body: str) -> str:
    """A UDF whose `body` sets `reached` (bits of what it got at); its result is `reached`."""
    return (
        "import ctypes, os, signal, socket, sys, time\nimport numpy, xarray\n\n"
        "def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:\n"
        "    reached = 0\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
        + "\n    return cube * 0 + reached\n"
    )


def processes_for(work_dir: Path, **limits: Any) -> UdfProcesses:
    return UdfProcesses(work_dir, limit=1, sandbox=UdfSandbox(limits=UdfLimits(**limits)))


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Any]:
    """`run(body, context, **limits)`: the UDF's `reached`, in a fresh execution."""
    opened: list[UdfProcesses] = []

    def run_udf(body: str, context: Any = None, **limits: Any) -> int:
        processes = processes_for(tmp_path / f"execution-{len(opened)}", **limits)
        processes.work_dir.mkdir()
        opened.append(processes)
        result = processes.run(udf(body), BLOCK, context or {})
        return int(np.asarray(result.values).max())

    yield run_udf
    for processes in opened:
        processes.close()


def test_a_udf_cannot_connect_to_a_unix_socket_such_as_the_s3_servers(
    run: Any, tmp_path: Path
) -> None:
    """Critical: bob's UDF spoke to the S3 server's unauthenticated filer socket in /tmp."""
    path = tmp_path / "filer.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        listener.listen(4)
        os.chmod(path, 0o777)
        reached = run(
            """
            try:
                socket.socket(socket.AF_UNIX).connect(context["path"])
                reached |= 1
            except OSError:
                pass
            """,
            {"path": str(path)},
        )
    assert reached == 0


def test_a_udf_cannot_connect_to_an_abstract_unix_socket(run: Any) -> None:
    """Critical, the same class: a Unix socket in the abstract namespace needs no file."""
    name = f"\0eoplex-attack-{os.getpid()}"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(name)
        listener.listen(4)
        reached = run(
            """
            try:
                socket.socket(socket.AF_UNIX).connect(context["name"])
                reached |= 1
            except OSError:
                pass
            try:
                a, b = socket.socketpair()
                reached |= 2
            except OSError:
                pass
            """,
            {"name": name},
        )
    assert reached == 0


def test_a_udf_cannot_connect_to_a_tcp_port_on_loopback(run: Any) -> None:
    """Critical, the same class: internal services listen on 127.0.0.1."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        reached = run(
            """
            try:
                socket.create_connection(("127.0.0.1", context["port"]), timeout=5).close()
                reached |= 1
            except OSError:
                pass
            """,
            {"port": listener.getsockname()[1]},
        )
    assert reached == 0


def test_a_udf_cannot_flood_the_job_log_through_its_answer_pipe(run: Any) -> None:
    """Its output is bounded by its process, but the UDF owns that process: log entries it
    writes straight to the answer pipe beyond what the process sends are refused."""
    body = """
    import json, struct
    answers = os.fdopen(int(sys.argv[2]), "wb")
    entry = b"L" + json.dumps({"level": "error", "message": "forged", "data": None}).encode()
    for _ in range(1000):
        answers.write(struct.pack(">Q", len(entry)) + entry)
    answers.flush()
    """
    with pytest.raises(ProcessParameterInvalid, match="more than 21 log entries for one chunk"):
        run(body)


def test_a_udf_cannot_see_other_processes_or_their_command_lines(run: Any) -> None:
    """Critical: the S3 server's port was read from /proc/*/cmdline."""
    reached = run(
        """
        try:
            others = [n for n in os.listdir("/proc") if n.isdigit() and int(n) != os.getpid()]
            if others:
                reached |= 1
        except OSError:
            pass
        for pid in (1, context["pid"], os.getppid()):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as file:
                    file.read(1)
                reached |= 2
            except OSError:
                pass
        """,
        {"pid": os.getpid()},
    )
    assert reached == 0


def test_a_udf_cannot_read_etc_shadow_or_files_outside_its_directory(
    run: Any, tmp_path: Path
) -> None:
    """High: a UDF read /etc/shadow; also another execution's scratch file."""
    other = tmp_path / "another-request.tif"
    other.write_bytes(b"another user's result")
    reached = run(
        """
        for bit, path in ((1, "/etc/shadow"), (2, context["other"])):
            try:
                with open(path, "rb") as file:
                    file.read(1)
                reached |= bit
            except OSError:
                pass
        try:
            with open(os.path.join(os.path.dirname(context["other"]), "planted"), "wb") as f:
                f.write(b"x")
            reached |= 4
        except OSError:
            pass
        """,
        {"other": str(other)},
    )
    assert reached == 0


def test_a_udf_cannot_signal_a_process_of_the_executors_user(run: Any) -> None:
    """High: a UDF could `kill` the gateway or the executor (everything runs as one user)."""
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        reached = run(
            """
            for bit, pid in ((1, context["victim"]), (2, os.getppid()), (4, -1)):
                try:
                    os.kill(pid, 0)
                    reached |= bit
                except OSError:
                    pass
            try:
                os.kill(context["victim"], signal.SIGTERM)
            except OSError:
                pass
            """,
            {"victim": victim.pid},
        )
        time.sleep(0.5)
        assert (reached, victim.poll()) == (0, None)
    finally:
        victim.kill()
        victim.wait()


def test_a_udf_runs_as_a_user_without_privileges_it_cannot_regain(run: Any) -> None:
    """High: UDF processes ran as root (locally) and could make namespaces of their own."""
    reached = run(
        """
        if os.getuid() == 0 or os.geteuid() == 0:
            reached |= 1
        for bit, call in ((2, lambda: os.setuid(0)), (4, lambda: os.setresuid(0, 0, 0))):
            try:
                call()
                reached |= bit
            except OSError:
                pass
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x10000000) == 0:  # CLONE_NEWUSER
            reached |= 8
        if libc.setsid() != -1:
            reached |= 16
        """
    )
    assert reached == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as file:
        return file.read().rsplit(")", 1)[1].split()[0] != "Z"


def _gone_within(pids: list[int], seconds: float) -> bool:
    started = time.monotonic()
    deadline = started + seconds
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in pids):
            print(f"gone after {time.monotonic() - started:.2f} s")
            return True
        time.sleep(0.05)
    return False


def test_a_detached_grandchild_is_gone_when_its_execution_ends(tmp_path: Path) -> None:
    """High: a detached grandchild (fork, setsid, fork) outlived its request."""
    processes = processes_for(tmp_path)
    code = udf(
        """
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
            except OSError:
                pass
            if os.fork() == 0:
                with open(os.path.join(os.getcwd(), "grandchild"), "w") as file:
                    file.write(str(os.getpid()))
                time.sleep(60)
            os._exit(0)
        os.waitpid(pid, 0)
        while not os.path.exists("grandchild"):
            time.sleep(0.05)
        """
    )
    processes.run(code, BLOCK, {})
    (found,) = list(tmp_path.glob("udf-*/grandchild"))
    grandchild = int(found.read_text())
    assert _alive(grandchild)
    processes.close()
    assert _gone_within([grandchild], 10.0)


STAND_IN = """
import sys
import numpy as np, xarray as xr
from pathlib import Path
from eoplex_executor.udf.process import UdfProcesses

processes = UdfProcesses(Path(sys.argv[1]), limit=1)
processes.run(sys.argv[2], xr.DataArray(np.zeros((2, 2)), dims=("y", "x")), {})
"""


def test_a_udf_that_blocks_its_watcher_dies_with_its_executor(tmp_path: Path) -> None:
    """High: a UDF that kept its 'exit with the parent' watcher from running (a C loop holding
    the GIL) burned CPU for ~50 s after its executor process was gone."""
    code = udf(
        """
        with open("pid", "w") as file:
            file.write(str(os.getpid()))
        sum(range(10**14))
        """
    )
    executor = subprocess.Popen([sys.executable, "-c", STAND_IN, str(tmp_path), code])
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("udf-*/pid")) and time.monotonic() < deadline:
            time.sleep(0.1)
        (found,) = list(tmp_path.glob("udf-*/pid"))
        time.sleep(0.2)
        pid = int(found.read_text())
        assert _alive(pid)
    finally:
        executor.kill()
        executor.wait()
    try:
        assert _gone_within([pid], 10.0)
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_memory_hog_ends_with_a_memory_limit_error(run: Any) -> None:
    """High: 1 GiB and 2 GiB allocations in a UDF worked; no memory limit was set."""
    with pytest.raises(ProcessParameterInvalid, match="memory limit of 256 MiB"):
        run(
            """
            hog = numpy.ones(2**30 // 8)
            reached = int(hog[0])
            """,
            memory_bytes=256 * 2**20,
        )


def test_a_fork_bomb_ends_with_a_process_limit_error(run: Any) -> None:
    """High: no process-count limit was set (a bounded bomb: 300 sleeping children)."""
    with pytest.raises(ProcessParameterInvalid, match="limit of 32 processes"):
        run(
            """
            for _ in range(300):
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
            reached = 1
            """,
            tasks=32,
        )


def test_a_cpu_hog_ends_with_a_cpu_time_limit_error(run: Any) -> None:
    """High: no CPU-time limit was set (a bounded hog: about 6 s of CPU)."""
    with pytest.raises(ProcessParameterInvalid, match="CPU-time limit of 2 s"):
        run(
            """
            end = time.process_time() + 6
            while time.process_time() < end:
                pass
            reached = 1
            """,
            cpu_seconds=2,
        )


def test_a_udf_cannot_write_a_file_beyond_its_size_limit(run: Any) -> None:
    """High: no file-size limit was set."""
    with pytest.raises(ProcessParameterInvalid, match="file-size limit of 16 MiB"):
        run(
            """
            with open("big", "wb") as file:
                for _ in range(64):
                    file.write(b"x" * 2**20)
            reached = 1
            """,
            file_bytes=16 * 2**20,
        )


class _NoLandlock(UdfSandbox):
    """The sandbox on a kernel without Landlock (this machine has it; the kernel is what a
    test cannot change)."""

    def support(self) -> SandboxSupport:
        return replace(super().support(), landlock_abi=0)


def test_without_landlock_a_udf_is_refused_with_the_reason(tmp_path: Path) -> None:
    """Critical: Landlock was best effort, so a kernel without it ran UDFs that could read
    every file of the executor's user; now no UDF runs there, and the error says why."""
    processes = UdfProcesses(tmp_path, limit=1, sandbox=_NoLandlock())
    try:
        with pytest.raises(ProcessParameterInvalid, match="UDFs are disabled on this back-end"):
            processes.run(udf("reached = 1"), BLOCK, {})
    finally:
        processes.close()
    assert not list(tmp_path.glob("udf-*"))


def test_only_an_operator_setting_named_unsafe_runs_udfs_without_landlock() -> None:
    """Critical: the weaker sandbox is an explicit, announced choice."""
    lacking = replace(UdfSandbox().support(), landlock_abi=0)
    assert (lacking.runs_udfs, lacking.enforced) == (False, False)
    assert "Landlock" in lacking.reason
    allowed = replace(lacking, unsafe_without_landlock=True)
    assert (allowed.runs_udfs, allowed.enforced) == (True, False)
    assert allowed.reason.startswith("UNSAFE")
    assert "OPENEO_EXECUTOR_UDF_UNSAFE_WITHOUT_LANDLOCK" in allowed.reason
    without_seccomp = replace(allowed, seccomp=False)
    assert not without_seccomp.runs_udfs


KILLED_RUN = """
import sys, time
from pathlib import Path
import numpy as np, xarray as xr
from eoplex_executor.udf.scratch import ScratchDir
from eoplex_executor.udf.process import UdfProcesses

scratch = ScratchDir.claim(Path(sys.argv[1]), prefix="sync-")
processes = UdfProcesses(scratch.path, limit=1)
processes.run(sys.argv[2], xr.DataArray(np.zeros((2, 2)), dims=("y", "x")), {})
print(scratch.path, flush=True)
time.sleep(60)
"""


def test_a_killed_runs_scratch_directory_and_processes_go_at_the_next_sweep(
    tmp_path: Path,
) -> None:
    """Low: scratch directories of killed runs stayed in /tmp/eoplex-executor (and with
    them, here, what their UDF processes left running)."""
    from eoplex_executor.udf.scratch import ScratchDir, sweep

    code = udf(
        """
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        """
    )
    run = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(tmp_path), code], stdout=subprocess.PIPE, text=True
    )
    assert run.stdout is not None
    killed = Path(run.stdout.readline().strip())
    living = ScratchDir.claim(tmp_path, prefix="sync-")
    (uid,) = {int(record.read_text().split()[0]) for record in killed.glob(".udf-groups/*")}
    left = [int(name) for name in os.listdir("/proc") if name.isdigit() and _uid(name) == uid]
    run.kill()
    run.wait()
    run.stdout.close()
    try:
        assert killed.is_dir() and left
        assert sweep(tmp_path) == 1
        assert not killed.exists() and living.path.is_dir()
        assert _gone_within(left, 10.0)
    finally:
        living.remove()


def _uid(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("Uid:"))
    except (OSError, StopIteration):
        return None
