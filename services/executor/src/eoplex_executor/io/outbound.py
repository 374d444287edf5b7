"""A guard for the executor's requests to hosts that users name (load_stac).

A process graph chooses the URLs load_stac reads, so without a guard it could make the
executor reach what only the back-end should reach: the services, the MongoDB and S3
servers, a cloud's metadata endpoint. Checking a URL's host before the request is not
enough: a public host can redirect to a private one (GDAL's curl follows redirects on
its own), and a name can resolve to another address when the request is sent than when
it was checked.

`GuardProxy` closes both: an HTTP proxy on loopback through which GDAL
(`GDAL_HTTP_PROXY`) and httpx send every such request, redirects included. For each
connection it resolves the host itself, refuses it unless every address is allowed,
and connects to the address it checked. HTTPS passes as a `CONNECT` tunnel, so TLS
stays end to end; plain HTTP is one request per connection.

`guard_proxy()` runs it in a process of its own (`python -m eoplex_executor.io.outbound`),
one per executor process, which ends when the executor does: GDAL holds the GIL while
`rasterio.open` reads over `/vsicurl/`, so a proxy thread in the reading process would
starve.
"""

import argparse
import contextlib
import ipaddress
import logging
import os
import select
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

# (address, port) -> whether the proxy may connect there.
AddressPolicy = Callable[[ipaddress.IPv4Address | ipaddress.IPv6Address, int], bool]

_MAX_HEAD_BYTES = 64 * 1024
_BUFFER_BYTES = 64 * 1024
_HOP_BY_HOP = {"connection", "proxy-connection", "proxy-authorization", "keep-alive"}


def public_only(address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> bool:
    """Global unicast addresses only: no loopback, private, link-local (cloud metadata),
    shared, reserved or multicast ones."""
    return address.is_global and not address.is_multicast


class Refused(Exception):
    """The proxy does not connect to the host asked for."""


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (OSError or UnicodeError if it does not)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


def refused_address(addresses: list[str], port: int, policy: AddressPolicy) -> str | None:
    """The first of `addresses` that `policy` does not allow, if any."""
    return next((text for text in addresses if not policy(ipaddress.ip_address(text), port)), None)


def resolve_allowed(host: str, port: int, policy: AddressPolicy) -> str:
    """An address of `host` to connect to; Refused unless every address it resolves to
    is allowed (a name with one private address among public ones is refused too)."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as error:
        raise Refused(f"{host} does not resolve: {error}") from None
    refused = refused_address(addresses, port, policy)
    if refused is not None:
        raise Refused(f"{host} resolves to {refused}, which may not be reached")
    return addresses[0]


class GuardProxy:
    """The proxy, serving in daemon threads on 127.0.0.1 until `close()`.

    `url` is what `GDAL_HTTP_PROXY` and httpx's `proxy` take. Connections time out after
    `timeout_seconds` without data in either direction.
    """

    def __init__(self, policy: AddressPolicy, *, timeout_seconds: float = 60.0) -> None:
        self.policy = policy
        self.timeout_seconds = timeout_seconds
        guard = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                guard._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="outbound-guard", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop accepting connections."""
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, client: socket.socket) -> None:
        client.settimeout(self.timeout_seconds)
        try:
            head, rest = _read_head(client)
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, version = request_line.split(" ", 2)
            if method.upper() == "CONNECT":
                self._tunnel(client, target, rest)
            else:
                self._forward(client, method, target, version, header_lines, rest)
        except Refused as error:
            log.warning("outbound request refused: %s", error)
            _answer(client, 403, str(error))
        except (ValueError, UnicodeError) as error:
            _answer(client, 400, f"malformed proxy request: {error}")
        except OSError as error:
            _answer(client, 502, f"cannot reach the host: {error}")

    def _connect(self, host: str, port: int) -> socket.socket:
        address = resolve_allowed(host, port, self.policy)
        return socket.create_connection((address, port), timeout=self.timeout_seconds)

    def _tunnel(self, client: socket.socket, target: str, rest: bytes) -> None:
        host, _, port = target.rpartition(":")
        upstream = self._connect(host.strip("[]"), int(port))
        with upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            _pipe(client, upstream, self.timeout_seconds)

    def _forward(
        self,
        client: socket.socket,
        method: str,
        target: str,
        version: str,
        header_lines: list[str],
        rest: bytes,
    ) -> None:
        url = urlsplit(target)
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"an absolute http URL is needed, not {target!r}")
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        headers = [
            line
            for line in header_lines
            if line and line.split(":", 1)[0].strip().lower() not in _HOP_BY_HOP
        ]
        # One request per connection: the next one may be for another host.
        head = "\r\n".join([f"{method} {path} {version}", *headers, "Connection: close", "", ""])
        length = _content_length(headers)
        upstream = self._connect(url.hostname, url.port or 80)
        with upstream:
            upstream.sendall(head.encode("latin-1") + rest)
            if length is not None:
                # The whole request first, then the answer's head: the answer ends with this
                # connection, which the client must be told, or it may send its next request
                # on it and find it closed.
                _copy(client, upstream, length - len(rest))
                answer, body = _read_head(upstream)
                status_line, *answer_lines = answer.decode("latin-1").split("\r\n")
                kept = [
                    line
                    for line in answer_lines
                    if line.split(":", 1)[0].strip().lower() not in _HOP_BY_HOP
                ]
                client.sendall(
                    "\r\n".join([status_line, *kept, "Connection: close", "", ""]).encode("latin-1")
                    + body
                )
            _pipe(client, upstream, self.timeout_seconds)


