"""`/files` and `/files/{path}` through the gateway, against the real files service (on
the session's S3) and the test auth service (alice: quota 1000 bytes, bob: none)."""

import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from minio import Minio

from conftest import Infrastructure
from eoplex.servers import free_port
from eoplex_common.rpc import GrpcService
from eoplex_common.s3 import connect_s3
from eoplex_common.settings import InfrastructureSettings, ServiceAddresses
from eoplex_gateway.app import create_app
from eoplex_gateway.endpoints import served_endpoints
from eoplex_gateway.routes.files import UPLOAD_PIECE_BYTES, upload_pieces
from eoplex_gateway.settings import GatewaySettings
from eoplex_gateway.streaming import ByteRange, parse_range
from eoplex_proto.openeo.auth.v1 import auth_pb2_grpc
from services.files.tests.workspace import MAX_FILE_BYTES, FilesUnderTest, start_files_service
from tests.openapi_validation import validate_error, validate_response

from .conftest import (
    MAX_BODY_BYTES,
    QUOTA_BYTES,
    Bearer,
    FakeAuthServicer,
    http_scope,
    serving,
)

API = "/openeo/1.2"


@pytest.fixture
async def files(infrastructure: Infrastructure) -> AsyncIterator[FilesUnderTest]:
    """The real files service (limit `MAX_FILE_BYTES`) on a bucket of its own."""
    s3: Minio = connect_s3(InfrastructureSettings(**infrastructure.env))
    server, under_test = await start_files_service(s3=s3)
    try:
        yield under_test
    finally:
        await under_test.channel.close()
        await server.stop()


