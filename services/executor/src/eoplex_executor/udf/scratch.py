"""Scratch directories of executions, and the UDF processes started in them.

Every execution (a synchronous request, a batch job) works in a directory of its own
under the executor's scratch root, made by `ScratchDir.claim` and locked (`flock`) by the
process that made it for as long as it lives. `ScratchDir.remove` ends what the
execution's UDF processes left running and removes the directory; a run that was killed
cannot, so `sweep` removes every directory whose owner is gone (the executor sweeps when
`serve` and each `run-job` start).

UDF processes are recorded in their execution's directory (`record_udf_group`, a file
per process group, outside the UDF's own directory where it cannot forge one), so
whoever removes the directory ends them, whether or not the process that started them
still lives: every process of the group (a UDF process cannot leave its group), and
every process of its own user where it has one.
"""

import fcntl
import logging
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

_LOCK = ".lock"
_GROUPS = ".udf-groups"


@dataclass
class ScratchDir:
    """An execution's scratch directory, locked while its owner lives."""

    path: Path
    _lock: IO[bytes]

    @classmethod
    def claim(cls, root: Path, *, prefix: str) -> "ScratchDir":
        """A new directory below `root` (made if missing), locked by this process."""
        root.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
        lock = (path / _LOCK).open("wb")
        fcntl.flock(lock, fcntl.LOCK_EX)
        return cls(path, lock)

    def remove(self) -> None:
        """End the UDF processes started here and remove the directory (idempotent)."""
        stop_udf_groups(self.path)
        shutil.rmtree(self.path, ignore_errors=True)
        self._lock.close()


def sweep(root: Path) -> int:
    """Remove the scratch directories below `root` whose owners are gone (after ending
    their UDF processes); how many."""
    if not root.is_dir():
        return 0
    removed = 0
    for path in root.iterdir():
        if not path.is_dir() or _held(path):
            continue
        stop_udf_groups(path)
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    if removed:
        log.info("removed %d scratch directories of ended runs below %s", removed, root)
    return removed


def _held(path: Path) -> bool:
    try:
        with (path / _LOCK).open("rb") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False  # no lock file: not made by `claim`, or half removed
    return False


def record_udf_group(scratch_dir: Path, pid: int, uid: int | None) -> Path:
    """Note the UDF process group `pid` (running as `uid`, None: the executor's user)."""
    groups = scratch_dir / _GROUPS
    groups.mkdir(mode=0o700, exist_ok=True)
    record = groups / str(pid)
    record.write_text(f"{'' if uid is None else uid} {start_time(pid)}")
    return record


def stop_udf_groups(scratch_dir: Path) -> None:
    """SIGKILL every UDF process recorded in `scratch_dir`, and forget them."""
    groups = scratch_dir / _GROUPS
    if not groups.is_dir():
        return
    for record in groups.iterdir():
        uid, _, started = record.read_text().partition(" ")
        pid = int(record.name)
        # Linux gives no process a pid that still names a process group or session, and
        # a UDF process's descendants cannot leave its group. So another process with
        # this pid means the group is gone, and the pid (and its user) someone else's.
        recorded = int(started) if started.strip().isdigit() else None
        if recorded is None or start_time(pid) in (None, recorded):
            stop_udf_group(pid, int(uid) if uid else None)
        record.unlink(missing_ok=True)


def start_time(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot), None when there is none."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def stop_udf_group(pid: int, uid: int | None) -> None:
    """SIGKILL the process group `pid` and, where it has one, every process of `uid`.
    The caller makes sure the group is the UDF's: its leader not yet reaped, or no other
    process with its pid (`stop_udf_groups`)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if uid is None or uid == os.getuid():
        return
    for name in os.listdir("/proc"):
        if name.isdigit() and _real_uid(name) == uid:
            try:
                os.kill(int(name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _real_uid(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None
