"""One stack at a time on a state directory: the lock `eoplex run` holds on it.

The lock is an exclusive `flock` on `<state>/eoplex.lock`. Every process the stack
starts inherits its descriptor, and a `flock` belongs to the open file they all share,
so the directory stays locked until the last of them has exited: a server that outlives
a supervisor killed with SIGKILL still holds it, and the next `eoplex run` refuses to
start a second server on the same data instead of racing it.
"""

import fcntl
import os
from pathlib import Path

from eoplex.supervisor import StackStartError

LOCK_FILE = "eoplex.lock"


class StateDirInUse(StackStartError):
    """Another live process holds the state directory."""


def lock_state_dir(state_dir: Path) -> int:
    """Lock `state_dir` (made, 0700, if missing) for this process; the lock's descriptor.

    Close the descriptor to release it, once every process that inherited it has exited.
    Raises `StateDirInUse` if another process holds it.
    """
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = state_dir / LOCK_FILE
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(descriptor, 32).decode(errors="replace").strip() or "unknown"
        os.close(descriptor)
        raise StateDirInUse(
            f"{state_dir} is in use by another eoplex run (pid {holder}) or by processes "
            "it started that are still stopping; stop it, or choose another OPENEO_STATE_DIR"
        ) from None
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"{os.getpid()}\n".encode())
    return descriptor
