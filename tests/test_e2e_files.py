"""End to end: the user workspace (`/files`) with the official `openeo` client against the
whole local stack: upload, list, download (also 50 MB and a byte range), delete, and the
ways it must refuse: bad paths, a full quota, another user's file.

Each test works as users of its own (made with `eoplex admin`), so what one writes
cannot make another pass or fail.
"""

import hashlib
import os
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import openeo
import pytest
from openeo.rest import OpenEoApiError

from eoplex.stack import LocalStack
from tests.openapi_validation import validate_error, validate_response
from tests.stack import admin

BIG_BYTES = 50 * 1024 * 1024


def new_user(stack: LocalStack, *, quota_bytes: int | None = None) -> tuple[str, str]:
    """A user of a tenant of its own (with the storage quota given); name and password."""
    name = f"files-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    quota = [] if quota_bytes is None else ["--max-storage-bytes", str(quota_bytes)]
    admin(stack, "tenants", "add", name, *quota)
    # `--password=...`: a generated password may start with "-".
    admin(stack, "users", "add", name, "--tenant", name, f"--password={password}")
    return name, password


def connect(stack: LocalStack, user: tuple[str, str]) -> openeo.Connection:
    connection = openeo.connect(stack.api_url)
    connection.authenticate_basic(*user)
    return connection


def bearer_of(connection: openeo.Connection) -> dict[str, str]:
    """The bearer header the client authenticates with, for plain HTTP calls."""
    token = connection.auth.bearer  # type: ignore[union-attr]
    return {"Authorization": f"Bearer {token}"}


def storage(connection: openeo.Connection) -> Any:
    me = connection.get("/me", expected_status=200).json()
    validate_response("GET", "/me", 200, me)
    return me["storage"]


def paths(connection: openeo.Connection) -> list[str]:
    listing = connection.get("/files", expected_status=200).json()
    validate_response("GET", "/files", 200, listing)
    return [file["path"] for file in listing["files"]]


def write_random(path: Path, size: int) -> str:
    """A file of `size` random bytes, written in pieces; its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as target:
        for start in range(0, size, 1024 * 1024):
            piece = os.urandom(min(1024 * 1024, size - start))
            digest.update(piece)
            target.write(piece)
    return digest.hexdigest()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for piece in iter(lambda: source.read(1024 * 1024), b""):
            digest.update(piece)
    return digest.hexdigest()


def test_upload_list_download_delete(local_stack: LocalStack, tmp_path: Path) -> None:
    connection = connect(local_stack, new_user(local_stack, quota_bytes=10_000))
    source = tmp_path / "fields.geojson"
    source.write_text('{"type": "FeatureCollection", "features": []}')

    uploaded = connection.upload_file(source, target="aoi/fields.geojson")
    assert str(uploaded.path) == "aoi/fields.geojson"
    validate_response("PUT", "/files/{path}", 200, uploaded.metadata)
    assert uploaded.metadata["size"] == source.stat().st_size

    listed = connection.list_files()
    assert [(str(f.path), f.metadata["size"]) for f in listed] == [
        ("aoi/fields.geojson", source.stat().st_size)
    ]
    assert storage(connection) == {"free": 10_000 - source.stat().st_size, "quota": 10_000}

    target = connection.get_file("aoi/fields.geojson").download(tmp_path / "back.geojson")
    assert target.read_bytes() == source.read_bytes()

    connection.get_file("aoi/fields.geojson").delete()
    assert connection.list_files() == []
    assert storage(connection) == {"free": 10_000, "quota": 10_000}
    with pytest.raises(OpenEoApiError) as raised:
        connection.get_file("aoi/fields.geojson").download(tmp_path / "gone")
    assert (raised.value.http_status_code, raised.value.code) == (404, "FileNotFound")


def rss_peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def reset_rss_peak(pid: int) -> bool:
    """Reset the process's peak RSS (Linux `clear_refs` 5); False where not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def test_a_50_mb_file_streams_both_ways(local_stack: LocalStack, tmp_path: Path) -> None:
    connection = connect(local_stack, new_user(local_stack))
    source = tmp_path / "big.bin"
    digest = write_random(source, BIG_BYTES)
    pids = {name: local_stack.pids[name] for name in ("files", "gateway")}
    for pid in pids.values():
        reset_rss_peak(pid)
    before = {name: rss_peak_kib(pid) for name, pid in pids.items()}

    started = time.perf_counter()
    connection.upload_file(source, target="big/big.bin")
    upload_seconds = time.perf_counter() - started
    started = time.perf_counter()
    target = connection.get_file("big/big.bin").download(tmp_path / "back.bin")
    download_seconds = time.perf_counter() - started

    assert sha256(target) == digest
    growth = {name: rss_peak_kib(pid) - before[name] for name, pid in pids.items()}
    mib = BIG_BYTES / 1024 / 1024
    print(
        f"\n50 MiB through the gateway: upload {mib / upload_seconds:.1f} MiB/s "
        f"({upload_seconds:.2f} s), download {mib / download_seconds:.1f} MiB/s "
        f"({download_seconds:.2f} s); peak RSS growth (KiB): {growth}; "
        f"peak RSS (KiB): { {name: rss_peak_kib(pid) for name, pid in pids.items()} }"
    )
    # Peak RSS is measured here, not checked (the first transfer of a process also loads
    # code and fills its allocator): services/files/tests/test_server.py bounds it.

    with source.open("rb") as whole:
        whole.seek(1_000_000)
        expected = whole.read(1000)
        whole.seek(BIG_BYTES - 10)
        tail = whole.read()
    url = f"{local_stack.api_url}files/big/big.bin"
    with httpx.Client(headers=bearer_of(connection), timeout=30) as client:
        ranged = client.get(url, headers={"Range": "bytes=1000000-1000999"})
        assert ranged.status_code == 206
        assert ranged.headers["Content-Range"] == f"bytes 1000000-1000999/{BIG_BYTES}"
        assert ranged.content == expected
        suffix = client.get(url, headers={"Range": "bytes=-10"})
        assert (suffix.status_code, suffix.content) == (206, tail)
        past = client.get(url, headers={"Range": f"bytes={BIG_BYTES}-"})
        assert past.status_code == 416
        assert past.headers["Content-Range"] == f"bytes */{BIG_BYTES}"
        validate_error(past.json())
    connection.get_file("big/big.bin").delete()


