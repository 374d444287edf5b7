"""Attacks of issue 13, Medium "Gateway limits" and "500 instead of 4xx", on a gateway of
the whole local stack.

The attacks: a 50 MB request header was answered 200; twenty connections each holding a
10 MB partial header raised the gateway's memory from 81 to 301 MiB; 1000 half-open
connections stayed open after 20 s. Bodies of 4-10 MiB (within the gateway's body limit,
beyond gRPC's 4 MiB message limit), JSON nested 900 deep, and integers of 4,300+ digits
(Python's limit for int/str conversion) were answered 500.

The gateway under attack is one of its own, started for this module on the local stack's
services, with limits small enough to reach on loopback with bounded counts: at most 50
connections, 2 s to send a request head, 2 s of idle keep-alive. Memory is measured only
as a bound well above normal; nothing here asserts how long anything took.
"""

import json
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from eoplex.stack import LocalStack, api_url, well_known_url
from tests.openapi_validation import validate_error
from tests.stack import another_gateway
from tests.test_e2e_files import new_user

MIB = 1024 * 1024
MAX_CONNECTIONS = 50
HEADER_TIMEOUT_SECONDS = 2
# A hang fails the test instead of the session.
SOCKET_TIMEOUT_SECONDS = 30.0
FILLER_CHUNK = b"a" * (64 * 1024)
# Logins come from an address of this module's own, apart from the other tests'
# login budgets.
CLIENT_ADDRESS = "127.0.14.1"


@dataclass(frozen=True)
class Gateway:
    """The gateway under attack: where it listens and its process id."""

    port: int
    pid: int

    @property
    def api_url(self) -> str:
        return api_url(self.port)


@pytest.fixture(scope="module")
def gateway(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway with small connection limits on the local stack's services."""
    limits = {
        "OPENEO_GATEWAY_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "OPENEO_GATEWAY_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT_SECONDS),
        "OPENEO_GATEWAY_KEEP_ALIVE_TIMEOUT_SECONDS": "2",
    }
    log = tmp_path_factory.mktemp("gateway-limits") / "gateway.log"
    name = "gateway-under-attack"
    with another_gateway(local_stack, name, env=limits, log_path=log) as (port, process):
        yield Gateway(port=port, pid=process.pid)


@pytest.fixture(scope="module")
def bearer(local_stack: LocalStack, gateway: Gateway) -> dict[str, str]:
    """The `Authorization` header of a user of a tenant of its own."""
    name, password = new_user(local_stack)
    transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS)
    with httpx.Client(base_url=gateway.api_url, transport=transport, timeout=60) as client:
        response = client.get("credentials/basic", auth=(name, password))
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer basic//{response.json()['access_token']}"}


@pytest.fixture
def client(gateway: Gateway, bearer: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.api_url, headers=bearer, timeout=120) as client:
        yield client


# --- raw HTTP on sockets ---------------------------------------------------------------


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def error(self) -> dict[str, Any]:
        """The openEO error in the body, checked against the spec's schema."""
        document = json.loads(self.body)
        validate_error(document)
        assert isinstance(document, dict)
        return document


def connect(gateway: Gateway) -> socket.socket:
    return socket.create_connection(("127.0.0.1", gateway.port), timeout=SOCKET_TIMEOUT_SECONDS)


def head_start(path: str = "/openeo/1.2/") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()


def send_until_answered(sock: socket.socket, data: bytes, *, filler_bytes: int) -> bool:
    """Send `data`, then `filler_bytes` of filler, stopping early once the server
    answered or closed; whether all of it went out."""
    sock.sendall(data)
    sent = 0
    try:
        while sent < filler_bytes:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                return False
            sock.sendall(FILLER_CHUNK[: filler_bytes - sent])
            sent += len(FILLER_CHUNK)
    except (BrokenPipeError, ConnectionResetError):
        return False
    return True


