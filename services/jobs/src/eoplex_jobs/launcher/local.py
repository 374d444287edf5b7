"""The local launcher: `run-job <job_id> -` as a subprocess in a session of its own.

The job's spec reaches the executor on its standard input: an unnamed file (mode 0600,
in the launcher's state directory, gone with its last descriptor), so it is never on a
command line, in the environment or left on disk, and writing it never waits for the
executor to read.

The executor runs in its own session, so it survives a restart of the jobs service and
can be stopped as a whole process group. Its `launcher_ref` holds the pid and the
process start time from `/proc/<pid>/stat`: a pid that the kernel reused for another
process has another start time, so it is never mistaken for the executor (Linux only).
"""

import asyncio
import os
import signal
import subprocess
import tempfile
from pathlib import Path

from eoplex_common.documents import Document
from eoplex_jobs.launcher.protocol import LaunchStatus
from eoplex_jobs.launcher.settings import LauncherSettings
from eoplex_proto.openeo.jobs.v1 import jobs_pb2

# run-job's argument for "the spec comes on standard input".
SPEC_ON_STDIN = "-"

# How long to wait for the process group to die after SIGKILL, so the child is reaped.
_KILL_WAIT_SECONDS = 2.0
_POLL_SECONDS = 0.05


class LocalLauncher:
    """Starts executors as local subprocesses; see the module docstring."""

    def __init__(self, settings: LauncherSettings) -> None:
        self.settings = settings
        # The executors this process started, by (pid, start time): polling them reaps
        # them (no zombies) and tells their exit code, which only a parent can know.
        self._children: dict[tuple[int, int], subprocess.Popen[bytes]] = {}

    async def launch(self, job: Document, spec: jobs_pb2.JobSpec) -> Document:
        """Start `<executor_command> <job_id> -` with our environment and `spec` on its
        standard input; its stdout and stderr go to `<state_dir>/logs/<job_id>.log`."""
        job_id = job["_id"]
        log_path = self.settings.state_dir / "logs" / f"{job_id}.log"
        command = [*self.settings.executor_command, job_id, SPEC_ON_STDIN]
        process = await asyncio.to_thread(
            _spawn, command, log_path, self.settings.env, spec.SerializeToString()
        )
        # Unreaped, the child is at least a zombie, so its /proc entry exists here.
        started = _process_start_time(process.pid)
        if started is None:
            raise RuntimeError(f"no /proc/{process.pid}/stat: the local launcher needs Linux")
        self._children[(process.pid, started)] = process
        return {"kind": "local", "pid": process.pid, "started": started, "log": str(log_path)}

    async def status(self, job: Document) -> LaunchStatus:
        """Alive while the process with the stored pid and start time runs; else why not:
        "exit code N" or "killed by signal N (NAME)" when it was our child."""
        key = _process_key(job)
        if key is None:
            return LaunchStatus(alive=False, reason="the executor was never launched")
        child = self._children.get(key)
        if child is not None:
            code = child.poll()
            if code is None:
                return LaunchStatus(alive=True)
            return LaunchStatus(alive=False, reason=exit_reason(code))
        if _is_running(*key):
            return LaunchStatus(alive=True)
        # Started by an earlier jobs service: our process is not its parent.
        return LaunchStatus(alive=False, reason="the executor process is gone (exit code unknown)")

    async def cancel(self, job: Document) -> None:
        """SIGTERM to the executor's process group; SIGKILL to it after the grace period."""
        key = _process_key(job)
        if key is None or not (await self.status(job)).alive:
            return
        pid = key[0]
        _signal_group(pid, signal.SIGTERM)
        await self._wait_gone(job, self.settings.cancel_grace_seconds)
        # Also when the leader obeyed: what it started may still run in its group.
        _signal_group(pid, signal.SIGKILL)
        await self._wait_gone(job, _KILL_WAIT_SECONDS)

    async def _wait_gone(self, job: Document, seconds: float) -> None:
        # Polling: a process that is not our child gives no signal when it ends.
        for _ in range(max(1, round(seconds / _POLL_SECONDS))):
            if not (await self.status(job)).alive:
                return
            await asyncio.sleep(_POLL_SECONDS)


def _spawn(
    command: list[str], log_path: Path, env: dict[str, str], stdin: bytes
) -> subprocess.Popen[bytes]:
    """Start `command` in a new session, `stdin` its input (an unnamed file of mode 0600),
    its output appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryFile(dir=log_path.parent) as input_file,
        log_path.open("ab") as log_file,
    ):
        input_file.write(stdin)
        input_file.seek(0)
        return subprocess.Popen(
            command,
            stdin=input_file,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            # The whole environment, not only OPENEO_*: the executor also needs what
            # the stack was started with (PATH, GDAL/PROJ data, TZ, tracing).
            env={**os.environ, **env},
            start_new_session=True,
        )


def exit_reason(returncode: int) -> str:
    """Why a process ended, from `Popen.returncode` (negative: the signal that killed it)."""
    if returncode < 0:
        return f"killed by signal {-returncode} ({signal.Signals(-returncode).name})"
    return f"exit code {returncode}"


def _process_key(job: Document) -> tuple[int, int] | None:
    ref = job.get("launcher_ref") or {}
    if ref.get("kind") != "local":
        return None
    return int(ref["pid"]), int(ref["started"])


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # The executor leads its own session, so its process group id is its pid.
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _is_running(pid: int, started: int) -> bool:
    stat = _read_stat(pid)
    return stat is not None and stat[1] == started and stat[0] not in ("Z", "X")


def _process_start_time(pid: int) -> int | None:
    stat = _read_stat(pid)
    return None if stat is None else stat[1]


def _read_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) of a process, or None if there is none."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ")".
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state) of proc(5); field 22 (starttime) is fields[19].
    return fields[0], int(fields[19])
