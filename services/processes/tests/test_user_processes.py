"""User-defined processes (`/process_graphs`) through the processes service's gRPC API, on
the real MongoDB-wire server: storing, listing, reading, deleting, confinement to the
owner, the id and metadata rules, validation with calls of other user-defined processes,
and recursion refused."""

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conftest import Infrastructure
from eoplex.servers import free_port
from eoplex_common.errors import (
    BadRequest,
    OpenEOError,
    PredefinedProcessExists,
    ProcessGraphComplexity,
    ProcessGraphInvalid,
    ProcessGraphMissing,
    ProcessGraphNotFound,
    ProcessInvalid,
    ProcessParameterRequired,
    ProcessUnsupported,
)
from eoplex_common.process_specs import (
    IMPLEMENTED_PROCESSES,
    core_process_specs,
    proposal_process_specs,
)
from eoplex_processes.settings import ProcessesSettings
from eoplex_proto.openeo.processes.v1 import processes_pb2 as pb
from services.processes.tests.processes_server import RunningProcesses, running_processes

ALICE = pb.Owner(user_id="alice", tenant_id="t1")
BOB = pb.Owner(user_id="bob", tenant_id="t1")
# The same user name in another tenant is another user.
ALICE_ELSEWHERE = pb.Owner(user_id="alice", tenant_id="t2")
MAX_DEPTH = 4


@pytest.fixture
async def service(infrastructure: Infrastructure) -> AsyncIterator[RunningProcesses]:
    """The processes service on a fresh database; no catalog (these processes load none)."""
    settings = ProcessesSettings(max_graph_depth=MAX_DEPTH)
    async with running_processes(
        data_discovery_address=f"127.0.0.1:{free_port()}",
        mongodb_url=infrastructure.mongodb_url,
        settings=settings,
    ) as running:
        yield running


def scaled() -> dict[str, Any]:
    """`x * factor + offset`, offset defaulting to 0: a process with every metadata member."""
    return {
        "summary": "Scale",
        "description": "Multiplies `x` by `factor` and adds `offset`.",
        "categories": ["math"],
        "parameters": [
            {"name": "x", "description": "A number.", "schema": {"type": "number"}},
            {"name": "factor", "description": "Factor.", "schema": {"type": "number"}},
            {
                "name": "offset",
                "description": "Offset.",
                "schema": {"type": "number"},
                "optional": True,
                "default": 0,
            },
        ],
        "returns": {"description": "The scaled number.", "schema": {"type": "number"}},
        "deprecated": False,
        "experimental": True,
        "exceptions": {"Oops": {"message": "Oops."}},
        "examples": [{"arguments": {"x": 1, "factor": 2}, "returns": 2}],
        "links": [{"href": "https://example.com/scale", "rel": "about"}],
        "process_graph": {
            "m": {
                "process_id": "multiply",
                "arguments": {"x": {"from_parameter": "x"}, "y": {"from_parameter": "factor"}},
            },
            "a": {
                "process_id": "add",
                "arguments": {"x": {"from_node": "m"}, "y": {"from_parameter": "offset"}},
                "result": True,
            },
        },
    }


def calling(process_id: str, namespace: str | None = "user", **arguments: Any) -> dict[str, Any]:
    """A process whose one node calls `process_id` with `arguments`."""
    node = {"process_id": process_id, "namespace": namespace, "arguments": arguments}
    return {"process_graph": {"c": {**node, "result": True}}}


async def put(
    running: RunningProcesses, process_id: str, process: Any, owner: pb.Owner = ALICE
) -> None:
    text = process if isinstance(process, str) else json.dumps(process)
    request = pb.PutUserProcessRequest(owner=owner, process_graph_id=process_id, process_json=text)
    await running.processes.PutUserProcess(request)


async def get(running: RunningProcesses, process_id: str, owner: pb.Owner = ALICE) -> Any:
    request = pb.UserProcessRequest(owner=owner, process_graph_id=process_id)
    return json.loads((await running.processes.GetUserProcess(request)).process_json)