@pytest.fixture
async def client(files: FilesUnderTest) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway (small general body limit) over the test auth and the real files service."""
    auth = GrpcService(name="auth", listen=f"127.0.0.1:{free_port()}", grace_seconds=0.1)
    auth_pb2_grpc.add_AuthServiceServicer_to_server(FakeAuthServicer(), auth.server)
    await auth.start()
    addresses = ServiceAddresses(auth_address=auth.listen, files_address=files.address)
    settings = GatewaySettings(max_body_bytes=MAX_BODY_BYTES, rpc_timeout_seconds=5)
    app = create_app(settings=settings, addresses=addresses)
    try:
        async with serving(app) as c:
            c.app = app  # type: ignore[attr-defined]
            yield c
    finally:
        await auth.stop()


async def put(
    client: httpx.AsyncClient, bearer: Bearer, user: str, path: str, data: Any
) -> httpx.Response:
    return await client.put(f"{API}/files/{path}", content=data, headers=bearer(user))


async def listed(client: httpx.AsyncClient, bearer: Bearer, user: str) -> list[str]:
    response = await client.get(f"{API}/files", headers=bearer(user))
    assert response.status_code == 200, response.text
    return [file["path"] for file in response.json()["files"]]


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    validate_error(response.json())
    assert response.json()["code"] == code, response.text


async def test_upload_list_download_delete(client: httpx.AsyncClient, bearer: Bearer) -> None:
    # Larger than the general body limit: uploads are exempt from it.
    data = os.urandom(3 * 1024 * 1024 + 7)
    uploaded = await put(client, bearer, "bob", "aoi/fields.geojson", data)
    assert uploaded.status_code == 200, uploaded.text
    validate_response("PUT", "/files/{path}", 200, uploaded.json())
    assert uploaded.json()["path"] == "aoi/fields.geojson"
    assert uploaded.json()["size"] == len(data)

    listing = await client.get(f"{API}/files", headers=bearer("bob"))
    validate_response("GET", "/files", 200, listing.json())
    assert listing.json()["files"] == [uploaded.json()]
    assert listing.json()["links"] == [
        {"href": "http://testserver/openeo/1.2/files", "rel": "self", "type": "application/json"}
    ]

    downloaded = await client.get(f"{API}/files/aoi/fields.geojson", headers=bearer("bob"))
    assert downloaded.status_code == 200
    assert downloaded.content == data
    assert downloaded.headers["Content-Type"] == "application/octet-stream"
    assert downloaded.headers["Content-Length"] == str(len(data))
    assert downloaded.headers["Accept-Ranges"] == "bytes"
    assert downloaded.headers["Last-Modified"].endswith(" GMT")

    deleted = await client.delete(f"{API}/files/aoi/fields.geojson", headers=bearer("bob"))
    assert deleted.status_code == 204
    assert await listed(client, bearer, "bob") == []
    gone = await client.get(f"{API}/files/aoi/fields.geojson", headers=bearer("bob"))
    assert_error(gone, 404, "FileNotFound")
    again = await client.delete(f"{API}/files/aoi/fields.geojson", headers=bearer("bob"))
    assert_error(again, 404, "FileNotFound")


async def test_a_chunked_upload(client: httpx.AsyncClient, bearer: Bearer) -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"0123456789" * 1000

    uploaded = await put(client, bearer, "bob", "chunked.txt", body())
    assert "content-length" not in uploaded.request.headers
    assert uploaded.json()["size"] == 100_000


async def test_url_encoded_names(client: httpx.AsyncClient, bearer: Bearer) -> None:
    encoded = "europe/%C3%B6sterreich/m%C3%BCnster%20x.shp"
    uploaded = await put(client, bearer, "bob", encoded, b"shape")
    assert uploaded.json()["path"] == "europe/österreich/münster x.shp"
    assert await listed(client, bearer, "bob") == ["europe/österreich/münster x.shp"]
    downloaded = await client.get(f"{API}/files/{encoded}", headers=bearer("bob"))
    assert downloaded.content == b"shape"


async def test_listing_is_paged(client: httpx.AsyncClient, bearer: Bearer) -> None:
    for name in ("c.txt", "a.txt", "b/x.txt", "d.txt", "e.txt"):
        await put(client, bearer, "bob", name, name.encode())
    seen: list[str] = []
    url: str | None = f"{API}/files?limit=2"
    while url:
        page = await client.get(url, headers=bearer("bob"))
        validate_response("GET", "/files", 200, page.json())
        assert len(page.json()["files"]) <= 2
        seen += [file["path"] for file in page.json()["files"]]
        following = [link["href"] for link in page.json()["links"] if link["rel"] == "next"]
        url = following[0] if following else None
    assert seen == ["a.txt", "b/x.txt", "c.txt", "d.txt", "e.txt"]
    bad = await client.get(f"{API}/files?token=forged", headers=bearer("bob"))
    assert_error(bad, 400, "BadRequest")


@pytest.mark.parametrize(
    ("range_header", "status", "content_range", "expected"),
    [
        ("bytes=0-9", 206, "bytes 0-9/100", slice(0, 10)),
        ("bytes=90-", 206, "bytes 90-99/100", slice(90, 100)),
        ("bytes=-10", 206, "bytes 90-99/100", slice(90, 100)),
        ("bytes=-1000", 206, "bytes 0-99/100", slice(0, 100)),
        ("bytes=95-200", 206, "bytes 95-99/100", slice(95, 100)),
        ("bytes=99-99", 206, "bytes 99-99/100", slice(99, 100)),
        ("BYTES = 1 - 2", 206, "bytes 1-2/100", slice(1, 3)),
        ("bytes=abc", 200, None, slice(0, 100)),
        ("bytes=5-2", 200, None, slice(0, 100)),
        ("bytes=0-1,5-6", 200, None, slice(0, 100)),
        ("items=0-1", 200, None, slice(0, 100)),
        ("bytes=-", 200, None, slice(0, 100)),
    ],
)
async def test_ranges(
    client: httpx.AsyncClient,
    bearer: Bearer,
    range_header: str,
    status: int,
    content_range: str | None,
    expected: slice,
) -> None:
    data = os.urandom(100)
    await put(client, bearer, "bob", "r.bin", data)
    headers = {**bearer("bob"), "Range": range_header}
    response = await client.get(f"{API}/files/r.bin", headers=headers)
    assert response.status_code == status
    assert response.headers.get("Content-Range") == content_range
    assert response.content == data[expected]
    assert response.headers["Content-Length"] == str(len(data[expected]))


@pytest.mark.parametrize("range_header", ["bytes=100-", "bytes=100-200", "bytes=-0"])
async def test_unsatisfiable_ranges(
    client: httpx.AsyncClient, bearer: Bearer, range_header: str
) -> None:
    await put(client, bearer, "bob", "r.bin", os.urandom(100))
    headers = {**bearer("bob"), "Range": range_header}
    response = await client.get(f"{API}/files/r.bin", headers=headers)
    assert_error(response, 416, "RangeNotSatisfiable")
    assert response.headers["Content-Range"] == "bytes */100"


async def test_if_range(client: httpx.AsyncClient, bearer: Bearer) -> None:
    data = os.urandom(100)
    await put(client, bearer, "bob", "r.bin", data)
    whole = await client.get(f"{API}/files/r.bin", headers=bearer("bob"))
    current = {**bearer("bob"), "Range": "bytes=0-0", "If-Range": whole.headers["Last-Modified"]}
    assert (await client.get(f"{API}/files/r.bin", headers=current)).status_code == 206
    stale = {**current, "If-Range": "Thu, 01 Jan 1970 00:00:00 GMT"}
    response = await client.get(f"{API}/files/r.bin", headers=stale)
    assert (response.status_code, response.content) == (200, data)


async def test_head_answers_the_headers_of_the_whole_file(
    client: httpx.AsyncClient, bearer: Bearer
) -> None:
    data = os.urandom(100)
    await put(client, bearer, "bob", "h.bin", data)
    whole = await client.get(f"{API}/files/h.bin", headers=bearer("bob"))
    head = await client.head(f"{API}/files/h.bin", headers=bearer("bob"))
    assert (head.status_code, head.content) == (200, b"")
    for name in ("Content-Length", "Content-Type", "Accept-Ranges", "Last-Modified"):
        assert head.headers[name] == whole.headers[name]
    missing = await client.head(f"{API}/files/none.bin", headers=bearer("bob"))
    assert missing.status_code == 404
    assert (await client.head(f"{API}/files/h.bin")).status_code == 401


def test_parse_range() -> None:
    assert parse_range("bytes=0-") == ByteRange(0, None)
    assert parse_range("bytes=-5") == ByteRange(None, 5)
    assert parse_range(None) is None
    assert ByteRange(None, 5).resolve(0) is None
    assert ByteRange(0, None).resolve(0) is None
    assert ByteRange(3, 3).resolve(4) == (3, 1)


@pytest.mark.parametrize(
    "path",
    [
        "%2e%2e/x",
        "a/%2E%2E/%2E%2E/x",
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
        "a%5Cb",
        "%2e%2e%5Cx",
        "a%00b",
        "a%0Db",
        "a%1Bb",
        "c:x",
        "a%22b",
        # Not UTF-8: decoded, it would be another name (U+FFFD) than the one sent.
        "%FF%FE",
        "a/%C3",
        "x" * 1100,
        "a/" + "y" * 300,
        "",
    ],
)
async def test_invalid_paths(client: httpx.AsyncClient, bearer: Bearer, path: str) -> None:
    await assert_refused(client, bearer, path, 400, "FilePathInvalid")


async def test_a_line_feed_matches_no_route(client: httpx.AsyncClient, bearer: Bearer) -> None:
    # Starlette's `path` parameters stop at a line feed: the route does not match.
    await assert_refused(client, bearer, "a%0Ab", 404, "NotFound")


async def assert_refused(
    client: httpx.AsyncClient, bearer: Bearer, path: str, status: int, code: str
) -> None:
    for method in ("PUT", "GET", "DELETE"):
        url = f"{API}/files/{path}"
        answer = await client.request(method, url, content=b"data", headers=bearer("bob"))
        assert_error(answer, status, code)
    assert await listed(client, bearer, "bob") == []


async def test_another_users_file_is_not_found(
    client: httpx.AsyncClient, bearer: Bearer, files: FilesUnderTest
) -> None:
    await put(client, bearer, "alice", "secret.txt", b"alice's")
    download = await client.get(f"{API}/files/secret.txt", headers=bearer("bob"))
    assert_error(download, 404, "FileNotFound")
    assert "alice" not in download.text
    assert_error(
        await client.delete(f"{API}/files/secret.txt", headers=bearer("bob")), 404, "FileNotFound"
    )
    assert await listed(client, bearer, "bob") == []
    assert files.keys() == ["t1/alice/secret.txt"]


async def test_a_file_over_the_size_limit(
    client: httpx.AsyncClient, bearer: Bearer, files: FilesUnderTest
) -> None:
    await put(client, bearer, "bob", "big.bin", b"old")
    data = os.urandom(MAX_FILE_BYTES + 1)
    announced = await put(client, bearer, "bob", "big.bin", data)
    assert_error(announced, 400, "FileSizeExceeded")

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 1024 * 1024):
            yield data[start : start + 1024 * 1024]

    counted = await put(client, bearer, "bob", "big.bin", chunked())
    assert_error(counted, 400, "FileSizeExceeded")
    assert (await client.get(f"{API}/files/big.bin", headers=bearer("bob"))).content == b"old"
    assert files.keys() == ["t1/bob/big.bin"]


async def test_the_storage_quota(client: httpx.AsyncClient, bearer: Bearer) -> None:
    assert (await put(client, bearer, "alice", "a.bin", os.urandom(600))).status_code == 200
    over = await put(client, bearer, "alice", "b.bin", os.urandom(QUOTA_BYTES - 600 + 1))
    assert_error(over, 400, "StorageQuotaExceeded")
    assert await listed(client, bearer, "alice") == ["a.bin"]
    me = await client.get(f"{API}/me", headers=bearer("alice"))
    assert me.json()["storage"] == {"free": QUOTA_BYTES - 600, "quota": QUOTA_BYTES}
    # Replacing a file frees its bytes first.
    assert (await put(client, bearer, "alice", "a.bin", os.urandom(1000))).status_code == 200
    me = await client.get(f"{API}/me", headers=bearer("alice"))
    assert me.json()["storage"] == {"free": 0, "quota": QUOTA_BYTES}


async def test_a_client_that_disconnects_mid_upload_keeps_nothing(
    client: httpx.AsyncClient, bearer: Bearer, files: FilesUnderTest
) -> None:
    """Raw ASGI: a body of unknown length, then the client goes away."""
    app: FastAPI = client.app  # type: ignore[attr-defined]
    await put(client, bearer, "bob", "kept.bin", b"old")
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": os.urandom(1024 * 1024), "more_body": True},
        {"type": "http.request", "body": os.urandom(1024 * 1024), "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    authorization = bearer("bob")["Authorization"].encode()
    headers = [(b"host", b"testserver"), (b"authorization", authorization)]
    scope = http_scope("PUT", f"{API}/files/kept.bin", headers)
    await app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert (await client.get(f"{API}/files/kept.bin", headers=bearer("bob"))).content == b"old"
    assert files.keys() == ["t1/bob/kept.bin"]


async def test_endpoints_list_the_files_routes(client: httpx.AsyncClient) -> None:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    endpoints = {e.path: list(e.methods) for e in served_endpoints(app.routes)}
    assert endpoints["/files"] == ["GET"]
    assert endpoints["/files/{path}"] == ["DELETE", "GET", "PUT"]


async def test_a_body_reaches_the_files_service_in_pieces_of_bounded_size() -> None:
    # Well below gRPC's 4 MiB message limit, whatever pieces the HTTP server hands us.
    async def body(*sizes: int) -> AsyncIterator[bytes]:
        for size in sizes:
            yield b"x" * size

    async def sizes(*given: int) -> list[int]:
        return [len(piece) async for piece in upload_pieces(body(*given))]

    piece = UPLOAD_PIECE_BYTES
    assert await sizes(5 * piece // 2) == [piece, piece, piece // 2]
    assert await sizes(*[1000] * 3) == [3000]
    assert await sizes(piece - 1, 2) == [piece, 1]
    assert await sizes() == []
