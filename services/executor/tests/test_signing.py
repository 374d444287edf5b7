"""Planetary Computer URL signing against a token endpoint on loopback (real HTTP)."""

import json
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from eoplex_common.errors import UpstreamUnavailable
from eoplex_executor.io.signing import PlanetaryComputerSigner, url_signer

BLOB = "https://account.blob.core.windows.net"


class TokenEndpoint:
    """`GET <prefix>/sign?href=...` answering SAS tokens valid for `lifetime`, after the
    statuses queued in `failures`; counts the requests by container."""

    def __init__(self) -> None:
        self.lifetime = timedelta(hours=1)
        self.failures: list[int] = []
        self.answer_delay = 0.0
        self.body: bytes | None = None
        self.requests: list[str] = []
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                endpoint.answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        # A prefix of its own per endpoint: tokens are kept per process, by signing URL.
        self.url = f"http://127.0.0.1:{self.server.server_port}/{secrets.token_hex(4)}/sas/v1"

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        href = parse_qs(parts.query).get("href", [""])[0]
        with self.lock:
            self.requests.append(urlsplit(href).path.split("/")[1])
            failure = self.failures.pop(0) if self.failures else None
        time.sleep(self.answer_delay)
        if not parts.path.endswith("/sas/v1/sign") or failure is not None:
            request.send_response(failure or 404)
            request.send_header("Retry-After", "0")
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        expiry = datetime.now(UTC) + self.lifetime
        token = f"sv=2021&se={expiry:%Y-%m-%dT%H:%M:%SZ}&sig={secrets.token_hex(8)}"
        body = (
            self.body
            or json.dumps(
                {"href": f"{href}?{token}", "msft:expiry": f"{expiry:%Y-%m-%dT%H:%M:%SZ}"}
            ).encode()
        )
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


@pytest.fixture
def endpoint() -> Iterator[TokenEndpoint]:
    served = TokenEndpoint()
    served.thread.start()
    try:
        yield served
    finally:
        served.server.shutdown()
        served.server.server_close()


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_a_url_gets_its_containers_token_fetched_once(endpoint: TokenEndpoint) -> None:
    sign = PlanetaryComputerSigner("S2", endpoint.url)

    first = sign(f"{BLOB}/sentinel2-l2/a/B04.tif")
    second = sign(f"{BLOB}/sentinel2-l2/b/B08.tif")
    other = sign(f"{BLOB}/landsat/c/red.tif")

    assert first.startswith(f"{BLOB}/sentinel2-l2/a/B04.tif?sv=2021&se=")
    assert _query(first)["sig"] == _query(second)["sig"]
    assert _query(other)["sig"] != _query(first)["sig"]
    assert endpoint.requests == ["sentinel2-l2", "landsat"]


def test_a_token_is_renewed_five_minutes_before_it_expires(endpoint: TokenEndpoint) -> None:
    endpoint.lifetime = timedelta(minutes=4)
    sign = PlanetaryComputerSigner("S2", endpoint.url)

    first = sign(f"{BLOB}/sentinel2-l2/a/B04.tif")
    second = sign(f"{BLOB}/sentinel2-l2/a/B04.tif")

    assert endpoint.requests == ["sentinel2-l2", "sentinel2-l2"]
    assert _query(first)["sig"] != _query(second)["sig"]


def test_threads_signing_at_once_share_one_fetch(endpoint: TokenEndpoint) -> None:
    endpoint.answer_delay = 0.2
    sign = PlanetaryComputerSigner("S2", endpoint.url)
    signed: list[str] = []

    def read(index: int) -> None:
        signed.append(sign(f"{BLOB}/sentinel2-l2/{index}/B04.tif"))

    threads = [threading.Thread(target=read, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert endpoint.requests == ["sentinel2-l2"]
    assert len({_query(url)["sig"][0] for url in signed}) == 1


def test_throttling_and_server_errors_are_retried(endpoint: TokenEndpoint) -> None:
    endpoint.failures = [429, 503]

    signed = PlanetaryComputerSigner("S2", endpoint.url)(f"{BLOB}/sentinel2-l2/a/B04.tif")

    assert "sig" in _query(signed)
    assert len(endpoint.requests) == 3


@pytest.mark.parametrize(
    ("failures", "requests", "reason"),
    [
        ([403], 1, "signing failed: HTTP 403"),
        ([503] * 4, 4, "signing failed: HTTP 503"),
    ],
)
def test_a_failing_token_endpoint_is_the_providers_error(
    endpoint: TokenEndpoint, failures: list[int], requests: int, reason: str
) -> None:
    endpoint.failures = failures

    with pytest.raises(UpstreamUnavailable) as raised:
        PlanetaryComputerSigner("S2", endpoint.url)(f"{BLOB}/sentinel2-l2/a/B04.tif")

    assert raised.value.params == {
        "upstream": f"http://127.0.0.1:{endpoint.server.server_port}",
        "collection": "S2",
        "reason": reason,
    }
    assert len(endpoint.requests) == requests


def test_an_answer_without_a_token_is_the_providers_error(endpoint: TokenEndpoint) -> None:
    endpoint.body = json.dumps({"href": f"{BLOB}/sentinel2-l2/a/B04.tif"}).encode()

    with pytest.raises(UpstreamUnavailable, match="not a signed href with msft:expiry"):
        PlanetaryComputerSigner("S2", endpoint.url)(f"{BLOB}/sentinel2-l2/a/B04.tif")


def test_the_signer_of_a_collections_access() -> None:
    assert url_signer("", "", collection="S2") is None
    signer = url_signer("planetary-computer", "", collection="S2")
    assert signer == PlanetaryComputerSigner(
        "S2", "https://planetarycomputer.microsoft.com/api/sas/v1"
    )
    with pytest.raises(UpstreamUnavailable, match="unknown URL signing 'sentinel-hub'"):
        url_signer("sentinel-hub", "https://sh.example", collection="S2")