@pytest.mark.parametrize(
    "url_path",
    [
        "%2e%2e/x",
        "sub/%2E%2E/%2E%2E/x",
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
        "..%5C..%5Cwindows",
        "a%00b",
        "a%07b",
        "a%3Ab",
        "x" * 1100,
    ],
)
def test_bad_paths_are_refused_and_nothing_is_written(
    local_stack: LocalStack, url_path: str
) -> None:
    """Sent as written (`openeo` itself would resolve `..` and merge `//` first)."""
    connection = connect(local_stack, new_user(local_stack, quota_bytes=1000))
    url = f"{local_stack.api_url}files/{url_path}"
    with httpx.Client(headers=bearer_of(connection), timeout=30) as client:
        for method in ("PUT", "GET", "DELETE"):
            answer = client.request(method, url, content=b"payload")
            assert (answer.status_code, answer.json()["code"]) == (400, "FilePathInvalid")
            validate_error(answer.json())
    assert paths(connection) == []
    assert storage(connection) == {"free": 1000, "quota": 1000}


def test_what_the_client_makes_of_bad_paths(local_stack: LocalStack, tmp_path: Path) -> None:
    connection = connect(local_stack, new_user(local_stack, quota_bytes=1000))
    source = tmp_path / "x.txt"
    source.write_bytes(b"payload")
    # `openeo` resolves the `..` before sending: PUT /openeo/1.2/x, which is no route.
    with pytest.raises(OpenEoApiError) as raised:
        connection.upload_file(source, target="../x")
    assert (raised.value.http_status_code, raised.value.code) == (404, "NotFound")
    # ... and merges `//` (urljoin): "/etc/passwd" arrives as the caller's own "etc/passwd".
    stored = connection.upload_file(source, target="/etc/passwd")
    assert str(stored.path) == "etc/passwd"
    assert paths(connection) == ["etc/passwd"]


def test_the_storage_quota(local_stack: LocalStack, tmp_path: Path) -> None:
    connection = connect(local_stack, new_user(local_stack, quota_bytes=100_000))
    first, second = tmp_path / "first.bin", tmp_path / "second.bin"
    write_random(first, 60_000)
    write_random(second, 50_000)
    connection.upload_file(first, target="first.bin")
    with pytest.raises(OpenEoApiError) as raised:
        connection.upload_file(second, target="second.bin")
    assert (raised.value.http_status_code, raised.value.code) == (400, "StorageQuotaExceeded")
    assert paths(connection) == ["first.bin"]
    assert storage(connection) == {"free": 40_000, "quota": 100_000}
    # Replacing a file counts only the difference.
    connection.upload_file(second, target="first.bin")
    assert storage(connection) == {"free": 50_000, "quota": 100_000}


def test_another_users_file_is_out_of_reach(local_stack: LocalStack, tmp_path: Path) -> None:
    alice_user, bob_user = new_user(local_stack), new_user(local_stack)
    alice, bob = connect(local_stack, alice_user), connect(local_stack, bob_user)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"alice's secret")
    alice.upload_file(secret, target="secret.txt")

    for attempt in (
        "secret.txt",
        f"../{alice_user[0]}/secret.txt",
        f"%2E%2E/{alice_user[0]}/secret.txt",
    ):
        with pytest.raises(OpenEoApiError) as raised:
            bob.get_file(attempt).download(tmp_path / "stolen")
        assert raised.value.code in ("FileNotFound", "FilePathInvalid", "NotFound")
        assert "alice's secret" not in str(raised.value)
    with pytest.raises(OpenEoApiError) as raised:
        bob.get_file("secret.txt").delete()
    assert (raised.value.http_status_code, raised.value.code) == (404, "FileNotFound")
    assert paths(bob) == []
    assert not (tmp_path / "stolen").exists()
    assert (
        alice.get_file("secret.txt").download(tmp_path / "mine").read_bytes() == b"alice's secret"
    )