async def listing(
    running: RunningProcesses, owner: pb.Owner = ALICE, limit: int = 0, token: str = ""
) -> tuple[list[dict[str, Any]], str]:
    request = pb.ListUserProcessesRequest(owner=owner, limit=limit, page_token=token)
    response = await running.processes.ListUserProcesses(request)
    return [json.loads(text) for text in response.processes_json], response.next_page_token


async def validate(
    running: RunningProcesses, process: Any, owner: pb.Owner = ALICE
) -> list[tuple[str, str]]:
    request = pb.ValidateProcessRequest(
        process_json=json.dumps(process), user_id=owner.user_id, tenant_id=owner.tenant_id
    )
    response = await running.processes.ValidateProcess(request)
    return [(error.code, error.message) for error in response.errors]


async def test_a_stored_process_reads_back_whole_with_the_path_id(
    service: RunningProcesses,
) -> None:
    # The spec: a body `id` that differs from the path's is replaced by the path's.
    await put(service, "scale", {**scaled(), "id": "something_else", "public": False})
    assert await get(service, "scale") == {**scaled(), "id": "scale", "public": False}


async def test_storing_again_replaces_the_whole_process(service: RunningProcesses) -> None:
    await put(service, "scale", scaled())
    replacement = calling("absolute", namespace=None, x=-1)
    await put(service, "scale", replacement)
    assert await get(service, "scale") == {**replacement, "id": "scale"}
    assert [p["id"] for p in (await listing(service))[0]] == ["scale"]


async def test_the_listing_is_sorted_without_graphs_and_paged(service: RunningProcesses) -> None:
    for process_id in ("c_proc", "a_proc", "b_proc", "d_proc", "e_proc"):
        await put(service, process_id, scaled())
    processes, token = await listing(service)
    assert [p["id"] for p in processes] == ["a_proc", "b_proc", "c_proc", "d_proc", "e_proc"]
    assert token == ""
    omitted = {"process_graph", "exceptions", "examples", "links"}
    assert processes[0] == {
        **{k: v for k, v in scaled().items() if k not in omitted},
        "id": "a_proc",
    }
    pages: list[list[str]] = []
    token = ""
    while True:
        page, token = await listing(service, limit=2, token=token)
        pages.append([p["id"] for p in page])
        if not token:
            break
    assert pages == [["a_proc", "b_proc"], ["c_proc", "d_proc"], ["e_proc"]]


@pytest.mark.parametrize("fields", [{"limit": -1}, {"page_token": "garbage"}])
async def test_bad_limits_and_tokens_are_bad_requests(
    service: RunningProcesses, fields: dict[str, Any]
) -> None:
    with pytest.raises(BadRequest):
        await service.processes.ListUserProcesses(
            pb.ListUserProcessesRequest(owner=ALICE, **fields)
        )


async def test_another_user_neither_sees_nor_reads_nor_deletes_nor_calls_it(
    service: RunningProcesses,
) -> None:
    await put(service, "scale", scaled())
    for other in (BOB, ALICE_ELSEWHERE):
        assert await listing(service, owner=other) == ([], "")
        with pytest.raises(ProcessGraphNotFound, match="'scale' does not exist"):
            await get(service, "scale", owner=other)
        with pytest.raises(ProcessGraphNotFound):
            request = pb.UserProcessRequest(owner=other, process_graph_id="scale")
            await service.processes.DeleteUserProcess(request)
        assert [
            code for code, _ in await validate(service, calling("scale", x=1, factor=2), other)
        ] == ["ProcessUnsupported"]
    # Bob may store his own process of the same id; both stay apart.
    await put(service, "scale", calling("absolute", namespace=None, x=-1), owner=BOB)
    assert (await get(service, "scale"))["summary"] == "Scale"
    assert "summary" not in await get(service, "scale", owner=BOB)


