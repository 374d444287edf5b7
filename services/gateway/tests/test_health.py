"""`GET /health` through the real capabilities service, with the real infrastructure servers."""

import httpx
import pytest

from conftest import Infrastructure
from eoplex_common.settings import InfrastructureSettings

from .conftest import Stack

API = "/openeo/1.2"


@pytest.fixture
def health_infrastructure(infrastructure: Infrastructure) -> InfrastructureSettings:
    return InfrastructureSettings(**infrastructure.env)


def statuses(body: dict[str, object]) -> dict[tuple[str, str], str]:
    components = body["components"]
    assert isinstance(components, list)
    return {(c["kind"], c["name"]): c["status"] for c in components}


async def test_everything_up_is_ok(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/health")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
    assert statuses(response.json()) == {
        ("service", "auth"): "ok",
        ("service", "files"): "ok",
        ("service", "capabilities"): "ok",
        ("server", "mongodb"): "ok",
        ("server", "nats"): "ok",
        ("server", "s3"): "ok",
    }


async def test_a_stopped_service_degrades_health(stack: Stack, client: httpx.AsyncClient) -> None:
    await stack.servers["files"].stop()
    response = await client.get(f"{API}/health")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert statuses(response.json())[("service", "files")] == "unavailable"
    assert statuses(response.json())[("service", "auth")] == "ok"


async def test_stopped_capabilities_service_still_answers(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    await stack.servers["capabilities"].stop()
    response = await client.get(f"{API}/health")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "components": [
            {
                "name": "capabilities",
                "kind": "service",
                "status": "unavailable",
                "detail": "ServiceUnavailable",
            }
        ],
    }