def read_response(sock: socket.socket) -> RawResponse | None:
    """The response the server sends next, or None if it closed without one."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines)
        }
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    except ConnectionResetError:
        return None
    return RawResponse(status=int(status_line.split()[1]), headers=headers, body=body)


def rss_bytes(pid: int) -> int:
    """The resident memory of process `pid`."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def wait_until_answered_or_closed(
    sockets: list[socket.socket], *, timeout_seconds: float
) -> dict[socket.socket, RawResponse | None]:
    """For each socket the server answered or closed within the timeout: its response
    (None: closed without one). Sockets still open after the timeout are left out."""
    outcome: dict[socket.socket, RawResponse | None] = {}
    deadline = time.monotonic() + timeout_seconds
    while len(outcome) < len(sockets) and time.monotonic() < deadline:
        waiting = [sock for sock in sockets if sock not in outcome]
        readable, _, _ = select.select(waiting, [], [], 0.5)
        for sock in readable:
            outcome[sock] = read_response(sock)
    return outcome


# --- Gateway limits ----------------------------------------------------------------------


def test_a_50_mb_header_is_refused_with_431(gateway: Gateway) -> None:
    """Replays: a 50 MB request header, answered 200."""
    with connect(gateway) as sock:
        if send_until_answered(sock, head_start() + b"X-Filler: ", filler_bytes=50 * MIB):
            sock.sendall(b"\r\n\r\n")
        response = read_response(sock)
    assert response is not None, "closed without an answer"
    assert response.status == 431, response
    assert response.error()["code"] == "BadRequest"
    assert response.headers.get("connection") == "close"


def test_twenty_connections_holding_10_mb_partial_headers_do_not_grow_gateway_memory(
    gateway: Gateway,
) -> None:
    """Replays: twenty connections each holding a 10 MB partial header, which raised the
    gateway's memory from 81 to 301 MiB."""
    before = rss_bytes(gateway.pid)
    sockets = [connect(gateway) for _ in range(20)]
    try:
        for sock in sockets:
            send_until_answered(sock, head_start() + b"X-Filler: ", filler_bytes=10 * MIB)
        grown = rss_bytes(gateway.pid) - before
        answers = wait_until_answered_or_closed(sockets, timeout_seconds=10)
    finally:
        for sock in sockets:
            sock.close()
    assert grown < 100 * MIB, f"the gateway grew by {grown / MIB:.0f} MiB"
    statuses = [answer.status if answer else None for answer in answers.values()]
    assert statuses == [431] * len(sockets), statuses


def test_half_open_connections_are_closed_after_the_header_timeout(gateway: Gateway) -> None:
    """Replays: half-open connections (1000 in the attack, 40 here, below the connection
    limit), which stayed open after 20 s: silent ones, ones that stopped in the middle of
    a request head, and kept-alive ones that did so after a first request."""
    silent = [connect(gateway) for _ in range(15)]
    partial = [connect(gateway) for _ in range(15)]
    for sock in partial:
        sock.sendall(head_start() + b"X-Slow: ")
    kept_alive = [connect(gateway) for _ in range(10)]
    for sock in kept_alive:
        sock.sendall(head_start("/.well-known/openeo") + b"\r\n")
        first = read_response(sock)
        assert first is not None and first.status == 200
        sock.sendall(head_start() + b"X-Slow: ")
    try:
        answers = wait_until_answered_or_closed(
            silent + partial + kept_alive, timeout_seconds=8 * HEADER_TIMEOUT_SECONDS
        )
    finally:
        for sock in silent + partial + kept_alive:
            sock.close()
    still_open = len(silent + partial + kept_alive) - len(answers)
    assert still_open == 0, f"{still_open} connections still open"
    assert all(answers[sock] is None for sock in silent)
    for sock in partial + kept_alive:
        answer = answers[sock]
        assert answer is not None and answer.status == 408, answer
        assert answer.error()["code"] == "RequestTimeout"


