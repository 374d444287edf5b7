"""`eoplex admin` finds the local stack through its state directory; the environment wins."""

import os
import stat
from pathlib import Path

import pytest

from eoplex.local_env import (
    forget_admin_env,
    local_stack_environment,
    local_stack_variables,
    save_admin_env,
    state_dir_of,
)


def test_the_recorded_variables_fill_in_what_the_environment_does_not_set(
    tmp_path: Path,
) -> None:
    save_admin_env(
        tmp_path,
        {"OPENEO_AUTH_ADDRESS": "127.0.0.1:4001", "OPENEO_FILES_ADDRESS": "127.0.0.1:4002"},
    )
    assert stat.S_IMODE((tmp_path / "admin-env.json").stat().st_mode) == 0o600
    environ = {"OPENEO_STATE_DIR": str(tmp_path), "OPENEO_AUTH_ADDRESS": "cluster:50061"}
    assert local_stack_variables(environ) == {"OPENEO_FILES_ADDRESS": "127.0.0.1:4002"}
    forget_admin_env(tmp_path)
    assert local_stack_variables(environ) == {}


def test_the_state_dir_defaults_to_that_of_make_run_and_the_environment_is_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert state_dir_of({}) == Path(".state")
    (tmp_path / "admin-env.json").write_text("not JSON")
    assert local_stack_variables({"OPENEO_STATE_DIR": str(tmp_path)}) == {}
    save_admin_env(tmp_path, {"OPENEO_AUTH_ADDRESS": "127.0.0.1:4001"})
    monkeypatch.delenv("OPENEO_AUTH_ADDRESS", raising=False)
    monkeypatch.setenv("OPENEO_STATE_DIR", str(tmp_path))
    with local_stack_environment():
        assert os.environ["OPENEO_AUTH_ADDRESS"] == "127.0.0.1:4001"
    assert "OPENEO_AUTH_ADDRESS" not in os.environ
