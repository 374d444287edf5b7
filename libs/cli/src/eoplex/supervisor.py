"""The local stack's process supervisor: what Kubernetes does for the stack on one machine.

Processes start in stages (servers, then services, then the gateway); a stage
starts once every process of the previous one answers its readiness probe. A
process that exits on its own is restarted with exponential back-off, and the
reason is logged the way `kubectl describe pod` reports it. Stopping goes in
reverse stage order: each process group gets its stop signal (SIGTERM for most), then
SIGKILL after a grace period.

No process outlives the supervisor: each child runs in its own process group
(so a stop reaches its own children too), and on Linux each child asks the
kernel to kill it when its parent dies (`PR_SET_PDEATHSIG`, see `eoplex.children`),
which covers a supervisor killed with SIGKILL.
"""

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eoplex.children import dying_with_parent
from eoplex.servers import ProcessSpec

log = logging.getLogger("eoplex.supervisor")


class StackStartError(RuntimeError):
    """A process of the stack exited, or did not become ready, while the stack was starting."""


@dataclass(frozen=True)
class RestartPolicy:
    """Back-off for a process that exits on its own (Kubernetes' CrashLoopBackOff, shortened)."""

    initial_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    # A process that has run this long is healthy again: its next crash starts the back-off anew.
    stable_after_seconds: float = 60.0

    def backoff(self, failures: int) -> float:
        """The delay before the restart that follows the `failures`-th consecutive crash."""
        return min(self.initial_backoff_seconds * 2 ** (failures - 1), self.max_backoff_seconds)


def exit_reason(returncode: int) -> str:
    """A termination as `kubectl describe` reports it: reason, exit code, and the signal if any."""
    if returncode >= 0:
        reason = "Completed" if returncode == 0 else "Error"
        return f"reason={reason} exit_code={returncode}"
    number = -returncode
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = str(number)
    return f"reason=Error exit_code={128 + number} signal={name}"


def log_tail(path: Path, *, lines: int = 5) -> str:
    """The last `lines` lines of a process's log, to show next to why it stopped."""
    try:
        text = path.read_bytes()[-8192:].decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class _Child:
    """One supervised process and its restart bookkeeping."""

    spec: ProcessSpec
    stage: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    # False while its stage is starting: start_stage() watches it then, not the monitor.
    supervised: bool = False
    failures: int = 0
    restarts: int = 0
    restart_at: float | None = None