def test_connections_beyond_the_limit_are_refused_with_503(gateway: Gateway) -> None:
    """Replays: 1000 connections held open at once (80 here, 30 beyond the limit of 50),
    each of which the gateway kept."""
    sockets = [connect(gateway) for _ in range(MAX_CONNECTIONS + 30)]
    try:
        answers = wait_until_answered_or_closed(sockets, timeout_seconds=8 * HEADER_TIMEOUT_SECONDS)
        # Served again once the connections are gone.
        for sock in sockets:
            sock.close()
        with httpx.Client(timeout=SOCKET_TIMEOUT_SECONDS) as client:
            assert client.get(well_known_url(gateway.port)).status_code == 200
    finally:
        for sock in sockets:
            sock.close()
    refused = [answer for answer in answers.values() if answer is not None]
    assert len(answers) == len(sockets), f"{len(sockets) - len(answers)} still open"
    assert len(refused) >= 30, f"{len(refused)} refused"
    for answer in refused:
        assert answer.status == 503, answer
        assert answer.error()["code"] == "InfrastructureBusy"


# --- 500 instead of 4xx ------------------------------------------------------------------

# The endpoints that take a JSON body: the process itself, or a body with `process`.
BODY_ENDPOINTS = [
    ("POST", "validation", False),
    ("POST", "result", True),
    ("POST", "jobs", True),
    ("PUT", "process_graphs/gateway_limits", False),
]
ADD = {"sum": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}


def raw_process(graph: str, **members: str) -> str:
    """A process as JSON text, from its graph and other members as JSON text."""
    parts = [f'"process_graph": {graph}'] + [f'"{name}": {text}' for name, text in members.items()]
    return "{" + ", ".join(parts) + "}"


def raw_graph(process_id: str, arguments: str) -> str:
    """A graph of one node as JSON text, from its arguments as JSON text."""
    return f'{{"a": {{"process_id": "{process_id}", "arguments": {arguments}, "result": true}}}}'


def send_process(
    client: httpx.Client, method: str, path: str, process_text: str, *, wrapped: bool
) -> httpx.Response:
    """`method path` with the process (JSON text) as its body, in `{"process": ...}` if wrapped."""
    body = f'{{"process": {process_text}}}' if wrapped else process_text
    content_type = {"Content-Type": "application/json"}
    return client.request(method, path, content=body.encode(), headers=content_type)


