"""The processes service through its gRPC API: listing the implemented processes, paging,
and validation with collections looked up in the real catalog (real MongoDB and NATS)."""

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conftest import Infrastructure
from eoplex.servers import free_port
from eoplex_common.errors import BadRequest, ServiceUnavailable
from eoplex_common.process_specs import IMPLEMENTED_PROCESSES, process_spec
from eoplex_processes.settings import ProcessesSettings
from eoplex_proto.openeo.processes.v1 import processes_pb2 as pb
from services.processes.tests.processes_server import RunningProcesses, running_processes
from tests.data_discovery_server import (
    RunningDataDiscovery,
    collection_document,
    item_document,
    load_and_save,
    register,
)


@pytest.fixture
async def offline(infrastructure: Infrastructure) -> AsyncIterator[RunningProcesses]:
    """The processes service with no catalog answering at its address."""
    async with running_processes(
        data_discovery_address=f"127.0.0.1:{free_port()}", mongodb_url=infrastructure.mongodb_url
    ) as running:
        yield running


@pytest.fixture
async def online(
    infrastructure: Infrastructure, data_discovery: RunningDataDiscovery
) -> AsyncIterator[RunningProcesses]:
    """The processes service checking collections in the real catalog."""
    async with running_processes(
        data_discovery_address=data_discovery.address, mongodb_url=infrastructure.mongodb_url
    ) as running:
        yield running


async def validate(running: RunningProcesses, process: Any) -> list[tuple[str, str]]:
    text = process if isinstance(process, str) else json.dumps(process)
    response = await running.processes.ValidateProcess(pb.ValidateProcessRequest(process_json=text))
    return [(error.code, error.message) for error in response.errors]


async def test_lists_exactly_the_implemented_processes_as_their_specifications(
    offline: RunningProcesses,
) -> None:
    response = await offline.processes.ListProcesses(pb.ListProcessesRequest())
    processes = [json.loads(text) for text in response.processes_json]
    assert [p["id"] for p in processes] == sorted(IMPLEMENTED_PROCESSES)
    assert response.next_page_token == ""
    for process in processes:
        spec = process_spec(process["id"])
        assert spec is not None
        assert {k: v for k, v in spec.items() if k != "process_graph"} == process
    # Some specifications carry a reference implementation; it is not listed.
    absolute = next(p for p in processes if p["id"] == "absolute")
    assert "process_graph" in (process_spec("absolute") or {})
    assert "process_graph" not in absolute


async def test_processes_are_paged_with_opaque_tokens(offline: RunningProcesses) -> None:
    seen: list[str] = []
    sizes: list[int] = []
    token = ""
    while True:
        request = pb.ListProcessesRequest(limit=25, page_token=token)
        response = await offline.processes.ListProcesses(request)
        ids = [json.loads(text)["id"] for text in response.processes_json]
        seen += ids
        sizes.append(len(ids))
        token = response.next_page_token
        if not token:
            break
    assert seen == sorted(IMPLEMENTED_PROCESSES)
    full, rest = divmod(len(IMPLEMENTED_PROCESSES), 25)
    assert sizes == [25] * full + ([rest] if rest else [])


@pytest.mark.parametrize(
    "request_fields", [{"limit": -1}, {"page_token": "garbage"}, {"page_token": "bnVsbA"}]
)
async def test_bad_limits_and_tokens_are_bad_requests(
    offline: RunningProcesses, request_fields: dict[str, Any]
) -> None:
    with pytest.raises(BadRequest):
        await offline.processes.ListProcesses(pb.ListProcessesRequest(**request_fields))


async def test_collections_are_looked_up_in_the_catalog(
    online: RunningProcesses, data_discovery: RunningDataDiscovery
) -> None:
    await register(data_discovery.stub, collection_document("S2"), [])
    assert await validate(online, load_and_save("S2")) == []
    assert await validate(online, load_and_save("S3")) == [
        ("CollectionNotFound", "Collection 'S3' does not exist.")
    ]


async def test_bands_and_properties_are_checked_against_the_catalog(
    online: RunningProcesses, data_discovery: RunningDataDiscovery
) -> None:
    items = [item_document("a", **{"eo:cloud_cover": 10})]
    await register(data_discovery.stub, collection_document("S2"), items)
    cloudy = {
        "process_graph": {
            "c": {
                "process_id": "lte",
                "arguments": {"x": {"from_parameter": "value"}, "y": 20},
                "result": True,
            }
        }
    }
    process = load_and_save("S2")
    load = process["process_graph"]["load"]["arguments"]
    load["bands"] = ["B04", "B99"]
    load["properties"] = {"eo:cloud_cover": cloudy, "sat:orbit_state": cloudy}
    assert await validate(online, process) == [
        (
            "ProcessParameterInvalid",
            "The value passed for parameter 'bands' in process 'load_collection' is invalid: "
            "band 'B99' does not exist in collection 'S2'; available: B02, B04",
        ),
        (
            "ProcessParameterInvalid",
            "The value passed for parameter 'properties' in process 'load_collection' is "
            "invalid: no item of collection 'S2' has the property 'sat:orbit_state'; its items "
            "have: datetime, eo:cloud_cover",
        ),
    ]


async def test_every_problem_is_returned_as_code_and_message(online: RunningProcesses) -> None:
    process = load_and_save("NOPE")
    process["process_graph"]["save"]["arguments"]["format"] = 7
    process["process_graph"]["extra"] = {"process_id": "teleport", "arguments": {}}
    assert sorted(code for code, _ in await validate(online, process)) == [
        "CollectionNotFound",
        "ProcessParameterInvalid",
        "ProcessUnsupported",
    ]


@pytest.mark.parametrize("text", ["{not json", "", "[" * 100_000])
async def test_invalid_json_is_one_process_graph_invalid_error(
    offline: RunningProcesses, text: str
) -> None:
    errors = await validate(offline, text)
    assert [code for code, _ in errors] == ["ProcessGraphInvalid"]
    assert "not valid JSON" in errors[0][1]


async def test_a_process_without_graph_is_process_graph_missing(offline: RunningProcesses) -> None:
    assert [code for code, _ in await validate(offline, {"parameters": []})] == [
        "ProcessGraphMissing"
    ]
    assert [code for code, _ in await validate(offline, [1, 2])] == ["ProcessGraphMissing"]


async def test_an_unreachable_catalog_fails_the_call_with_service_unavailable(
    offline: RunningProcesses,
) -> None:
    with pytest.raises(ServiceUnavailable):
        await validate(offline, load_and_save("S2"))
    # A process that loads no collection needs no catalog.
    without_collections = {
        "process_graph": {"a": {"process_id": "absolute", "arguments": {"x": -1}, "result": True}}
    }
    assert await validate(offline, without_collections) == []


async def test_graph_limits_come_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, infrastructure: Infrastructure
) -> None:
    monkeypatch.setenv("OPENEO_PROCESSES_MAX_GRAPH_NODES", "1")
    settings = ProcessesSettings()
    address = f"127.0.0.1:{free_port()}"
    async with running_processes(
        data_discovery_address=address, mongodb_url=infrastructure.mongodb_url, settings=settings
    ) as running:
        errors = await validate(running, load_and_save("S2"))
    assert [code for code, _ in errors] == ["ProcessGraphComplexity"]
    assert "more than 1 nodes" in errors[0][1]
