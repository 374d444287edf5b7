"""The evaluator (`eoplex_executor.engine.graph`): long chains and deep arguments cost no stack,
nesting is bounded by the depth limit and stays within a proven stack budget, and graphs
that changed since validation fail with openEO errors."""

import sys
from pathlib import Path
from types import FrameType
from typing import Any

import dask
import numpy as np
import pytest

from eoplex_common.errors import ProcessGraphComplexity, ProcessGraphInvalid
from eoplex_common.process_graph import MAX_GRAPH_DEPTH, GraphLimits
from eoplex_executor.engine.environment import Environment, Limits
from eoplex_executor.engine.graph import execute
from services.executor.tests.cubes import make_cube

# The frames above its caller that evaluation at MAX_GRAPH_DEPTH may take: half the
# interpreter's default recursion limit, the other half left to the caller (a worker, a
# batch job's thread, a gRPC thread) and to what the innermost processes call.
STACK_BUDGET = 500


def environment(tmp_path: Path, *, max_depth: int = 10, **processes: Any) -> Environment:
    return Environment(
        catalog=None,  # type: ignore[arg-type]  # these processes load no collection
        scratch_dir=tmp_path,
        limits=Limits(graph=GraphLimits(max_depth=max_depth)),
        user_processes=processes.get,
    )


def node(process_id: str, result: bool = False, **arguments: Any) -> dict[str, Any]:
    built = {"process_id": process_id, "arguments": arguments}
    return built | {"result": True} if result else built


def add_chain(length: int) -> dict[str, Any]:
    graph = {"n0": node("add", x=0, y=1)}
    for index in range(1, length):
        graph[f"n{index}"] = node("add", x={"from_node": f"n{index - 1}"}, y=1)
    graph[f"n{length - 1}"]["result"] = True
    return graph


def frames() -> int:
    """How many frames the calling thread's stack holds."""
    frame: FrameType | None = sys._getframe()
    count = 0
    while frame is not None:
        frame, count = frame.f_back, count + 1
    return count


def test_a_chain_ten_times_the_recursion_limit_is_evaluated(tmp_path: Path) -> None:
    length = 10 * sys.getrecursionlimit()
    assert execute({"process_graph": add_chain(length)}, environment(tmp_path)) == length


def test_arguments_nested_beyond_the_recursion_limit_are_resolved(tmp_path: Path) -> None:
    depth = 5 * sys.getrecursionlimit()
    nested: Any = {"from_node": "one"}
    for _ in range(depth):
        nested = [nested]
    graph = {
        "one": node("add", x=0, y=1),
        "first": node("array_element", result=True, data=nested, index=0),
    }
    value = execute({"process_graph": graph}, environment(tmp_path))
    for _ in range(depth - 1):
        assert isinstance(value, list) and len(value) == 1
        value = value[0]
    assert value == 1


def test_a_callback_holding_arguments_nested_beyond_the_recursion_limit_runs_on_a_cube(
    tmp_path: Path,
) -> None:
    """`array_apply` on a dimension first looks into its child process (does it read the
    label?): through arrays nested deeper than the recursion limit too."""
    cube = make_cube()
    for parameter in ("x", "label"):
        unused: Any = {"from_parameter": parameter}
        for _ in range(5 * sys.getrecursionlimit()):
            unused = [unused]
        keep = node("if", True, value=True, accept={"from_parameter": "x"}, reject=unused)
        keep_all = {"process_graph": {"keep": keep}}
        each = node("array_apply", True, data={"from_parameter": "data"}, process=keep_all)
        per_pixel = {"process_graph": {"each": each}}
        data = {"from_parameter": "cube"}
        graph = {"a": node("apply_dimension", True, data=data, dimension="t", process=per_pixel)}
        result = execute({"process_graph": graph}, environment(tmp_path), cube=cube)
        np.testing.assert_array_equal(result.data.values, cube.data.values)


def test_every_node_runs_once_after_the_nodes_it_reads(tmp_path: Path) -> None:
    """A diamond (two nodes reading one) and a second sink: `inspect` logs nothing here, so
    the saved files tell what ran; the shared node's value reaches both readers."""
    graph = {
        "base": node("add", x=1, y=1),
        "left": node("multiply", x={"from_node": "base"}, y=3),
        "right": node("multiply", x={"from_node": "base"}, y=5),
        "sum": node("add", x={"from_node": "left"}, y={"from_node": "right"}),
        "other_sink": node("save_result", data={"from_node": "left"}, format="JSON"),
        "out": node("save_result", result=True, data={"from_node": "sum"}, format="JSON"),
    }
    env = environment(tmp_path)
    execute({"process_graph": graph}, env)
    assert sorted(output.path.read_text() for output in env.outputs) == ["16", "6"]


