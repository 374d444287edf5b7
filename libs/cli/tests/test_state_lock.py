"""One stack at a time on a state directory, for as long as any of its processes lives."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from eoplex.state_lock import StateDirInUse, lock_state_dir


def test_a_second_lock_on_a_held_state_dir_is_refused_with_the_holder(tmp_path: Path) -> None:
    held = lock_state_dir(tmp_path)
    try:
        with pytest.raises(StateDirInUse, match=f"{tmp_path} is in use .* \\(pid {os.getpid()}\\)"):
            lock_state_dir(tmp_path)
    finally:
        os.close(held)
    os.close(lock_state_dir(tmp_path))


def test_a_child_that_inherited_the_lock_holds_it_after_its_parent_let_go(
    tmp_path: Path,
) -> None:
    held = lock_state_dir(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
        pass_fds=(held,),
    )
    assert child.stdin is not None
    try:
        os.close(held)
        with pytest.raises(StateDirInUse):
            lock_state_dir(tmp_path)
    finally:
        child.stdin.close()
        child.wait()
    os.close(lock_state_dir(tmp_path))


def test_a_new_state_dir_is_private(tmp_path: Path) -> None:
    state = tmp_path / "new" / "state"
    os.close(lock_state_dir(state))
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
