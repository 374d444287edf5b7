"""LocalLauncher with real subprocesses; a stand-in command replaces the executor."""

import asyncio
import os
import signal
import sys
from pathlib import Path

from eoplex_jobs.launcher import LauncherSettings, LaunchStatus, LocalLauncher
from eoplex_proto.openeo.jobs.v1 import jobs_pb2

SLEEPER = [
    sys.executable,
    "-c",
    "import sys, time; print('started', sys.argv[1], flush=True); time.sleep(30)",
]
# Ignores SIGTERM, so only the SIGKILL after the grace period stops it.
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
    " print('ready', flush=True); time.sleep(30)",
]


def make_launcher(tmp_path: Path, command: list[str], grace: float = 5.0) -> LocalLauncher:
    settings = LauncherSettings(
        executor_command=command, state_dir=tmp_path, cancel_grace_seconds=grace
    )
    return LocalLauncher(settings)


async def launched(launcher: LocalLauncher, job_id: str = "j-1") -> dict:
    job = {"_id": job_id, "user_id": "u", "tenant_id": "t"}
    spec = jobs_pb2.JobSpec(job=jobs_pb2.Job(job_id=job_id, status="running"), max_pixels=7)
    return {**job, "launcher_ref": await launcher.launch(job, spec)}


async def wait_gone(launcher: LocalLauncher, job: dict) -> LaunchStatus:
    for _ in range(200):
        status = await launcher.status(job)
        if not status.alive:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError("the process did not end")


async def wait_for_output(path: Path, text: str) -> None:
    for _ in range(200):
        if text in output(path):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}")


def output(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def process_exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def process_start(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[19])


async def test_launch_runs_the_command_with_the_job_id_in_its_own_session(tmp_path: Path) -> None:
    launcher = make_launcher(tmp_path, SLEEPER)
    job = await launched(launcher, "j-abc")
    ref = job["launcher_ref"]
    try:
        assert ref["kind"] == "local"
        assert ref["started"] == process_start(ref["pid"])
        assert os.getsid(ref["pid"]) == ref["pid"]
        await wait_for_output(tmp_path / "logs" / "j-abc.log", "started j-abc")
        assert await launcher.status(job) == LaunchStatus(alive=True)
    finally:
        os.killpg(ref["pid"], signal.SIGKILL)
        await wait_gone(launcher, job)


async def test_launch_passes_the_environment_and_the_extra_variables(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("OPENEO_NATS_URL", "nats://example:4222")
    command = [
        sys.executable,
        "-c",
        "import os; print(os.environ['OPENEO_NATS_URL'], os.environ['OPENEO_EXTRA'])",
    ]
    settings = LauncherSettings(
        executor_command=command, state_dir=tmp_path, env={"OPENEO_EXTRA": "yes"}
    )
    launcher = LocalLauncher(settings)
    job = await launched(launcher)
    assert await wait_gone(launcher, job) == LaunchStatus(alive=False, reason="exit code 0")
    assert output(tmp_path / "logs" / "j-1.log") == "nats://example:4222 yes\n"


async def test_the_spec_comes_on_standard_input_from_an_unnamed_private_file(
    tmp_path: Path,
) -> None:
    """`run-job <job_id> -` reads the serialized spec from its standard input: a file of
    mode 0600 that no name on disk leads to."""
    command = [
        sys.executable,
        "-c",
        "import os, stat, sys; info = os.fstat(0);"
        " print(sys.argv[1:], oct(stat.S_IMODE(info.st_mode)), info.st_nlink,"
        " sys.stdin.buffer.read().hex(), flush=True)",
    ]
    launcher = make_launcher(tmp_path, command)
    job = await launched(launcher, "j-spec")
    assert await wait_gone(launcher, job) == LaunchStatus(alive=False, reason="exit code 0")
    spec = jobs_pb2.JobSpec(job=jobs_pb2.Job(job_id="j-spec", status="running"), max_pixels=7)
    expected = f"['j-spec', '-'] 0o600 0 {spec.SerializeToString().hex()}\n"
    assert output(tmp_path / "logs" / "j-spec.log") == expected
    assert [path.name for path in (tmp_path / "logs").iterdir()] == ["j-spec.log"]


async def test_status_tells_the_exit_code(tmp_path: Path) -> None:
    launcher = make_launcher(tmp_path, [sys.executable, "-c", "import sys; sys.exit(3)"])
    job = await launched(launcher)
    assert await wait_gone(launcher, job) == LaunchStatus(alive=False, reason="exit code 3")


async def test_status_tells_the_killing_signal_and_leaves_no_zombie(tmp_path: Path) -> None:
    launcher = make_launcher(tmp_path, SLEEPER)
    job = await launched(launcher)
    pid = job["launcher_ref"]["pid"]
    os.kill(pid, signal.SIGKILL)
    status = await wait_gone(launcher, job)
    assert status == LaunchStatus(alive=False, reason="killed by signal 9 (SIGKILL)")
    assert not process_exists(pid)


async def test_a_process_of_an_earlier_service_is_watched_by_pid_and_start_time(
    tmp_path: Path,
) -> None:
    first = make_launcher(tmp_path, SLEEPER)
    job = await launched(first)
    # A restarted jobs service: a new launcher that did not start the process.
    restarted = make_launcher(tmp_path, SLEEPER)
    assert await restarted.status(job) == LaunchStatus(alive=True)
    reused = {**job, "launcher_ref": {**job["launcher_ref"], "started": 1}}
    assert not (await restarted.status(reused)).alive
    os.killpg(job["launcher_ref"]["pid"], signal.SIGKILL)
    await wait_gone(first, job)
    assert await restarted.status(job) == LaunchStatus(
        alive=False, reason="the executor process is gone (exit code unknown)"
    )


async def test_a_job_without_a_local_launcher_ref_was_never_launched(tmp_path: Path) -> None:
    launcher = make_launcher(tmp_path, SLEEPER)
    status = await launcher.status({"_id": "j-1", "launcher_ref": None})
    assert status == LaunchStatus(alive=False, reason="the executor was never launched")


async def test_cancel_terminates_the_process_group(tmp_path: Path) -> None:
    launcher = make_launcher(tmp_path, SLEEPER)
    job = await launched(launcher)
    await launcher.cancel(job)
    assert await launcher.status(job) == LaunchStatus(
        alive=False, reason="killed by signal 15 (SIGTERM)"
    )


async def test_cancel_kills_what_ignores_sigterm_after_the_grace(tmp_path: Path) -> None:
    launcher = make_launcher(tmp_path, STUBBORN, grace=0.3)
    job = await launched(launcher)
    await wait_for_output(tmp_path / "logs" / "j-1.log", "ready")
    loop = asyncio.get_running_loop()
    began = loop.time()
    await launcher.cancel(job)
    assert loop.time() - began >= 0.3
    assert await launcher.status(job) == LaunchStatus(
        alive=False, reason="killed by signal 9 (SIGKILL)"
    )


async def test_cancel_of_an_ended_process_does_nothing(tmp_path: Path) -> None:
    launcher = make_launcher(tmp_path, [sys.executable, "-c", "pass"])
    job = await launched(launcher)
    await wait_gone(launcher, job)
    await launcher.cancel(job)
    assert await launcher.status(job) == LaunchStatus(alive=False, reason="exit code 0")
