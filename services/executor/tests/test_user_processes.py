"""User-defined processes in the evaluator (defaults, required and unsupported parameters,
nesting, scoping, recursion refused at run time) and the executor's clients of the
caller's workspace: user processes from the real processes service, files over a
`DownloadFile` stream."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from conftest import Infrastructure
from eoplex.servers import free_port
from eoplex_common.errors import (
    FileNotFound,
    FilePathInvalid,
    ProcessGraphComplexity,
    ProcessGraphInvalid,
    ProcessParameterRequired,
    ProcessParameterUnsupported,
    ProcessUnsupported,
    ServiceUnavailable,
)
from eoplex_common.process_graph import GraphLimits
from eoplex_common.rpc import GrpcService
from eoplex_executor.engine.environment import Environment, Limits
from eoplex_executor.engine.graph import execute
from eoplex_executor.engine.run import run_process
from eoplex_executor.io.clients import CallerWorkspace, GrpcUserProcesses, Workspace
from eoplex_executor.serve.estimate import estimate_process
from eoplex_proto.openeo.files.v1 import files_pb2, files_pb2_grpc
from eoplex_proto.openeo.processes.v1 import processes_pb2, processes_pb2_grpc
from services.processes.tests.processes_server import RunningProcesses, running_processes

Processes = dict[str, dict[str, Any]]


def node(
    process_id: str, *, result: bool = False, namespace: str | None = None, **arguments: Any
) -> dict[str, Any]:
    value: dict[str, Any] = {"process_id": process_id, "arguments": arguments, "result": result}
    if namespace is not None:
        value["namespace"] = namespace
    return value


def param(name: str) -> dict[str, str]:
    return {"from_parameter": name}


def parameter(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "description": name, "schema": {"type": "number"}, **fields}


# `x * factor + offset`: `factor` required, `offset` defaults to 10.
SCALE = {
    "parameters": [
        parameter("x"),
        parameter("factor"),
        parameter("offset", optional=True, default=10),
    ],
    "process_graph": {
        "m": node("multiply", x=param("x"), y=param("factor")),
        "a": node("add", result=True, x={"from_node": "m"}, y=param("offset")),
    },
}
# `scale(x, factor=2) > threshold`, threshold defaulting to 25: a user process calling another.
IS_BIG = {
    "parameters": [parameter("x"), parameter("threshold", optional=True, default=25)],
    "process_graph": {
        "s": node("scale", namespace="user", x=param("x"), factor=2),
        "g": node("gt", result=True, x={"from_node": "s"}, y=param("threshold")),
    },
}


def environment(
    tmp_path: Path, processes: Processes | Callable[[str], Any], *, max_depth: int = 10
) -> Environment:
    lookup = processes if callable(processes) else processes.get
    return Environment(
        catalog=None,  # type: ignore[arg-type]  # these processes load no collection
        scratch_dir=tmp_path,
        limits=Limits(graph=GraphLimits(max_depth=max_depth)),
        user_processes=lookup,
    )


def call(process_id: str, namespace: str | None = "user", **arguments: Any) -> dict[str, Any]:
    return {"process_graph": {"c": node(process_id, result=True, namespace=namespace, **arguments)}}


def test_defaults_of_left_out_parameters_apply(tmp_path: Path) -> None:
    env = environment(tmp_path, {"scale": SCALE})
    assert execute(call("scale", x=3, factor=2), env) == 16
    assert execute(call("scale", x=3, factor=2, offset=0), env) == 6
    # Namespace null reaches user-defined processes as well.
    assert execute(call("scale", namespace=None, x=1, factor=1), env) == 11


def test_missing_and_unknown_arguments_are_refused(tmp_path: Path) -> None:
    env = environment(tmp_path, {"scale": SCALE})
    with pytest.raises(ProcessParameterRequired, match="'scale' parameter 'factor'"):
        execute(call("scale", x=3), env)
    with pytest.raises(ProcessParameterUnsupported, match="'scale' does not support parameter 'y'"):
        execute(call("scale", x=3, factor=1, y=2), env)


def test_backend_namespace_and_missing_processes_are_unsupported(tmp_path: Path) -> None:
    env = environment(tmp_path, {"scale": SCALE})
    with pytest.raises(ProcessUnsupported, match="namespace 'backend'"):
        execute(call("scale", namespace="backend", x=1, factor=1), env)
    with pytest.raises(ProcessUnsupported, match="'nope' is not available in namespace 'user'"):
        execute(call("nope", x=1), env)


def test_nested_user_processes_also_inside_callbacks(tmp_path: Path) -> None:
    env = environment(tmp_path, {"scale": SCALE, "is_big": IS_BIG})
    # is_big(x) = x * 2 + 10 > 25, i.e. x > 7.5
    assert execute(call("is_big", x=8), env) is True
    assert execute(call("is_big", x=7), env) is False
    condition = {
        "process_graph": {"b": node("is_big", result=True, namespace="user", x=param("x"))}
    }
    counted = call("count", namespace=None, data=[1, 7, 8, 30], condition=condition)
    assert run_process(counted, env)[0].path.read_text() == "2"


def test_a_user_process_sees_only_its_own_parameters(tmp_path: Path) -> None:
    # `offset` is a parameter of the calling graph, not of `leaky`: it must not leak in.
    leaky = {
        "parameters": [parameter("x")],
        "process_graph": {"a": node("add", result=True, x=param("x"), y=param("offset"))},
    }
    env = environment(tmp_path, {"leaky": leaky})
    process = {
        "process_graph": {"c": node("leaky", result=True, namespace="user", x=param("offset"))}
    }
    with pytest.raises(ProcessParameterRequired, match="'offset'"):
        execute(process, env, offset=1)


def test_a_process_without_declared_parameters_takes_its_arguments(tmp_path: Path) -> None:
    free = {"process_graph": {"a": node("add", result=True, x=param("x"), y=param("y"))}}
    env = environment(tmp_path, {"free": free})
    assert execute(call("free", x=1, y=2), env) == 3


def test_recursion_is_refused_at_run_time(tmp_path: Path) -> None:
    """Processes changed after validation to call themselves (here: stored so), directly
    or through others, inside a callback too: a clear error, not a RecursionError."""
    loop = {"process_graph": {"l": node("loop", result=True, namespace="user")}}
    env = environment(tmp_path, {"loop": loop})
    with pytest.raises(ProcessGraphInvalid, match=r"'loop' calls itself \(loop -> loop\)"):
        execute(call("loop"), env)
    condition = {"process_graph": {"a": node("a", result=True, namespace="user")}}
    processes: Processes = {
        "a": {"process_graph": {"b": node("b", result=True)}},
        "b": {"process_graph": {"c": node("count", result=True, data=[1], condition=condition)}},
    }
    with pytest.raises(ProcessGraphInvalid, match=r"'a' calls itself \(a -> b -> a\)"):
        run_process(call("a"), environment(tmp_path, processes))


def test_a_process_replaced_between_validation_and_evaluation(tmp_path: Path) -> None:
    """The first lookup (validation) sees a harmless `p`, later ones a `p` calling itself."""
    versions = [call("absolute", namespace=None, x=-1)]
    seen: list[str] = []

    def lookup(process_id: str) -> dict[str, Any] | None:
        seen.append(process_id)
        return versions[0] if len(seen) == 1 else call("p")

    with pytest.raises(ProcessGraphInvalid, match="calls itself"):
        run_process(call("p"), environment(tmp_path, lookup))


def test_nesting_beyond_the_depth_limit_is_too_complex(tmp_path: Path) -> None:
    processes: Processes = {"p0": call("absolute", namespace=None, x=-2)}
    for level in range(1, 6):
        processes[f"p{level}"] = call(f"p{level - 1}")
    assert execute(call("p4"), environment(tmp_path, processes, max_depth=5)) == 2
    with pytest.raises(ProcessGraphComplexity, match="deeper than 5 levels"):
        execute(call("p5"), environment(tmp_path, processes, max_depth=5))


def test_an_estimate_sees_the_callers_user_processes(tmp_path: Path) -> None:
    process = call("scale", x=1, factor=2)
    with pytest.raises(ProcessUnsupported):
        estimate_process(process, catalog=None)  # type: ignore[arg-type]
    caller = CallerWorkspace(user_processes={"scale": SCALE}.get)
    estimate = estimate_process(process, catalog=None, caller=caller)  # type: ignore[arg-type]
    # A number saved as JSON: nothing read, one file written.
    assert (estimate.pixels_read, estimate.files_written) == (0, 1)


# The workspace clients against services.


@pytest.fixture
async def processes(infrastructure: Infrastructure) -> AsyncIterator[RunningProcesses]:
    async with running_processes(
        data_discovery_address=f"127.0.0.1:{free_port()}", mongodb_url=infrastructure.mongodb_url
    ) as running:
        yield running


async def test_user_processes_come_from_the_processes_service_for_their_owner_only(
    processes: RunningProcesses, tmp_path: Path
) -> None:
    alice = processes_pb2.Owner(user_id="alice", tenant_id="t1")
    for process_id, process in (("scale", SCALE), ("is_big", IS_BIG)):
        request = processes_pb2.PutUserProcessRequest(
            owner=alice, process_graph_id=process_id, process_json=json.dumps(process)
        )
        await processes.processes.PutUserProcess(request)
    stub = processes_pb2_grpc.ProcessesServiceStub(grpc.insecure_channel(processes.address))
    lookup = GrpcUserProcesses(stub, user_id="alice", tenant_id="t1", timeout_seconds=5)
    assert await asyncio.to_thread(lookup, "scale") == {**SCALE, "id": "scale"}
    assert await asyncio.to_thread(lookup, "missing") is None
    env = environment(tmp_path, lookup)
    assert await asyncio.to_thread(execute, call("is_big", x=8), env) is True
    bob = GrpcUserProcesses(stub, user_id="bob", tenant_id="t1", timeout_seconds=5)
    assert await asyncio.to_thread(bob, "scale") is None
    with pytest.raises(ProcessUnsupported):
        await asyncio.to_thread(run_process, call("is_big", x=8), environment(tmp_path, bob))


def test_an_unreachable_processes_service_is_service_unavailable() -> None:
    workspace = Workspace(
        processes_address=f"127.0.0.1:{free_port()}",
        files_address=f"127.0.0.1:{free_port()}",
        timeout_seconds=1,
    )
    try:
        caller = workspace.for_owner(user_id="alice", tenant_id="t1")
        with pytest.raises(ServiceUnavailable, match="processes"):
            caller.user_processes("scale")
        with pytest.raises(ServiceUnavailable, match="files"):
            caller.user_files.download("a.txt", Path("/nonexistent/never-written"))
    finally:
        workspace.close()


class FakeFiles(files_pb2_grpc.FilesServiceServicer):
    """DownloadFile over `files`: (user, tenant) -> path -> content, in 3-byte chunks;
    `short` paths announce one byte more than they send."""

    def __init__(self) -> None:
        self.files = {
            ("alice", "t1"): {
                "aoi/fields.geojson": b'{"type": "FeatureCollection"}',
                "short": b"abc",
            }
        }

    async def DownloadFile(
        self, request: files_pb2.DownloadFileRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[files_pb2.DownloadChunk]:
        if ".." in request.path:
            raise FilePathInvalid()
        content = self.files.get((request.owner.user_id, request.owner.tenant_id), {}).get(
            request.path
        )
        if content is None:
            raise FileNotFound(file=request.path)
        length = len(content) + (1 if request.path == "short" else 0)
        info = files_pb2.FileInfo(path=request.path, size=length, modified="2022-01-01T00:00:00Z")
        yield files_pb2.DownloadChunk(
            header=files_pb2.DownloadHeader(info=info, offset=0, length=length)
        )
        for start in range(0, len(content), 3):
            yield files_pb2.DownloadChunk(data=content[start : start + 3])


def files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob("*") if path.is_file())


@pytest.fixture
async def files_address() -> AsyncIterator[str]:
    server = GrpcService(name="files", listen=f"127.0.0.1:{free_port()}", grace_seconds=0.1)
    files_pb2_grpc.add_FilesServiceServicer_to_server(FakeFiles(), server.server)
    await server.start()
    try:
        yield server.listen
    finally:
        await server.stop()


async def test_user_files_are_downloaded_for_their_owner_only(
    files_address: str, tmp_path: Path
) -> None:
    workspace = Workspace(
        processes_address=f"127.0.0.1:{free_port()}", files_address=files_address, timeout_seconds=5
    )
    try:
        alice = workspace.for_owner(user_id="alice", tenant_id="t1").user_files
        target = tmp_path / "in" / "fields.geojson"
        assert await asyncio.to_thread(alice.download, "aoi/fields.geojson", target) == target
        assert target.read_bytes() == b'{"type": "FeatureCollection"}'
        bob = workspace.for_owner(user_id="bob", tenant_id="t1").user_files
        with pytest.raises(FileNotFound, match=r"aoi/fields\.geojson"):
            await asyncio.to_thread(bob.download, "aoi/fields.geojson", tmp_path / "bob")
        with pytest.raises(FilePathInvalid):
            await asyncio.to_thread(alice.download, "../x", tmp_path / "escape")
        with pytest.raises(ServiceUnavailable):
            await asyncio.to_thread(alice.download, "short", tmp_path / "short")
        # Nothing is left of the failed downloads.
        assert await asyncio.to_thread(files_in, tmp_path) == ["fields.geojson"]
    finally:
        workspace.close()
