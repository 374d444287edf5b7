"""`GET /processes` and `POST /validation` through the real processes service, which looks
collections up in the real catalog (real MongoDB and NATS); bodies checked against openapi.yaml.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from conftest import Infrastructure
from eoplex.servers import free_port
from eoplex_common.process_specs import IMPLEMENTED_PROCESSES
from eoplex_gateway.app import create_app
from eoplex_gateway.settings import GatewaySettings
from services.gateway.tests.conftest import Bearer, Stack
from services.processes.tests.processes_server import running_processes
from tests.data_discovery_server import (
    RunningDataDiscovery,
    collection_document,
    load_and_save,
    register,
)
from tests.openapi_validation import validate_error, validate_response

API = "/openeo/1.2"
ROOT = f"http://testserver{API}/"


@asynccontextmanager
async def gateway(
    stack: Stack, *, data_discovery_address: str, mongodb_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway whose processes service is the real one, checking the catalog given."""
    async with running_processes(
        data_discovery_address=data_discovery_address, mongodb_url=mongodb_url
    ) as processes:
        addresses = stack.addresses.model_copy(update={"processes_address": processes.address})
        app = create_app(settings=GatewaySettings(rpc_timeout_seconds=5), addresses=addresses)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c


@pytest.fixture
async def http(
    stack: Stack, data_discovery: RunningDataDiscovery, infrastructure: Infrastructure
) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway(
        stack, data_discovery_address=data_discovery.address, mongodb_url=infrastructure.mongodb_url
    ) as client:
        yield client


@pytest.fixture
async def without_catalog(
    stack: Stack, infrastructure: Infrastructure
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway whose processes service finds no catalog answering."""
    address = f"127.0.0.1:{free_port()}"
    async with gateway(
        stack, data_discovery_address=address, mongodb_url=infrastructure.mongodb_url
    ) as client:
        yield client


def validate_processes_page(body: dict[str, Any]) -> None:
    validate_response("GET", "/processes", 200, body)


@pytest.mark.parametrize(
    "query", ["", "?limit=30", "?limit=1", "?limit=0", "?limit=abc", "?token=x"]
)
async def test_processes_are_public_and_listed_whole_whatever_the_paging_query(
    without_catalog: httpx.AsyncClient, query: str
) -> None:
    response = await without_catalog.get(f"{API}/processes{query}")
    assert response.status_code == 200, response.text
    body = response.json()
    validate_processes_page(body)
    assert [process["id"] for process in body["processes"]] == sorted(IMPLEMENTED_PROCESSES)
    assert [(link["rel"], link["href"]) for link in body["links"]] == [("self", f"{ROOT}processes")]


async def test_validation_needs_authentication(without_catalog: httpx.AsyncClient) -> None:
    response = await without_catalog.post(f"{API}/validation", json=load_and_save("S2"))
    assert response.status_code == 401
    assert response.json()["code"] == "AuthenticationRequired"
    validate_error(response.json())


async def test_a_valid_process_has_no_errors(
    http: httpx.AsyncClient, data_discovery: RunningDataDiscovery, bearer: Bearer
) -> None:
    await register(data_discovery.stub, collection_document("S2"), [])
    response = await http.post(f"{API}/validation", json=load_and_save("S2"), headers=bearer("bob"))
    assert response.status_code == 200, response.text
    validate_response("POST", "/validation", 200, response.json())
    assert response.json() == {"errors": []}


async def test_problems_are_listed_with_status_200(http: httpx.AsyncClient, bearer: Bearer) -> None:
    process = load_and_save("MISSING")
    process["process_graph"]["save"]["arguments"]["colour"] = "red"
    process["process_graph"]["load"]["process_id"] = "load_collection"
    process["process_graph"]["extra"] = {"process_id": "teleport", "arguments": {}}
    response = await http.post(f"{API}/validation", json=process, headers=bearer("alice"))
    assert response.status_code == 200, response.text
    body = response.json()
    validate_response("POST", "/validation", 200, body)
    assert sorted(error["code"] for error in body["errors"]) == [
        "CollectionNotFound",
        "ProcessParameterUnsupported",
        "ProcessUnsupported",
    ]
    assert "Collection 'MISSING' does not exist." in [error["message"] for error in body["errors"]]


async def test_a_process_without_graph_is_reported_not_refused(
    http: httpx.AsyncClient, bearer: Bearer
) -> None:
    response = await http.post(f"{API}/validation", json={"title": "x"}, headers=bearer("alice"))
    assert response.status_code == 200
    assert [error["code"] for error in response.json()["errors"]] == ["ProcessGraphMissing"]


@pytest.mark.parametrize("content", [b"[1, 2]", b'"process"', b"{broken", b""])
async def test_a_body_that_is_not_a_json_object_is_a_bad_request(
    http: httpx.AsyncClient, bearer: Bearer, content: bytes
) -> None:
    headers = {**bearer("alice"), "Content-Type": "application/json"}
    response = await http.post(f"{API}/validation", content=content, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "BadRequest"
    validate_error(response.json())


async def test_an_unreachable_catalog_is_service_unavailable(
    without_catalog: httpx.AsyncClient, bearer: Bearer
) -> None:
    response = await without_catalog.post(
        f"{API}/validation", json=load_and_save("S2"), headers=bearer("alice")
    )
    assert response.status_code == 503
    assert response.json()["code"] == "ServiceUnavailable"
    validate_error(response.json())
