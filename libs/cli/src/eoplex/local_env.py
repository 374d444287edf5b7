"""How `eoplex admin` finds the local stack that `eoplex run` started.

The stack chooses free ports for its services at every start. Once it has chosen them it
writes `<state>/admin-env.json` (mode 0600: it holds the admin's S3 key and the NATS
login), the `OPENEO_*` variables an operator's tools need to reach it, and removes the
file when it stops. `eoplex admin` reads it in `OPENEO_STATE_DIR` (default `.state`, as
`eoplex run`); a variable set in the environment (`OPENEO_AUTH_ADDRESS` of a cluster,
...) wins over the file.
"""

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from eoplex.private import write_private

ADMIN_ENV_FILE = "admin-env.json"
DEFAULT_STATE_DIR = ".state"


def state_dir_of(environ: Mapping[str, str]) -> Path:
    """`OPENEO_STATE_DIR`, `.state` by default: where `eoplex run` keeps its state."""
    return Path(environ.get("OPENEO_STATE_DIR") or DEFAULT_STATE_DIR)


def save_admin_env(state_dir: Path, env: Mapping[str, str]) -> None:
    """Record the running stack's variables for `eoplex admin`."""
    write_private(state_dir / ADMIN_ENV_FILE, json.dumps(dict(env), indent=2))


def forget_admin_env(state_dir: Path) -> None:
    """The stack has stopped: nothing to find any more."""
    (state_dir / ADMIN_ENV_FILE).unlink(missing_ok=True)


def local_stack_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of the local stack in `environ`'s state directory that `environ` does
    not set itself; none when no stack has recorded any there."""
    try:
        saved = json.loads((state_dir_of(environ) / ADMIN_ENV_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict):
        return {}
    return {
        name: value
        for name, value in saved.items()
        if isinstance(value, str) and name.startswith("OPENEO_") and name not in environ
    }


@contextmanager
def local_stack_environment() -> Iterator[None]:
    """While inside, `os.environ` holds the local stack's variables it does not set itself."""
    added = local_stack_variables(os.environ)
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