async def test_delete_removes_it_and_a_second_delete_is_not_found(
    service: RunningProcesses,
) -> None:
    await put(service, "scale", scaled())
    request = pb.UserProcessRequest(owner=ALICE, process_graph_id="scale")
    await service.processes.DeleteUserProcess(request)
    with pytest.raises(ProcessGraphNotFound):
        await get(service, "scale")
    with pytest.raises(ProcessGraphNotFound):
        await service.processes.DeleteUserProcess(request)
    assert await listing(service) == ([], "")


@pytest.mark.parametrize("process_id", ["has-dash", "with space", "ümlaut", "", "a/b", "x.y"])
async def test_ids_other_than_word_characters_are_invalid(
    service: RunningProcesses, process_id: str
) -> None:
    with pytest.raises(ProcessInvalid, match="letters, digits and underscores"):
        await put(service, process_id, scaled())


async def test_a_predefined_process_cannot_be_overridden(service: RunningProcesses) -> None:
    with pytest.raises(PredefinedProcessExists, match="'ndvi'"):
        await put(service, "ndvi", scaled())
    # A process of the specifications the executor does not implement is no predefined one
    # here (it is not listed at GET /processes), so users may supply it themselves.
    official = {**core_process_specs(), **proposal_process_specs()}
    unimplemented = sorted(set(official) - IMPLEMENTED_PROCESSES)
    if not unimplemented:
        pytest.skip("the executor implements every official process")
    await put(service, unimplemented[0], calling("absolute", namespace=None, x=-1))


@pytest.mark.parametrize(
    ("process", "error"),
    [
        ("{not json", BadRequest),
        ("[1, 2]", ProcessGraphMissing),
        ({"summary": "no graph"}, ProcessGraphMissing),
        ({**scaled(), "summary": 7}, ProcessInvalid),
        ({**scaled(), "categories": ["a", 1]}, ProcessInvalid),
        ({**scaled(), "parameters": [{"description": "nameless"}]}, ProcessInvalid),
        ({**scaled(), "parameters": [{"name": "x"}, {"name": "x"}]}, ProcessInvalid),
        ({**scaled(), "returns": "number"}, ProcessInvalid),
        ({**scaled(), "deprecated": "no"}, ProcessInvalid),
        (calling("teleport", namespace=None), ProcessUnsupported),
        # The graph reads a parameter the process does not declare.
        ({**scaled(), "parameters": []}, ProcessGraphInvalid),
    ],
)
async def test_invalid_processes_are_refused_with_their_code(
    service: RunningProcesses, process: Any, error: type[OpenEOError]
) -> None:
    with pytest.raises(error):
        await put(service, "bad", process)
    with pytest.raises(ProcessGraphNotFound):
        await get(service, "bad")


async def test_calls_of_other_user_processes_are_validated_against_their_parameters(
    service: RunningProcesses,
) -> None:
    with pytest.raises(ProcessUnsupported, match="'scale' is not available in namespace 'user'"):
        await put(service, "double", calling("scale", x=1, factor=2))
    await put(service, "scale", scaled())
    with pytest.raises(ProcessParameterRequired, match="'scale' parameter 'factor'"):
        await put(service, "double", calling("scale", x=1))
    # Namespace null reaches user-defined processes too; `offset` has a default.
    await put(service, "double", calling("scale", namespace=None, x=1, factor=2))
    assert (await get(service, "double"))["process_graph"]["c"]["process_id"] == "scale"


async def test_validation_reaches_the_callers_user_processes(service: RunningProcesses) -> None:
    await put(service, "scale", scaled())
    assert await validate(service, calling("scale", x=1, factor=2)) == []
    assert await validate(service, calling("scale", namespace=None, x=1, factor=2)) == []
    # A child process graph may call it as well.
    child = calling("scale", x={"from_parameter": "x"}, factor=2)
    count = calling("count", namespace=None, data=[1, 2], condition=child)
    assert await validate(service, count) == []
    assert await validate(service, calling("scale", x=1)) == [
        ("ProcessParameterRequired", "Process 'scale' parameter 'factor' is required.")
    ]
    assert [code for code, _ in await validate(service, calling("scale", x=1, y=2, factor=1))] == [
        "ProcessParameterUnsupported"
    ]
    assert await validate(service, calling("nope", x=1)) == [
        (
            "ProcessUnsupported",
            "Process with identifier 'nope' is not available in namespace 'user'.",
        )
    ]
    # `backend` means predefined processes only.
    assert [
        code for code, _ in await validate(service, calling("scale", "backend", x=1, factor=2))
    ] == ["ProcessUnsupported"]


