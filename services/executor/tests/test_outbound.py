"""The outbound guard proxy: what it lets through and what it refuses, over loopback."""

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from eoplex_executor.io.outbound import (
    GuardProxy,
    allowing,
    guard_proxy,
    public_only,
    stop_guard_proxies,
)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # shared address space
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("fd00::1", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),
    ],
)
def test_only_public_addresses_are_allowed(address: str, allowed: bool) -> None:
    assert public_only(ipaddress.ip_address(address), 80) is allowed


class Echo(BaseHTTPRequestHandler):
    """Answers with the request line and the Connection header it received."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        body = f"{self.requestline}|{self.headers.get('Connection')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        received = self.rfile.read(int(self.headers["Content-Length"]))
        body = f"{self.requestline}|{len(received)}|{received[-8:].decode()}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "keep-alive")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxy(echo_port: int) -> Iterator[GuardProxy]:
    guard = GuardProxy(allowing([("127.0.0.1", echo_port)]), timeout_seconds=5)
    try:
        yield guard
    finally:
        guard.close()


def test_an_allowed_host_is_reached_one_request_per_connection(
    proxy: GuardProxy, echo_port: int
) -> None:
    with httpx.Client(proxy=proxy.url, timeout=5) as client:
        for _ in range(2):
            answer = client.get(f"http://127.0.0.1:{echo_port}/a/b?c=1")
            assert answer.status_code == 200
            assert answer.text == "GET /a/b?c=1 HTTP/1.1|close"


def test_answers_tell_the_client_that_the_connection_ends(
    proxy: GuardProxy, echo_port: int
) -> None:
    # The proxy closes every connection after one answer; a client not told so may send
    # its next request on the closed connection and lose it.
    body = b"x" * 200_000 + b"the end."
    with httpx.Client(proxy=proxy.url, timeout=5) as client:
        for _ in range(20):
            posted = client.post(f"http://127.0.0.1:{echo_port}/search", content=body)
            assert posted.text == f"POST /search HTTP/1.1|{len(body)}|the end."
            assert posted.headers["connection"] == "close"
            got = client.get(f"http://127.0.0.1:{echo_port}/next")
            assert got.headers["connection"] == "close"


def test_other_hosts_and_ports_are_refused(proxy: GuardProxy, echo_port: int) -> None:
    with socket.socket() as private:
        private.bind(("127.0.0.1", 0))
        private.listen(1)
        port = private.getsockname()[1]
        with httpx.Client(proxy=proxy.url, timeout=5) as client:
            answer = client.get(f"http://127.0.0.1:{port}/")
            assert answer.status_code == 403
            assert "may not be reached" in answer.text
            assert client.get("http://localhost.invalid./").status_code == 403
            # HTTPS is tunnelled with CONNECT: refused before any byte reaches the host.
            with pytest.raises(httpx.ProxyError):
                client.get(f"https://127.0.0.1:{port}/")
        private.settimeout(0)
        with pytest.raises(BlockingIOError):
            private.accept()


def test_malformed_requests_get_400(proxy: GuardProxy) -> None:
    for request in (b"GET /relative HTTP/1.1\r\n\r\n", b"nonsense\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as connection:
            connection.sendall(request)
            assert connection.recv(1024).startswith(b"HTTP/1.1 400 ")


def test_the_process_proxy_runs_apart_and_is_reused() -> None:
    first = guard_proxy()
    try:
        assert guard_proxy() is first
        assert first.process.poll() is None
        with httpx.Client(proxy=first.url, timeout=5) as client:
            # Its own policy: public addresses only.
            assert client.get("http://127.0.0.1:9/").status_code == 403
    finally:
        stop_guard_proxies()
    assert first.process.poll() is not None
    second = guard_proxy()
    try:
        assert second is not first
    finally:
        stop_guard_proxies()
