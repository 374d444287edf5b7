"""Connection limits (`eoplex_gateway.connections`), on a real uvicorn on loopback.

A small ASGI app answers each request with the length of its body (after `delay`
seconds for `/slow`), so that what the protocol lets through is visible; raw sockets
send what no HTTP client would.
"""

import asyncio
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

from eoplex_common.errors import BadRequest, RequestTimeout
from eoplex_gateway.connections import ConnectionLimits, bounded_protocol, refusal

LIMITS = ConnectionLimits(max_header_bytes=4096, header_timeout_seconds=0.5, max_connections=3)
TIMEOUT_SECONDS = 10.0


async def echo_length(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/slow":
        await asyncio.sleep(1.5)
    answer = str(len(body)).encode()
    headers = [(b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


@contextmanager
def serving(limits: ConnectionLimits = LIMITS, *, keep_alive_seconds: int = 5) -> Iterator[int]:
    """uvicorn with the bounded protocol on a free loopback port, in a thread."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        echo_length,
        http=bounded_protocol(limits),
        ws="none",
        timeout_keep_alive=keep_alive_seconds,
        lifespan="off",
        log_config=None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]})
    thread.start()
    try:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(TIMEOUT_SECONDS)
        listener.close()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_SECONDS)


def request(path: str = "/", *, body: bytes = b"", extra: str = "") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def responses(sock: socket.socket, count: int = 1) -> list[tuple[int, bytes]]:
    """The next `count` responses: status and body; fewer if the server closed."""
    data = b""
    answers: list[tuple[int, bytes]] = []
    while len(answers) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return answers
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(line[15:]) for line in lines if line.lower().startswith("content-length"))
        while len(data) < length:
            data += sock.recv(65536)
        answers.append((int(lines[0].split()[1]), data[:length]))
        data = data[length:]
    return answers


def closed(sock: socket.socket) -> bool:
    """Whether the server ended the connection (reading gives end of file or a reset)."""
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def test_a_request_within_the_limits_is_served() -> None:
    with serving() as port, connect(port) as sock:
        sock.sendall(request(body=b"x" * 100_000))
        assert responses(sock) == [(200, b"100000")]


def test_a_head_above_the_limit_is_answered_431_and_the_connection_closed() -> None:
    with serving() as port, connect(port) as sock:
        sock.sendall(request(extra=f"X-Filler: {'a' * 5000}\r\n"))
        [(status, body)] = responses(sock)
        assert closed(sock)
    assert status == 431
    assert json.loads(body)["code"] == "BadRequest"


def test_a_head_above_the_limit_is_refused_before_it_ends() -> None:
    with serving() as port, connect(port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nX-Filler: " + b"a" * 8192)
        [(status, _)] = responses(sock)
    assert status == 431


def test_pipelined_and_kept_alive_requests_are_served() -> None:
    with serving() as port, connect(port) as sock:
        sock.sendall(request(body=b"ab") + request(body=b"abc") + request("/slow", body=b"a"))
        assert responses(sock, 3) == [(200, b"2"), (200, b"3"), (200, b"1")]
        # Longer than the header timeout, but the connection is kept alive, not asked.
        time.sleep(2 * LIMITS.header_timeout_seconds)
        sock.sendall(request(body=b"abcd"))
        assert responses(sock) == [(200, b"4")]


def test_a_slow_answer_is_not_cut_by_the_header_timeout() -> None:
    with serving() as port, connect(port) as sock:
        sock.sendall(request("/slow"))
        assert responses(sock) == [(200, b"0")]


def test_a_connection_that_sends_nothing_is_closed_without_an_answer() -> None:
    with serving() as port, connect(port) as sock:
        assert closed(sock)


@pytest.mark.parametrize("first_request", [False, True])
def test_a_head_that_stops_coming_is_answered_408(first_request: bool) -> None:
    with serving() as port, connect(port) as sock:
        if first_request:
            sock.sendall(request())
            assert responses(sock) == [(200, b"0")]
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        [(status, body)] = responses(sock)
        assert closed(sock)
    assert status == 408
    assert json.loads(body)["code"] == "RequestTimeout"


def test_a_head_dribbled_byte_by_byte_is_answered_408() -> None:
    with serving() as port, connect(port) as sock:
        for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"1" * 1000:
            if select.select([sock], [], [], 0.05)[0]:
                break
            sock.sendall(bytes([byte]))
        [(status, _)] = responses(sock)
    assert status == 408


def test_connections_beyond_the_limit_are_answered_503_until_one_closes() -> None:
    with serving(keep_alive_seconds=30) as port:
        held = [connect(port) for _ in range(LIMITS.max_connections)]
        for sock in held:
            sock.sendall(request())
            assert responses(sock) == [(200, b"0")]
        with connect(port) as extra:
            [(status, body)] = responses(extra)
        assert status == 503
        assert json.loads(body)["code"] == "InfrastructureBusy"
        held.pop().close()
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            with connect(port) as again:
                again.sendall(request())
                if responses(again) == [(200, b"0")]:
                    break
            assert time.monotonic() < deadline, "no connection accepted after one closed"
            time.sleep(0.05)
        for sock in held:
            sock.close()


def test_an_idle_kept_alive_connection_is_closed() -> None:
    with serving(keep_alive_seconds=1) as port, connect(port) as sock:
        sock.sendall(request())
        assert responses(sock) == [(200, b"0")]
        assert closed(sock)


def test_a_refusal_is_a_whole_response_with_an_openeo_body() -> None:
    raw = refusal(BadRequest(reason="too large"), status=431)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 431 Request Header Fields Too Large"
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines)}
    assert headers["connection"] == "close"
    assert headers["content-length"] == str(len(body))
    document = json.loads(body)
    assert document["code"] == "BadRequest"
    assert document["id"] == headers["x-request-id"]
    assert json.loads(refusal(RequestTimeout()).partition(b"\r\n\r\n")[2])["code"] == (
        "RequestTimeout"
    )