async def test_a_process_calling_itself_is_refused(service: RunningProcesses) -> None:
    with pytest.raises(ProcessGraphInvalid, match=r"'loop' calls itself \(loop -> loop\)"):
        await put(service, "loop", calling("loop"))
    with pytest.raises(ProcessGraphNotFound):
        await get(service, "loop")


async def test_a_process_calling_itself_through_others_is_refused(
    service: RunningProcesses,
) -> None:
    await put(service, "a", calling("absolute", namespace=None, x=-1))
    await put(service, "b", calling("a"))
    child = calling("b", namespace=None)
    await put(service, "c", calling("count", namespace=None, data=[1], condition=child))
    # `a` replaced by a call of `c` closes the loop a -> c -> b -> a, inside a child graph.
    with pytest.raises(ProcessGraphInvalid, match=r"'a' calls itself \(a -> c -> b -> a\)"):
        await put(service, "a", calling("c"))
    assert (await get(service, "a"))["process_graph"]["c"]["process_id"] == "absolute"


async def test_calls_nesting_deeper_than_the_depth_limit_are_refused(
    service: RunningProcesses,
) -> None:
    await put(service, "p1", calling("absolute", namespace=None, x=-1))
    for level in range(2, MAX_DEPTH + 1):
        await put(service, f"p{level}", calling(f"p{level - 1}"))
    with pytest.raises(ProcessGraphComplexity, match=f"deeper than {MAX_DEPTH} levels"):
        await put(service, "too_deep", calling(f"p{MAX_DEPTH}"))


def inside_callbacks(depth: int, inner: dict[str, Any]) -> dict[str, Any]:
    """`inner` (a process) as the child process of `count`'s condition, `depth` deep."""
    for _ in range(depth):
        inner = calling("count", namespace=None, data=[1], condition=inner)
    return inner


async def test_child_graphs_and_calls_count_together_in_the_depth(
    service: RunningProcesses,
) -> None:
    """A user-defined process runs one level below the graph calling it, and its child
    process graphs below that: PUT and /validation count them as the evaluator nests them."""
    # Stored: its child graph is at level MAX_DEPTH once it is called.
    await put(service, "deepest", inside_callbacks(MAX_DEPTH - 1, calling("absolute", None, x=1)))
    with pytest.raises(ProcessGraphComplexity, match=f"deeper than {MAX_DEPTH} levels"):
        await put(service, "too_deep", inside_callbacks(MAX_DEPTH, calling("absolute", None, x=1)))
    assert await validate(service, calling("deepest")) == []
    (error,) = await validate(service, inside_callbacks(1, calling("deepest")))
    assert error[0] == "ProcessGraphComplexity"
    # Through a chain of calls, from the top-level graph of a job or request.
    with pytest.raises(ProcessGraphComplexity):
        await put(service, "calls_deepest", calling("deepest"))
    await put(service, "shallower", inside_callbacks(MAX_DEPTH - 2, calling("absolute", None, x=1)))
    await put(service, "calls_shallower", calling("shallower"))
    assert await validate(service, calling("calls_shallower")) == []
    (error,) = await validate(service, inside_callbacks(1, calling("calls_shallower")))
    assert error[0] == "ProcessGraphComplexity"


async def test_processes_are_unique_per_owner_and_id_by_index(service: RunningProcesses) -> None:
    indexes = await service.database["user_processes"].index_information()
    assert any(
        index.get("unique") and [name for name, _ in index["key"]] == ["tenant_id", "user_id", "id"]
        for index in indexes.values()
    )