def _content_length(header_lines: list[str]) -> int | None:
    """The request body's length: 0 without a body, None for a chunked one."""
    names = {line.split(":", 1)[0].strip().lower(): line for line in header_lines if ":" in line}
    if "transfer-encoding" in names:
        return None
    if "content-length" in names:
        return int(names["content-length"].split(":", 1)[1].strip())
    return 0


def _copy(source: socket.socket, target: socket.socket, count: int) -> None:
    """Copy `count` more bytes from `source` to `target`."""
    while count > 0:
        data = source.recv(min(count, _BUFFER_BYTES))
        if not data:
            raise ValueError("the connection closed before the request body ended")
        target.sendall(data)
        count -= len(data)


def _read_head(client: socket.socket) -> tuple[bytes, bytes]:
    """The request head (without its blank line) and whatever followed it."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > _MAX_HEAD_BYTES:
            raise ValueError("the request head is too long")
        chunk = client.recv(_BUFFER_BYTES)
        if not chunk:
            raise ValueError("the connection closed before the request head ended")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _pipe(a: socket.socket, b: socket.socket, timeout_seconds: float) -> None:
    """Copy both ways until either side closes or nothing moves for `timeout_seconds`."""
    sockets = [a, b]
    while True:
        readable, _, _ = select.select(sockets, [], [], timeout_seconds)
        if not readable:
            return
        for source in readable:
            data = source.recv(_BUFFER_BYTES)
            if not data:
                return
            (b if source is a else a).sendall(data)


def _answer(client: socket.socket, status: int, message: str) -> None:
    reasons = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}
    body = message.encode("utf-8", "replace")
    head = (
        f"HTTP/1.1 {status} {reasons[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with contextlib.suppress(OSError):
        client.sendall(head.encode("latin-1") + body)


def allowing(endpoints: Iterable[tuple[str, int]]) -> AddressPolicy:
    """`public_only`, and also the given (address, port) pairs (for tests on loopback)."""
    allowed = {(str(ipaddress.ip_address(host)), port) for host, port in endpoints}

    def policy(address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> bool:
        return public_only(address, port) or (str(address), port) in allowed

    return policy


@dataclass(frozen=True)
class RunningProxy:
    """A `GuardProxy` serving in a child process (see `guard_proxy`)."""

    process: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


# (creating process id, allowed extra endpoints) -> its proxy
_proxies: dict[tuple[int, frozenset[tuple[str, int]]], RunningProxy] = {}
_proxies_lock = threading.Lock()


def guard_proxy(also_allowed: frozenset[tuple[str, int]] = frozenset()) -> RunningProxy:
    """This process's proxy (public addresses only, plus `also_allowed`), started on first
    use in a child process that ends when this process closes its stdin, by exiting."""
    key = (os.getpid(), also_allowed)
    with _proxies_lock:
        running = _proxies.get(key)
        if running is not None and running.process.poll() is None:
            return running
        arguments = [f"--allow={host}:{port}" for host, port in sorted(also_allowed)]
        process = subprocess.Popen(
            [sys.executable, "-m", "eoplex_executor.io.outbound", *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip().isdigit():
            process.kill()
            process.wait()
            raise RuntimeError("the outbound guard proxy did not start")
        running = _proxies[key] = RunningProxy(process, int(line))
        return running


def stop_guard_proxies() -> None:
    """Stop the proxies this process started (they also end when it exits)."""
    with _proxies_lock:
        for key in [key for key in _proxies if key[0] == os.getpid()]:
            _proxies.pop(key).stop()


def main() -> None:
    """Serve a GuardProxy; print its port; exit when stdin closes (the parent ended)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--allow", action="append", default=[], metavar="ADDRESS:PORT")
    arguments = parser.parse_args()
    endpoints = [
        (host.strip("[]"), int(port))
        for host, _, port in (item.rpartition(":") for item in arguments.allow)
    ]
    logging.basicConfig(level=logging.WARNING)
    proxy = GuardProxy(allowing(endpoints))
    print(proxy.port, flush=True)
    sys.stdin.read()
    proxy.close()


if __name__ == "__main__":
    main()
