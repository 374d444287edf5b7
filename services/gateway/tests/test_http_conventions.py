"""The HTTP conventions every openEO response follows: errors, CORS, ids, limits, `//`."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from tests.openapi_validation import validate_error, validate_response

from .conftest import MAX_BODY_BYTES, Bearer, Stack, serving

API = "/openeo/1.2"
EXPOSED = {"Location", "OpenEO-Identifier", "OpenEO-Costs", "Link", "X-Request-ID"}


@pytest.fixture(scope="module", autouse=True)
def tracer_provider() -> None:
    # Real spans (not the no-op default) so the trace id is visible on the gRPC side.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())


@pytest.fixture
def probed_app(app: FastAPI) -> FastAPI:
    """The app plus routes that exercise error paths no route of this issue has yet."""

    @app.get(f"{API}/probe/typed")
    async def typed(limit: int) -> dict[str, int]:
        return {"limit": limit}

    @app.post(f"{API}/probe/body")
    async def body(document: dict[str, Any]) -> dict[str, int]:
        return {"keys": len(document)}

    @app.get(f"{API}/probe/bug")
    async def bug() -> None:
        raise ZeroDivisionError

    return app


@pytest.fixture
async def probe_client(probed_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(probed_app) as client:
        yield client


async def test_repeated_slashes_are_collapsed(client: httpx.AsyncClient) -> None:
    response = await client.get("/openeo//1.2///conformance")
    assert response.status_code == 200
    validate_response("GET", "/conformance", 200, response.json())


async def test_unknown_route_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/nothing-here")
    assert response.status_code == 404
    validate_error(response.json())
    assert response.json()["code"] == "NotFound"


async def test_wrong_method_is_405_with_an_openeo_body(client: httpx.AsyncClient) -> None:
    response = await client.delete(f"{API}/me")
    assert response.status_code == 405
    validate_error(response.json())
    assert response.json()["code"] == "BadRequest"
    assert response.headers["Allow"] == "GET"


async def test_invalid_parameters_are_400_not_422(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get(f"{API}/probe/typed", params={"limit": "many"})
    assert response.status_code == 400
    validate_error(response.json())
    assert response.json()["code"] == "BadRequest"
    assert "limit" in response.json()["message"]


async def test_declared_body_above_the_limit_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/me", content=b"x" * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413
    validate_error(response.json())
    assert response.json()["code"] == "PayloadTooLarge"


async def test_chunked_body_above_the_limit_is_413(probe_client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"a": "'
        for _ in range(MAX_BODY_BYTES // 100 + 1):
            yield b"x" * 100
        yield b'"}'

    response = await probe_client.post(
        f"{API}/probe/body", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["code"] == "PayloadTooLarge"


async def test_body_within_the_limit_passes(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(f"{API}/probe/body", json={"a": 1, "b": 2})
    assert response.status_code == 200
    assert response.json() == {"keys": 2}


async def test_a_bug_is_an_openeo_500(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get(f"{API}/probe/bug", headers={"Origin": "https://a.example"})
    assert response.status_code == 500
    validate_error(response.json())
    assert response.json()["code"] == "Internal"
    assert "ZeroDivisionError" not in response.text
    assert response.headers["Access-Control-Allow-Origin"] == "https://a.example"


def assert_cors(response: httpx.Response, origin: str) -> None:
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    exposed = {
        name.strip() for name in response.headers["Access-Control-Expose-Headers"].split(",")
    }
    assert exposed == EXPOSED


@pytest.mark.parametrize("path", ["/", "/nothing-here", "/me"], ids=["ok", "404", "401"])
async def test_cors_headers_on_every_response(client: httpx.AsyncClient, path: str) -> None:
    origin = "https://editor.openeo.org"
    response = await client.get(f"{API}{path}", headers={"Origin": origin})
    assert_cors(response, origin)


async def test_cors_without_origin_allows_any(client: httpx.AsyncClient) -> None:
    assert_cors(await client.get(f"{API}/"), "*")


@pytest.mark.parametrize("path", ["/me", "/jobs"], ids=["known", "unknown"])
async def test_preflight_answers_204_without_auth(client: httpx.AsyncClient, path: str) -> None:
    origin = "https://editor.openeo.org"
    response = await client.options(
        f"{API}{path}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type, X-Custom",
        },
    )
    assert response.status_code == 204
    assert response.content == b""
    assert_cors(response, origin)
    methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert methods == {"OPTIONS", "GET", "POST", "PATCH", "PUT", "DELETE"}
    headers = [h.strip() for h in response.headers["Access-Control-Allow-Headers"].split(",")]
    assert headers == ["Authorization", "Content-Type", "X-Custom"]


async def test_request_id_is_echoed_and_names_the_error(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/me", headers={"X-Request-ID": "client-req-42"})
    assert response.headers["X-Request-ID"] == "client-req-42"
    assert response.json()["id"] == "client-req-42"


@pytest.mark.parametrize("given", ["", "has spaces", "x" * 65, "semi;colon"])
async def test_insane_request_id_is_replaced(client: httpx.AsyncClient, given: str) -> None:
    response = await client.get(f"{API}/nothing-here", headers={"X-Request-ID": given})
    generated = response.headers["X-Request-ID"]
    assert generated != given
    assert generated.isalnum()
    assert response.json()["id"] == generated


async def test_request_id_and_trace_reach_the_services(
    stack: Stack, client: httpx.AsyncClient, bearer: Bearer
) -> None:
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    headers = {
        **bearer("alice"),
        "X-Request-ID": "req-trace-1",
        "traceparent": f"00-{trace_id}-b7ad6b7169203331-01",
    }
    response = await client.get(f"{API}/me", headers=headers)
    assert response.status_code == 200
    assert stack.auth.seen == [("req-trace-1", int(trace_id, 16))]


async def test_stopped_capabilities_service_is_503(stack: Stack, client: httpx.AsyncClient) -> None:
    await stack.servers["capabilities"].stop()
    response = await client.get(f"{API}/", headers={"Origin": "https://a.example"})
    assert response.status_code == 503
    validate_response("GET", "/", 503, response.json())
    assert response.json()["code"] == "ServiceUnavailable"
    assert response.headers["Retry-After"] == "5"
    assert_cors(response, "https://a.example")