def assert_openeo_4xx(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, response.text[:500]
    validate_error(response.json())


def assert_openeo_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text[:500]
    assert response.json()["code"] == code
    validate_error(response.json())


@pytest.mark.parametrize(("method", "path", "wrapped"), BODY_ENDPOINTS)
def test_a_body_of_6_mib_is_not_answered_500(
    client: httpx.Client, method: str, path: str, wrapped: bool
) -> None:
    """Replays: a body of 4-10 MiB, within the gateway's 10 MiB body limit but beyond
    gRPC's 4 MiB message limit, answered 500. It is an ordinary request."""
    process = {"process_graph": ADD, "description": "a" * (6 * MIB)}
    response = send_process(client, method, path, json.dumps(process), wrapped=wrapped)
    assert response.status_code < 300, response.text[:500]


@pytest.mark.parametrize(("method", "path", "wrapped"), BODY_ENDPOINTS)
def test_a_body_that_grows_beyond_the_grpc_limit_is_refused_with_413(
    client: httpx.Client, method: str, path: str, wrapped: bool
) -> None:
    """Replays: a body of 4-10 MiB answered 500, here one of 9.9 MiB whose numbers the
    gateway writes out in full when it passes the process on (`1e15` becomes
    `1000000000000000.0`), so that it grows past what a gRPC message may hold."""
    count = int(9.9 * MIB) // len("1e15,")
    process_text = raw_process(json.dumps(ADD), numbers="[" + "1e15," * count + "1]")
    response = send_process(client, method, path, process_text, wrapped=wrapped)
    assert_openeo_error(response, 413, "PayloadTooLarge")


def nested_list(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@pytest.mark.parametrize(("method", "path", "wrapped"), BODY_ENDPOINTS)
@pytest.mark.parametrize("where", ["argument", "member"])
def test_json_nested_900_deep_is_refused_with_400(
    client: httpx.Client, method: str, path: str, wrapped: bool, where: str
) -> None:
    """Replays: JSON nested 900 deep, in a process argument or in another member of the
    body, answered 500 by `POST /result` (a RecursionError in the executor)."""
    if where == "argument":
        arguments = f'{{"data": {nested_list(900)}, "index": 0}}'
        process_text = raw_process(raw_graph("array_element", arguments))
    else:
        process_text = raw_process(json.dumps(ADD), nested=nested_list(900))
    response = send_process(client, method, path, process_text, wrapped=wrapped)
    assert_openeo_error(response, 400, "BadRequest")


HUGE = "1" * 4400
RESULT_BODY = json.dumps({"process": {"process_graph": ADD}}).encode()


@pytest.mark.parametrize(
    "header",
    [f"bytes=0-{HUGE}", f"bytes={HUGE}-", f"bytes=-{HUGE}"],
    ids=["last", "first", "suffix"],
)
def test_a_range_with_an_integer_of_4400_digits_is_not_answered_500(
    client: httpx.Client, header: str
) -> None:
    """Replays: an integer with 4,300+ digits, here in the `Range` header of a download,
    answered 500 (Python refuses to convert it). Beyond the file, the range is
    unsatisfiable (416); a last byte beyond it means up to the end (206)."""
    assert client.put("files/huge-range.txt", content=b"0123456789").status_code == 200
    response = client.get("files/huge-range.txt", headers={"Range": header})
    if header.startswith(f"bytes={HUGE}"):
        assert response.status_code == 416, response.text[:500]
        validate_error(response.json())
    else:
        assert response.status_code == 206, response.text[:500]
        assert response.content == b"0123456789"


@pytest.mark.parametrize(("method", "path"), [("POST", "result"), ("PUT", "files/huge.json")])
def test_a_content_length_with_4400_digits_is_not_answered_500(
    gateway: Gateway, bearer: dict[str, str], method: str, path: str
) -> None:
    """Replays: an integer with 4,300+ digits, here a `Content-Length` of 4,400 digits
    (leading zeros, so the HTTP parser takes it), answered 500."""
    length = "0" * 4400 + str(len(RESULT_BODY))
    with connect(gateway) as sock:
        sock.sendall(
            f"{method} /openeo/1.2/{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {bearer['Authorization']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode()
            + RESULT_BODY
        )
        response = read_response(sock)
    assert response is not None
    assert response.status < 500, response


@pytest.mark.parametrize(("method", "path", "wrapped"), BODY_ENDPOINTS)
def test_an_integer_of_4400_digits_in_a_body_is_refused_with_400(
    client: httpx.Client, method: str, path: str, wrapped: bool
) -> None:
    """Replays: an integer with 4,300+ digits, here a process argument."""
    graph = raw_graph("add", f'{{"x": {HUGE}, "y": 1}}')
    response = send_process(client, method, path, raw_process(graph), wrapped=wrapped)
    assert_openeo_4xx(response)


def test_patching_a_job_field_by_field_beyond_what_it_may_store_is_refused_with_413(
    client: httpx.Client,
) -> None:
    """Replays: PATCH /jobs/{id} with a 9 MiB description, then a 9 MiB title, each within
    the body limit, made a job larger than MongoDB stores: a 500. The job stays as it was."""
    created = client.post("/jobs", json={"process": {"process_graph": ADD}})
    assert created.status_code == 201, created.text[:500]
    job = created.headers["OpenEO-Identifier"]
    try:
        assert client.patch(f"/jobs/{job}", json={"description": "d" * 9 * MIB}).status_code == 204
        response = client.patch(f"/jobs/{job}", json={"title": "t" * 9 * MIB})
        assert_openeo_error(response, 413, "PayloadTooLarge")
        assert client.get(f"/jobs/{job}").json().get("title") is None
    finally:
        client.delete(f"/jobs/{job}")
