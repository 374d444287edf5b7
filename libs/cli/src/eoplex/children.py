"""Child processes that die with the process that started them.

On Linux a child asks the kernel for a signal (its stop signal, SIGTERM for most) when
its parent dies (`PR_SET_PDEATHSIG`), which covers a parent killed with SIGKILL. The
request is made by a tiny launcher, `python -c`, that then executes the real command
(the setting survives `execve`): a `preexec_fn` would make it between `fork` and `exec`,
which is unsafe in a process with threads. The kernel sends the signal when the *thread*
that forked the child ends, so children must be started from a thread that lives as long
as the parent wants them to.
"""

import os
import signal
import sys
from collections.abc import Sequence

# argv: the signal, the parent's pid, then the command. A parent that died before the
# prctl() would never signal us, so the launcher checks it is still its parent's child.
_LAUNCHER = """\
import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(1, int(sys.argv[1])) != 0:
    sys.exit("PR_SET_PDEATHSIG failed: " + os.strerror(ctypes.get_errno()))
if os.getppid() != int(sys.argv[2]):
    sys.exit("the parent exited before its child started")
os.execvp(sys.argv[3], sys.argv[3:])
"""


def dying_with_parent(
    argv: Sequence[str], *, death_signal: signal.Signals = signal.SIGTERM
) -> list[str]:
    """`argv` wrapped so that, once started by this process, it gets `death_signal` when we die.

    Off Linux, `argv` unchanged (the process group is then the only way to stop it).
    """
    if not sys.platform.startswith("linux"):
        return list(argv)
    # -I: no PYTHON* variables or user site; -S: no site-packages, it needs none.
    launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER]
    return [*launcher, str(int(death_signal)), str(os.getpid()), *argv]
