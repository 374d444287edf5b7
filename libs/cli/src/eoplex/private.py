"""Files and directories of the state directory that only the stack's user may open."""

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """`path` as a directory only its owner can list, enter or write (0700), made if missing."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Write a secret readable by its owner only (0600 from the start, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
