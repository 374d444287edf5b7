"""`/process_graphs` through the real processes service (real MongoDB-wire server): status
codes, paging links, confinement to the caller, and errors; bodies checked against
openapi.yaml."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from conftest import Infrastructure
from eoplex.servers import free_port
from services.gateway.tests.conftest import Bearer, Stack, gateway_client
from services.processes.tests.processes_server import running_processes
from tests.openapi_validation import checked_body

API = "/openeo/1.2"
ROOT = f"http://testserver{API}/"
ITEM = "/process_graphs/{process_graph_id}"

SCALE = {
    "summary": "Scale",
    "description": "`x` times two.",
    "parameters": [{"name": "x", "description": "A number.", "schema": {"type": "number"}}],
    "returns": {"description": "Twice x.", "schema": {"type": "number"}},
    "categories": ["math"],
    "examples": [{"arguments": {"x": 1}, "returns": 2}],
    "links": [{"href": "https://example.com", "rel": "about"}],
    "process_graph": {
        "m": {
            "process_id": "multiply",
            "arguments": {"x": {"from_parameter": "x"}, "y": 2},
            "result": True,
        }
    },
}


@pytest.fixture
async def http(stack: Stack, infrastructure: Infrastructure) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway whose processes service is the real one (no catalog needed here)."""
    async with running_processes(
        data_discovery_address=f"127.0.0.1:{free_port()}", mongodb_url=infrastructure.mongodb_url
    ) as processes:
        addresses = stack.addresses.model_copy(update={"processes_address": processes.address})
        async with gateway_client(addresses) as client:
            yield client


async def put(http: httpx.AsyncClient, headers: dict[str, str], process_id: str, body: Any) -> Any:
    return await http.put(f"{API}/process_graphs/{process_id}", json=body, headers=headers)


async def test_store_describe_list_delete(http: httpx.AsyncClient, bearer: Bearer) -> None:
    alice = bearer("alice")
    response = await put(http, alice, "scale", SCALE)
    assert checked_body(response, "PUT", ITEM, 200) is None
    assert response.content == b""

    described = checked_body(
        await http.get(f"{API}/process_graphs/scale", headers=alice), "GET", ITEM, 200
    )
    assert described == {**SCALE, "id": "scale"}

    listed = checked_body(
        await http.get(f"{API}/process_graphs", headers=alice), "GET", "/process_graphs", 200
    )
    omitted = ("process_graph", "examples", "links")
    assert listed["processes"] == [
        {**{k: v for k, v in SCALE.items() if k not in omitted}, "id": "scale"}
    ]
    assert [(link["rel"], link["href"]) for link in listed["links"]] == [
        ("self", f"{ROOT}process_graphs")
    ]

    response = await http.delete(f"{API}/process_graphs/scale", headers=alice)
    assert checked_body(response, "DELETE", ITEM, 204) is None
    response = await http.get(f"{API}/process_graphs/scale", headers=alice)
    assert checked_body(response, "GET", ITEM, 404)["code"] == "ProcessGraphNotFound"
    listed = checked_body(
        await http.get(f"{API}/process_graphs", headers=alice), "GET", "/process_graphs", 200
    )
    assert listed["processes"] == []


async def test_listing_is_paged_by_next_links(http: httpx.AsyncClient, bearer: Bearer) -> None:
    alice = bearer("alice")
    for process_id in ("p3", "p1", "p2"):
        checked_body(await put(http, alice, process_id, SCALE), "PUT", ITEM, 200)
    seen: list[list[str]] = []
    url: str | None = f"{API}/process_graphs?limit=2"
    while url:
        body = checked_body(await http.get(url, headers=alice), "GET", "/process_graphs", 200)
        seen.append([process["id"] for process in body["processes"]])
        nexts = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nexts[0].removeprefix("http://testserver") if nexts else None
    assert seen == [["p1", "p2"], ["p3"]]
    response = await http.get(f"{API}/process_graphs?token=garbage", headers=alice)
    assert checked_body(response, "GET", "/process_graphs", 400)["code"] == "BadRequest"


async def test_another_user_gets_not_found_for_everything(
    http: httpx.AsyncClient, bearer: Bearer
) -> None:
    checked_body(await put(http, bearer("alice"), "scale", SCALE), "PUT", ITEM, 200)
    bob = bearer("bob")
    listed = checked_body(
        await http.get(f"{API}/process_graphs", headers=bob), "GET", "/process_graphs", 200
    )
    assert listed["processes"] == []
    for method in ("GET", "DELETE"):
        response = await http.request(method, f"{API}/process_graphs/scale", headers=bob)
        body = checked_body(response, method, ITEM, 404)
        assert body == {**body, "code": "ProcessGraphNotFound"}
        assert "'scale' does not exist" in body["message"]
    # Nor can Bob's process graphs call it.
    graph = {"process_graph": {"s": {"process_id": "scale", "arguments": {"x": 1}, "result": True}}}
    response = await http.post(f"{API}/validation", json=graph, headers=bob)
    assert [e["code"] for e in response.json()["errors"]] == ["ProcessUnsupported"]
    response = await http.post(f"{API}/validation", json=graph, headers=bearer("alice"))
    assert response.json()["errors"] == []


@pytest.mark.parametrize(
    ("process_id", "body", "code"),
    [
        ("ndvi", SCALE, "PredefinedProcessExists"),
        ("has-dash", SCALE, "ProcessInvalid"),
        ("scale", {"summary": "no graph"}, "ProcessGraphMissing"),
        ("scale", [SCALE], "BadRequest"),
        ("scale", {**SCALE, "parameters": "x"}, "ProcessInvalid"),
        (
            "loop",
            {"process_graph": {"l": {"process_id": "loop", "arguments": {}, "result": True}}},
            "ProcessGraphInvalid",
        ),
    ],
)
async def test_invalid_processes_are_refused(
    http: httpx.AsyncClient, bearer: Bearer, process_id: str, body: Any, code: str
) -> None:
    response = await put(http, bearer("alice"), process_id, body)
    assert checked_body(response, "PUT", ITEM, 400)["code"] == code


async def test_unknown_ids_are_not_found(http: httpx.AsyncClient, bearer: Bearer) -> None:
    response = await http.get(f"{API}/process_graphs/nothing_here", headers=bearer("alice"))
    assert checked_body(response, "GET", ITEM, 404)["code"] == "ProcessGraphNotFound"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/process_graphs"),
        ("GET", "/process_graphs/scale"),
        ("PUT", "/process_graphs/scale"),
        ("DELETE", "/process_graphs/scale"),
    ],
)
async def test_every_route_needs_authentication(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    content = json.dumps(SCALE) if method == "PUT" else None
    response = await http.request(method, f"{API}{path}", content=content)
    assert response.status_code == 401
    assert response.json()["code"] == "AuthenticationRequired"
