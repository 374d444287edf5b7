"""Attacks of issue 13, Medium "Deep graphs": processes as large and as deeply nested as
the advertised limits allow, end to end through the whole local stack.

The attack: a chain of 400-999 nodes, which `POST /validation` called valid, was a 500
on `POST /result`, a 500 on `GET /jobs/{job_id}/estimate` and a batch job ending in
"internal error (RecursionError)". What `/validation` accepts must run, on every path;
what lies beyond the limits (`OPENEO_PROCESSES_MAX_GRAPH_NODES`, `..._DEPTH`, whose
defaults the stack runs with) is the same openEO 4xx error on every path.
"""

import time
from collections.abc import Iterator
from typing import Any

import openeo
import pytest
import requests
from openeo.rest.job import BatchJob

from eoplex.stack import LocalStack
from eoplex_common.process_graph import GraphLimits
from tests.openapi_validation import validate_error
from tests.test_e2e_files import bearer_of, connect, new_user

LIMITS = GraphLimits()
S2 = "SENTINEL2_L2A_DEMO"
EXTENT = {"west": 11.28, "south": 46.47, "east": 11.29, "north": 46.48}
DATES = ["2022-06-01", "2022-06-11"]
FINAL = ("finished", "error", "canceled")
TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def connection(local_stack: LocalStack) -> Iterator[openeo.Connection]:
    """A user of a tenant of its own, so that its user-defined processes are its own."""
    assert local_stack.wait_for_demo_data(timeout_seconds=180)
    yield connect(local_stack, new_user(local_stack))


def add_chain(length: int, *, start: Any = 0) -> dict[str, Any]:
    """`length` `add` nodes, each adding 1 to the one before: the value is start + length."""
    graph: dict[str, Any] = {"n0": {"process_id": "add", "arguments": {"x": start, "y": 1}}}
    for index in range(1, length):
        previous = {"from_node": f"n{index - 1}"}
        graph[f"n{index}"] = {"process_id": "add", "arguments": {"x": previous, "y": 1}}
    graph[f"n{length - 1}"]["result"] = True
    return graph


def nested_array_apply(depth: int, innermost: dict[str, Any], *, data: Any) -> dict[str, Any]:
    """`array_apply` inside `array_apply`, `depth` child process graphs deep, over `data`;
    `innermost` is the graph at the bottom (it reads the parameter `x`)."""
    graph = innermost
    for level in range(depth, 0, -1):
        outer = [{"from_parameter": "x"}] if level > 1 else data
        graph = {
            "apply": {
                "process_id": "array_apply",
                "arguments": {"data": outer, "process": {"process_graph": graph}},
                "result": True,
            }
        }
    return graph


def plus_one() -> dict[str, Any]:
    """A child process graph adding 1 to its parameter `x`."""
    arguments = {"x": {"from_parameter": "x"}, "y": 1}
    return {"a": {"process_id": "add", "arguments": arguments, "result": True}}


def calling(process_id: str) -> dict[str, Any]:
    """A graph calling the user-defined process `process_id` with `x`."""
    return {
        "c": {
            "process_id": process_id,
            "namespace": "user",
            "arguments": {"x": {"from_parameter": "x"}},
            "result": True,
        }
    }


def nested_list(depth: int, value: Any) -> Any:
    for _ in range(depth):
        value = [value]
    return value


def post(connection: openeo.Connection, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        connection.build_url(path), json=body, headers=bearer_of(connection), timeout=120
    )


def validation_errors(connection: openeo.Connection, graph: dict[str, Any]) -> list[str]:
    """The codes `POST /validation` reports for the process of `graph`."""
    response = post(connection, "/validation", {"process_graph": graph})
    assert response.status_code == 200, response.text
    return [error["code"] for error in response.json()["errors"]]