class Supervisor:
    """Runs `ProcessSpec`s as child processes, restarts them when they crash, stops them all.

    The thread that calls `start_stage()` must live until `stop()`: the kernel's
    parent-death signal follows the thread that started a child, not the process.
    Every child inherits the descriptors `inherited_fds` (the state directory's lock).
    """

    def __init__(
        self,
        *,
        log_dir: Path,
        restart_policy: RestartPolicy | None = None,
        stop_grace_seconds: float = 10.0,
        poll_seconds: float = 0.1,
        inherited_fds: tuple[int, ...] = (),
    ) -> None:
        self.log_dir = log_dir
        self.restart_policy = restart_policy or RestartPolicy()
        self.stop_grace_seconds = stop_grace_seconds
        self.poll_seconds = poll_seconds
        self._children: dict[str, _Child] = {}
        self._stages = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._finished = threading.Event()
        self._monitor: threading.Thread | None = None
        self.inherited_fds = inherited_fds

    @property
    def pids(self) -> dict[str, int]:
        """Process id of every process that runs right now, by name."""
        with self._lock:
            return {
                name: child.process.pid
                for name, child in self._children.items()
                if child.process is not None and not _has_exited(child.process)
            }

    def restarts(self, name: str) -> int:
        """How often the process `name` has been restarted."""
        with self._lock:
            return self._children[name].restarts

    def kill(
        self, name: str, sig: signal.Signals = signal.SIGKILL, *, timeout: float = 10.0
    ) -> int:
        """Send `sig` to the process `name` (not its group), as a crash would; return its pid.

        Returns once the process has exited, so that `wait_until_ready()` afterwards
        waits for its successor; raises `TimeoutError` if it outlives `timeout` seconds.
        """
        with self._lock:
            process = self._children[name].process
            # Under the lock the monitor cannot reap the process, so its pid is still its own.
            if process is None or _has_exited(process):
                raise ProcessLookupError(f"{name} is not running")
            os.kill(process.pid, sig)
        deadline = time.monotonic() + timeout
        while not _has_exited(process):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} still runs {timeout:.0f} s after {sig.name}")
            time.sleep(0.01)
        return process.pid

    def request_stop(self) -> None:
        """Abort a start in progress and stop restarting; safe to call from a signal handler."""
        self._stopping.set()

    def start_stage(self, specs: Sequence[ProcessSpec]) -> None:
        """Start `specs` together and wait until each is ready, then supervise them.

        Raises `StackStartError` if one exits or misses its readiness timeout, or if a
        stop was requested meanwhile; the caller then calls `stop()`.
        """
        children = self._launch_stage(specs)
        self._ensure_monitor()
        for child in children:
            self._wait_ready(child)
            with self._lock:
                child.supervised = True

    def wait_until_ready(self, name: str, *, timeout_seconds: float = 60.0) -> None:
        """Block until `name` runs (after a restart, say) and its readiness probe holds."""
        child = self._children[name]
        deadline = time.monotonic() + timeout_seconds
        while not self._is_up(child):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready after {timeout_seconds:.0f} s")
            time.sleep(self.poll_seconds)

    def stop(self) -> None:
        """Stop every process, latest stage first: its stop signal, then SIGKILL after the grace."""
        self._stopping.set()
        with self._lock:
            children = list(self._children.values())
        for stage in range(self._stages - 1, -1, -1):
            self._stop_all([child for child in children if child.stage == stage])
        # Only now may the monitor end: its restarted children die with its thread.
        self._finished.set()
        if self._monitor is not None:
            self._monitor.join()

    def _launch_stage(self, specs: Sequence[ProcessSpec]) -> list[_Child]:
        with self._lock:
            stage = self._stages
            self._stages += 1
            children = []
            for spec in specs:
                if self._stopping.is_set():
                    raise StackStartError("stop requested while starting")
                if spec.name in self._children:
                    raise ValueError(f"two processes named {spec.name!r}")
                child = _Child(spec=spec, stage=stage, log_path=self.log_dir / f"{spec.name}.log")
                self._children[spec.name] = child
                self._spawn(child)
                children.append(child)
        return children

    def _spawn(self, child: _Child) -> None:
        child.log_path.parent.mkdir(parents=True, exist_ok=True)
        with child.log_path.open("ab") as output:
            child.process = subprocess.Popen(
                dying_with_parent(child.spec.argv),
                env={**os.environ, **child.spec.env},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=self.inherited_fds,
            )
        child.started_at = time.monotonic()
        log.info("started %s (pid %d), log %s", child.spec.name, child.process.pid, child.log_path)

    def _wait_ready(self, child: _Child) -> None:
        spec, process = child.spec, child.process
        assert process is not None
        deadline = time.monotonic() + spec.ready_timeout_seconds
        while not spec.ready():
            if self._stopping.is_set():
                raise StackStartError(f"stop requested while {spec.name} was starting")
            if _has_exited(process):
                raise StackStartError(
                    f"{spec.name} exited while starting ({exit_reason(process.wait())}); "
                    f"last lines of {child.log_path}:\n{log_tail(child.log_path)}"
                )
            if time.monotonic() > deadline:
                raise StackStartError(
                    f"{spec.name} not ready after {spec.ready_timeout_seconds:.0f} s; "
                    f"see {child.log_path}"
                )
            time.sleep(self.poll_seconds)
        log.info("%s is ready", spec.name)

    def _is_up(self, child: _Child) -> bool:
        with self._lock:
            process = child.process
            running = child.supervised and child.restart_at is None
        return running and process is not None and not _has_exited(process) and child.spec.ready()

    def _ensure_monitor(self) -> None:
        if self._monitor is None:
            self._monitor = threading.Thread(target=self._watch, name="supervisor", daemon=True)
            self._monitor.start()

    def _watch(self) -> None:
        while not self._finished.wait(self.poll_seconds):
            with self._lock:
                if self._stopping.is_set():
                    continue
                now = time.monotonic()
                for child in self._children.values():
                    if child.supervised:
                        self._supervise(child, now)

    def _supervise(self, child: _Child, now: float) -> None:
        if child.restart_at is not None:
            if now >= child.restart_at:
                self._restart(child)
            return
        assert child.process is not None
        if not _has_exited(child.process):
            if (
                child.failures
                and now - child.started_at >= self.restart_policy.stable_after_seconds
            ):
                child.failures = 0
            return
        # Whatever the process left behind in its group goes with it.
        _signal_group(child.process.pid, signal.SIGKILL)
        returncode = child.process.wait()
        child.failures += 1
        delay = self.restart_policy.backoff(child.failures)
        child.restart_at = now + delay
        log.warning(
            "%s (pid %d) terminated: %s; back-off %.1f s before restarting; last lines of %s:\n%s",
            child.spec.name,
            child.process.pid,
            exit_reason(returncode),
            delay,
            child.log_path,
            log_tail(child.log_path),
        )

    def _restart(self, child: _Child) -> None:
        child.restart_at = None
        child.restarts += 1
        try:
            self._spawn(child)
        except OSError as error:
            child.failures += 1
            child.restart_at = time.monotonic() + self.restart_policy.backoff(child.failures)
            log.error("cannot restart %s: %s", child.spec.name, error)
            return
        log.info("restarted %s (restart %d)", child.spec.name, child.restarts)

    def _stop_all(self, children: list[_Child]) -> None:
        running = [c.process for c in children if c.process and c.process.returncode is None]
        for child in children:
            if child.process in running:
                _signal_group(child.process.pid, child.spec.stop_signal)
        deadline = time.monotonic() + self.stop_grace_seconds
        for child in children:
            if child.process in running:
                self._reap(child.spec.name, child.process, deadline)

    def _reap(self, name: str, process: subprocess.Popen[bytes], deadline: float) -> None:
        while not _has_exited(process) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _has_exited(process):
            log.warning("%s did not stop within %.0f s: SIGKILL", name, self.stop_grace_seconds)
        # The leader is not reaped yet, so its group id is still ours: nothing in it survives.
        _signal_group(process.pid, signal.SIGKILL)
        log.info("stopped %s (%s)", name, exit_reason(process.wait()))


def _has_exited(process: subprocess.Popen[bytes]) -> bool:
    """Whether the process has exited, without reaping it.

    While the exited process is an unreaped zombie, its pid (= its process-group id)
    cannot be reused, so its group can still be signalled without hitting a stranger.
    """
    if process.returncode is not None:
        return True
    try:
        state = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return state is not None


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
