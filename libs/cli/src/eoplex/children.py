"""Child processes that die with the process that started them.

On Linux a child asks the kernel for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`),
which covers a parent killed with SIGKILL. The request is made by a tiny launcher,
`python -c`, that then executes the real command (the setting survives `execve`): a
`preexec_fn` would make it between `fork` and `exec`, which is unsafe in a process with
threads. The kernel sends the signal when the *thread* that forked the child ends, so
children must be started from a thread that lives as long as the parent wants them to.

SIGKILL, not SIGTERM: the signal only comes when the parent died without stopping its
children (an orderly stop signals each child and waits for it), and then it reaches every
child at once. Servers whose peers vanish at the same moment can hang in their graceful
shutdown (SeaweedFS's filer and volume server, SecantusDB and services were seen still
running a minute later); a kill is what a crash would do to them, and each of the stack's
stores survives one (WiredTiger's journal, JetStream's file store, LevelDB, SeaweedFS's
volumes).
"""

import os
import sys
from collections.abc import Sequence

# argv: the parent's pid, then the command. A parent that died before the prctl() would
# never signal us, so the launcher checks it is still its parent's child.
_LAUNCHER = """\
import ctypes, os, signal, sys
if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL) != 0:
    sys.exit("PR_SET_PDEATHSIG failed: " + os.strerror(ctypes.get_errno()))
if os.getppid() != int(sys.argv[1]):
    sys.exit("the parent exited before its child started")
os.execvp(sys.argv[2], sys.argv[2:])
"""


def dying_with_parent(argv: Sequence[str]) -> list[str]:
    """`argv` wrapped so that, once started by this process, it is killed when we die.

    Off Linux, `argv` unchanged (the process group is then the only way to stop it).
    """
    if not sys.platform.startswith("linux"):
        return list(argv)
    # -I: no PYTHON* variables or user site; -S: no site-packages, it needs none.
    launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER]
    return [*launcher, str(os.getpid()), *argv]