def assert_refused(response: requests.Response, code: str) -> None:
    """A 4xx openEO error of `code` (not a 500)."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    validate_error(response.json())
    assert response.json()["code"] == code, response.text


def wait_for_final(job: BatchJob) -> str:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while (status := job.status()) not in FINAL:
        assert time.monotonic() < deadline, f"job still {status} after {TIMEOUT_SECONDS} s"
        time.sleep(0.5)
    return str(status)


def test_a_999_node_chain_that_validation_accepts_is_computed_by_post_result(
    connection: openeo.Connection,
) -> None:
    """Replays "a chain of 400-999 nodes ... gives 500 on POST /result"."""
    graph = add_chain(LIMITS.max_nodes - 1)
    assert validation_errors(connection, graph) == []
    response = post(connection, "/result", {"process": {"process_graph": graph}})
    assert response.status_code == 200, response.text
    assert response.json() == LIMITS.max_nodes - 1


def test_a_chain_of_cube_processes_at_the_node_limit_is_computed_by_post_result(
    connection: openeo.Connection,
) -> None:
    """Replays the deep chain on a data cube: `apply` on the result of `apply`, as many as
    the node limit allows, each with its own child process (two nodes per `apply`)."""
    graph: dict[str, Any] = {
        "n0": {
            "process_id": "load_collection",
            "arguments": {"id": S2, "spatial_extent": EXTENT, "temporal_extent": DATES},
        }
    }
    applies = (LIMITS.max_nodes - 2) // 2
    for index in range(1, applies + 1):
        graph[f"n{index}"] = {
            "process_id": "apply",
            "arguments": {
                "data": {"from_node": f"n{index - 1}"},
                "process": {"process_graph": plus_one()},
            },
        }
    graph["save"] = {
        "process_id": "save_result",
        "arguments": {"data": {"from_node": f"n{applies}"}, "format": "netCDF"},
        "result": True,
    }
    assert validation_errors(connection, graph) == []
    response = post(connection, "/result", {"process": {"process_graph": graph}})
    assert response.status_code == 200, response.text[:2000]
    assert response.content.startswith(b"\x89HDF"), response.content[:16]


def test_a_999_node_chain_as_a_batch_job_is_estimated_and_finishes(
    connection: openeo.Connection,
) -> None:
    """Replays "500 on the job estimate, and a batch job error 'internal error
    (RecursionError)'" for the chain `/validation` accepts."""
    job = connection.create_job({"process_graph": add_chain(LIMITS.max_nodes - 1)})
    try:
        estimate = job.estimate()
        assert estimate["size"] > 0, estimate
        job.start()
        assert wait_for_final(job) == "finished", job.logs()
        (asset,) = job.get_results().get_assets()
        assert requests.get(asset.href, timeout=60).json() == LIMITS.max_nodes - 1
    finally:
        job.delete()


def test_a_chain_beyond_the_node_limit_is_refused_with_the_same_4xx_everywhere(
    connection: openeo.Connection,
) -> None:
    """The other side of the limit: one node more than advertised is ProcessGraphComplexity
    on /validation, /result and job creation, never a 500."""
    graph = add_chain(LIMITS.max_nodes + 1)
    assert validation_errors(connection, graph) == ["ProcessGraphComplexity"]
    process = {"process": {"process_graph": graph}}
    assert_refused(post(connection, "/result", process), "ProcessGraphComplexity")
    assert_refused(post(connection, "/jobs", process), "ProcessGraphComplexity")


def test_callbacks_nested_to_the_depth_limit_run_and_one_level_deeper_is_refused(
    connection: openeo.Connection,
) -> None:
    """Replays deeply nested callbacks (a child process inside a child process inside ...),
    each holding a long chain: at the depth limit they run, one deeper is a 4xx."""
    innermost = add_chain(LIMITS.max_nodes - LIMITS.max_depth - 1, start={"from_parameter": "x"})
    deepest = nested_array_apply(LIMITS.max_depth, innermost, data=[1])
    assert validation_errors(connection, deepest) == []
    response = post(connection, "/result", {"process": {"process_graph": deepest}})
    assert response.status_code == 200, response.text
    assert response.json() == nested_list(LIMITS.max_depth, len(innermost) + 1)

    too_deep = nested_array_apply(LIMITS.max_depth + 1, plus_one(), data=[1])
    assert validation_errors(connection, too_deep) == ["ProcessGraphComplexity"]
    process = {"process": {"process_graph": too_deep}}
    assert_refused(post(connection, "/result", process), "ProcessGraphComplexity")
    assert_refused(post(connection, "/jobs", process), "ProcessGraphComplexity")


def put_user_process(
    connection: openeo.Connection, process_id: str, graph: dict[str, Any]
) -> requests.Response:
    body: dict[str, Any] = {
        "parameters": [{"name": "x", "schema": {"type": "number"}}],
        "process_graph": graph,
    }
    return requests.put(
        connection.build_url(f"/process_graphs/{process_id}"),
        json=body,
        headers=bearer_of(connection),
        timeout=60,
    )


