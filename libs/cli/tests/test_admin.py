"""`eoplex admin ...` against the auth service running in-process on a real MongoDB."""

import io
import json
from collections.abc import AsyncIterator

import pytest

from conftest import Infrastructure
from eoplex.admin import render_table
from eoplex.servers import free_port
from eoplex_proto.openeo.auth.v1 import auth_pb2
from services.auth.tests.auth_server import RunningAuth, auth_settings, running_auth
from tests.admin_command import admin


@pytest.fixture
async def auth(
    infrastructure: Infrastructure, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningAuth]:
    settings = auth_settings()
    async with running_auth(mongodb_url=infrastructure.mongodb_url, settings=settings) as running:
        monkeypatch.setenv("OPENEO_AUTH_ADDRESS", running.address)
        yield running


async def login(auth: RunningAuth, name: str, password: str) -> str:
    request = auth_pb2.IssueBasicTokenRequest(username=name, password=password, client="cli")
    return str((await auth.auth.IssueBasicToken(request)).user_id)


async def test_tenants_are_added_listed_and_their_quota_changed(
    auth: RunningAuth, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = await admin(
        capsys, "tenants", "add", "school", "--title", "A school", "--max-concurrent-jobs", "3"
    )
    assert status == 0
    assert out.splitlines()[0].split() == [
        "TENANT_ID",
        "TITLE",
        "MAX_CONCURRENT_JOBS",
        "MAX_STORAGE_BYTES",
        "MAX_SYNC_PIXELS",
    ]
    assert out.splitlines()[1].split() == ["school", "A", "school", "3", "0", "0"]
    status, out, _ = await admin(capsys, "tenants", "set-quota", "school", "--max-sync-pixels", "9")
    assert status == 0
    status, out, _ = await admin(capsys, "tenants", "list", "--json")
    tenants = {tenant["tenant_id"]: tenant for tenant in json.loads(out)}
    assert set(tenants) == {"default", "school"}
    assert tenants["school"] == {
        "tenant_id": "school",
        "title": "A school",
        "max_concurrent_jobs": 3,
        "max_storage_bytes": 0,
        "max_sync_pixels": 9,
    }


async def test_users_are_added_listed_and_disabled(
    auth: RunningAuth, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await admin(capsys, "tenants", "add", "lab")
    status, out, _ = await admin(
        capsys, "users", "add", "ada", "--tenant", "lab", "--role", "admin", "--generate-password"
    )
    assert status == 0
    password = out.splitlines()[-1].removeprefix("password: ")
    ada_id = await login(auth, "ada", password)
    monkeypatch.setattr("sys.stdin", io.StringIO("from stdin 1\n"))
    status, out, _ = await admin(capsys, "users", "add", "bob", "--tenant", "lab", "--json")
    assert status == 0
    bob = json.loads(out)
    assert (bob["name"], bob["roles"], bob["disabled"]) == ("bob", ["user"], False)
    assert await login(auth, "bob", "from stdin 1") == bob["user_id"]
    status, out, _ = await admin(capsys, "users", "list", "--tenant", "lab")
    rows = [line.split() for line in out.splitlines()]
    assert [row[:5] for row in rows[1:]] == [
        ["ada", "lab", "admin", "False", "basic"],
        ["bob", "lab", "user", "False", "basic"],
    ]
    assert rows[1][5] == ada_id
    status, out, _ = await admin(capsys, "users", "disable", "ada", "--json")
    assert (status, json.loads(out)["disabled"]) == (0, True)
    status, out, _ = await admin(
        capsys, "users", "set-password", "bob", "--password", "another one", "--json"
    )
    assert status == 0
    assert await login(auth, "bob", "another one") == bob["user_id"]


async def test_errors_are_printed_with_their_code(
    auth: RunningAuth, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = await admin(
        capsys, "users", "add", "eve", "--tenant", "nope", "--password", "12345678"
    )
    assert (status, out) == (1, "")
    assert err.startswith("error: BadRequest: ")
    assert "tenant 'nope' does not exist" in err
    status, _, err = await admin(capsys, "users", "disable", "nobody")
    assert (status, err.split(":")[:2]) == (1, ["error", " NotFound"])


async def test_an_unreachable_service_is_reported(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    address = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("OPENEO_AUTH_ADDRESS", address)
    status, out, err = await admin(capsys, "tenants", "list")
    assert (status, out) == (1, "")
    assert err.startswith("error: ServiceUnavailable: ")
    assert f"is the auth service running at {address}?" in err


def test_tables_are_aligned() -> None:
    table = render_table(
        [{"a": "x", "b": ["r1", "r2"]}, {"a": "longer", "b": []}], columns=("a", "b")
    )
    assert table.splitlines() == ["A       B", "x       r1,r2", "longer"]