def test_a_cycle_or_a_missing_node_met_at_run_time_is_invalid(tmp_path: Path) -> None:
    """Graphs that skipped validation (a user-defined process changed since): openEO errors."""
    cycle = add_chain(3)
    cycle["n0"]["arguments"]["x"] = {"from_node": "n2"}
    with pytest.raises(ProcessGraphInvalid, match="cycle"):
        execute({"process_graph": cycle}, environment(tmp_path))
    missing = {"a": node("add", result=True, x={"from_node": "gone"}, y=1)}
    with pytest.raises(ProcessGraphInvalid, match="'gone' is referenced but does not exist"):
        execute({"process_graph": missing}, environment(tmp_path))
    with pytest.raises(ProcessGraphInvalid, match="must be an object"):
        execute({"process_graph": {"a": 5}}, environment(tmp_path))


def callbacks(depth: int, innermost: dict[str, Any]) -> dict[str, Any]:
    """`array_apply` inside `array_apply` over `[x]`: `innermost` lies `depth` levels deep."""
    graph = innermost
    for _ in range(depth):
        process = {"process_graph": graph}
        graph = {"a": node("array_apply", True, data=[{"from_parameter": "x"}], process=process)}
    return graph


def test_child_graphs_and_user_process_graphs_nest_up_to_the_depth_limit(
    tmp_path: Path,
) -> None:
    """Each child process graph and each user-defined process's graph is one level below the
    graph using it; at run time too, whatever validation saw (the processes may change)."""
    plus_one = {"p": node("add", True, x={"from_parameter": "x"}, y=1)}
    udp = {"parameters": [{"name": "x"}], "process_graph": callbacks(2, plus_one)}
    call = {"c": node("udp", True, x={"from_parameter": "x"})}
    env = environment(tmp_path, max_depth=5, udp=udp)
    # Levels: top 0, its callbacks 1-2, the udp's graph 3, its callbacks 4-5.
    assert execute({"process_graph": callbacks(2, call)}, env, x=1) == [[[[2]]]]
    with pytest.raises(ProcessGraphComplexity, match="deeper than 5 levels"):
        execute({"process_graph": callbacks(3, call)}, env, x=1)


def neighborhoods(depth: int) -> dict[str, Any]:
    """`apply_neighborhood` computing its windows inside the one around it, the nesting
    that costs the most frames per level; `apply_kernel` at the bottom."""
    kernel = [[1, 1, 1], [1, 1, 1], [1, 1, 1]]
    graph = {"k": node("apply_kernel", True, data={"from_parameter": "data"}, kernel=kernel)}
    size = [{"dimension": name, "value": 2, "unit": "px"} for name in ("x", "y")]
    for level in range(depth, 0, -1):
        data = {"from_parameter": "data" if level > 1 else "cube"}
        process = {"process_graph": graph}
        graph = {"n": node("apply_neighborhood", True, data=data, size=size, process=process)}
    return graph


def test_the_deepest_nesting_a_deployment_may_allow_runs_within_the_stack_budget(
    tmp_path: Path,
) -> None:
    """The proof behind MAX_GRAPH_DEPTH: at that depth, the costliest nesting known runs
    (lazily and computed) with no more than STACK_BUDGET frames above its caller."""
    env = environment(tmp_path, max_depth=MAX_GRAPH_DEPTH)
    cube = make_cube(dates=["2022-06-01"], bands=["B04"], shape=(2, 2))
    limit = sys.getrecursionlimit()
    # Computed in this thread, whose stack the limit is measured from.
    with dask.config.set(scheduler="synchronous"):
        sys.setrecursionlimit(frames() + STACK_BUDGET)
        try:
            result = execute({"process_graph": neighborhoods(MAX_GRAPH_DEPTH)}, env, cube=cube)
            values = np.asarray(result.data.values)
        finally:
            sys.setrecursionlimit(limit)
    # Every window is the whole 2 x 2 cube, so the kernel (zero beyond the borders) sums it.
    np.testing.assert_array_equal(values, np.full((1, 1, 2, 2), 0 + 1 + 10 + 11))


def test_limits_beyond_what_the_evaluator_can_honour_are_refused() -> None:
    GraphLimits(max_depth=MAX_GRAPH_DEPTH)
    for limits in ({"max_depth": MAX_GRAPH_DEPTH + 1}, {"max_depth": 0}, {"max_nodes": 0}):
        with pytest.raises(ValueError, match="graph limits"):
            GraphLimits(**limits)