def test_a_chain_of_user_defined_processes_to_the_depth_limit_runs(
    connection: openeo.Connection,
) -> None:
    """Replays "a UDP calling a UDP calling ...", as many as the depth limit allows, each
    a long chain of nodes: it runs on /result and in a batch job, with an estimate."""
    chain_length = LIMITS.max_nodes // 10
    for level in range(LIMITS.max_depth):
        # The call comes first, so that it is made at the bottom of the chain's evaluation.
        if level == 0:
            graph = add_chain(chain_length, start={"from_parameter": "x"})
        else:
            graph = add_chain(chain_length - 1, start={"from_node": "c"})
            graph |= calling(f"udp_chain_{level - 1}")
            graph["c"]["result"] = False
        response = put_user_process(connection, f"udp_chain_{level}", graph)
        assert response.status_code == 200, response.text
    top = calling(f"udp_chain_{LIMITS.max_depth - 1}")
    top["c"]["arguments"]["x"] = 0
    expected = chain_length + (LIMITS.max_depth - 1) * (chain_length - 1)
    assert validation_errors(connection, top) == []
    response = post(connection, "/result", {"process": {"process_graph": top}})
    assert response.status_code == 200, response.text
    assert response.json() == expected
    job = connection.create_job({"process_graph": top})
    try:
        assert job.estimate()["size"] > 0
        job.start()
        assert wait_for_final(job) == "finished", job.logs()
    finally:
        job.delete()


def test_user_processes_called_from_nested_callbacks_run_if_validation_accepts_them(
    connection: openeo.Connection,
) -> None:
    """Replays "a UDP calling a UDP calling ...", each call made from callbacks nested one
    level less deep than the limit, so that every process alone is within the limits.
    What `PUT /process_graphs` stores and `/validation` accepts must compute on /result;
    what they refuse is ProcessGraphComplexity, on /result too."""
    levels, chain_length = LIMITS.max_depth, 50
    stored = 0
    for level in range(levels):
        inner = (
            add_chain(chain_length, start={"from_parameter": "x"})
            if level == 0
            else calling(f"nested_udp_{level - 1}")
        )
        graph = nested_array_apply(levels - 1, inner, data=[{"from_parameter": "x"}])
        response = put_user_process(connection, f"nested_udp_{level}", graph)
        if response.status_code != 200:
            assert_refused(response, "ProcessGraphComplexity")
            break
        stored += 1
    assert stored > 0
    top = nested_array_apply(levels - 1, calling(f"nested_udp_{stored - 1}"), data=[1])
    errors = validation_errors(connection, top)
    response = post(connection, "/result", {"process": {"process_graph": top}})
    if errors:
        assert errors == ["ProcessGraphComplexity"]
        assert_refused(response, "ProcessGraphComplexity")
    else:
        assert response.status_code == 200, response.text
        expected = nested_list((stored + 1) * (levels - 1), 1 + chain_length)
        assert response.json() == expected


def test_a_user_process_nested_deeper_after_job_creation_is_a_4xx_estimate_and_job_error(
    connection: openeo.Connection,
) -> None:
    """The only way past validation to an estimate beyond the depth limit: a job's
    user-defined process replaced, after the job was created, by one that nests deeper.
    The estimate is ProcessGraphComplexity (not a 500), and so is the job's end (not an
    "internal error")."""
    assert put_user_process(connection, "deepened", plus_one()).status_code == 200
    top = nested_array_apply(LIMITS.max_depth - 1, calling("deepened"), data=[1])
    job = connection.create_job({"process_graph": top})
    try:
        deeper = nested_array_apply(1, plus_one(), data=[{"from_parameter": "x"}])
        assert put_user_process(connection, "deepened", deeper).status_code == 200
        estimate_url = connection.build_url(f"/jobs/{job.job_id}/estimate")
        estimate = requests.get(estimate_url, headers=bearer_of(connection), timeout=60)
        assert_refused(estimate, "ProcessGraphComplexity")
        start = post(connection, f"/jobs/{job.job_id}/results", {})
        if start.status_code != 202:
            assert_refused(start, "ProcessGraphComplexity")
            return
        assert wait_for_final(job) == "error"
        errors = [entry for entry in job.logs() if entry["level"] == "error"]
        assert errors and all("too complex" in entry["message"] for entry in errors), errors
    finally:
        job.delete()
