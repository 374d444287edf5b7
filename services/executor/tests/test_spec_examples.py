"""Every example of the shipped openEO process specs, run through the real engine.

Examples are collected from the spec JSON at test time, for every process in
`IMPLEMENTED_PROCESSES`, so a process implemented later is covered without editing
this file. Each example runs as a one-node process graph and its result is compared
with the example's `returns` (NaN equals NaN, floats within a relative 1e-9); an
example that only `throws` must raise an openEO error.
"""

import math
from pathlib import Path
from typing import Any

import pytest

from eoplex_common.errors import OpenEOError
from eoplex_common.process_specs import IMPLEMENTED_PROCESSES, process_spec
from services.executor.tests.cubes import make_environment, run_graph


def _references(value: Any) -> bool:
    """Whether an argument reads a parameter or a node (not plain JSON). A child process
    (`{"process_graph": ...}`) is not one: the evaluator compiles it into a `Callback` as it
    does in any graph, and its `from_parameter`s read the child's own parameters."""
    if isinstance(value, dict) and "process_graph" in value:
        return False
    if isinstance(value, dict):
        if {"from_parameter", "from_node", "process_graph", "process_id"} & value.keys():
            return True
        return any(_references(item) for item in value.values())
    if isinstance(value, list):
        return any(_references(item) for item in value)
    return False


def _needs_cube(process_id: str) -> bool:
    """Processes whose `data`/`cube` parameter is a data cube, which no JSON example can hold."""
    spec = process_spec(process_id) or {}
    schemas = [parameter["schema"] for parameter in spec.get("parameters", [])]
    flat = [
        item for schema in schemas for item in (schema if isinstance(schema, list) else [schema])
    ]
    return any(
        str(item.get("subtype", "")).startswith(("datacube", "raster-cube")) for item in flat
    )


# Examples that contradict their own spec; they still run and must keep failing (strict xfail).
SPEC_ERRATA = {
    "array_modify-3": "the example omits `length` and expects one removal, but the spec's "
    "default `length` is 0 since openeo-processes#421 (it was 1); the parameter wins",
}


def _examples() -> list[Any]:
    cases = []
    for process_id in sorted(IMPLEMENTED_PROCESSES):
        spec = process_spec(process_id) or {}
        for index, example in enumerate(spec.get("examples", [])):
            arguments = example.get("arguments", {})
            if _references(arguments) or not {"returns", "throws"} & example.keys():
                continue  # not plain JSON, or nothing to compare with
            marks = []
            if _needs_cube(process_id):
                marks.append(pytest.mark.skip(reason="the example needs a data cube"))
            if f"{process_id}-{index}" in SPEC_ERRATA:
                marks.append(
                    pytest.mark.xfail(reason=SPEC_ERRATA[f"{process_id}-{index}"], strict=True)
                )
            cases.append(pytest.param(process_id, example, id=f"{process_id}-{index}", marks=marks))
    return cases


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return actual is expected or (isinstance(expected, str) and actual == expected)
    if isinstance(expected, int | float):
        if isinstance(actual, bool) or not isinstance(actual, int | float):
            return False
        if math.isnan(expected):
            return math.isnan(actual)
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_same(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(_same(actual[key], expected[key]) for key in expected)
        )
    return bool(actual == expected)


@pytest.mark.parametrize(("process_id", "example"), _examples())
def test_spec_example(process_id: str, example: dict[str, Any], tmp_path: Path) -> None:
    graph = {"node": {"process_id": process_id, "arguments": example["arguments"], "result": True}}
    env = make_environment(tmp_path)
    if "returns" not in example and "throws" in example:
        with pytest.raises(OpenEOError):
            run_graph(graph, env)
        return
    result = run_graph(graph, env)
    assert _same(result, example["returns"]), f"{process_id} gave {result!r}"


def test_the_collection_covers_the_math_and_reducer_examples() -> None:
    ids = {param.id for param in _examples()}
    assert {"add-2", "divide-1", "eq-10", "quantiles-0", "array_element-2", "count-3"} <= ids
    assert _needs_cube("reduce_dimension") and not _needs_cube("mean")


@pytest.mark.parametrize(
    ("actual", "expected", "same"),
    [
        (1.0, 1, True),
        (1.0 + 1e-12, 1, True),
        (1.001, 1, False),
        (True, 1, False),
        (1, True, False),
        (None, None, True),
        (0, None, False),
        (float("nan"), float("nan"), True),
        ([1, None], [1.0, None], True),
        ([1], [1, 2], False),
        ("A", "A", True),
    ],
)
def test_comparison_of_results_can_fail(actual: Any, expected: Any, same: bool) -> None:
    assert _same(actual, expected) is same


def test_child_processes_in_arguments_run_while_references_are_skipped() -> None:
    child = {
        "process_graph": {
            "n": {
                "process_id": "absolute",
                "arguments": {"x": {"from_parameter": "x"}},
                "result": True,
            }
        }
    }
    assert not _references({"data": [-1, 2], "process": child})
    assert _references({"data": {"from_parameter": "data"}, "process": child})
    assert _references({"data": [{"from_node": "load"}]})
