"""Text processes: cases beyond the spec examples (case folds that change the length,
empty patterns, positions, how values are written) and refused types."""

import math
from typing import Any

import pytest

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.environment import Environment
from services.executor.tests.cubes import make_cube, run_graph, run_process

MATCHERS = ["text_begins", "text_contains", "text_ends", "text_find"]


@pytest.mark.parametrize(
    ("process_id", "data", "pattern", "case_sensitive", "expected"),
    [
        ("text_begins", "Straße", "STRASS", False, True),
        ("text_begins", "Straße", "STRASS", True, False),
        ("text_ends", "Fuß", "SS", False, True),
        ("text_contains", "", "", True, True),
        ("text_contains", "abc", "", False, True),
        ("text_begins", "", "a", True, False),
        ("text_find", "Straße", "SSE", False, 4),  # "ß" (position 4) folds to "ss"
        ("text_find", "aßb", "b", False, 2),
        ("text_find", "abc", "", True, 0),
        ("text_find", "", "", False, 0),
        ("text_find", "banana", "ana", True, 1),
        ("text_find", "ÄÖÜ", "ü", True, None),
    ],
)
def test_matching(
    env: Environment, process_id: str, data: str, pattern: str, case_sensitive: bool, expected: Any
) -> None:
    result = run_process(process_id, env, data=data, pattern=pattern, case_sensitive=case_sensitive)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("process_id", MATCHERS)
@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"data": 1, "pattern": "1"}, "data"),
        ({"data": ["a"], "pattern": "a"}, "data"),
        ({"data": "a", "pattern": None}, "pattern"),
        ({"data": "a", "pattern": 1}, "pattern"),
        ({"data": "a", "pattern": "a", "case_sensitive": None}, "case_sensitive"),
    ],
)
def test_matching_refuses_other_types(
    env: Environment, process_id: str, arguments: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(ProcessParameterInvalid, match=f"'{parameter}'"):
        run_process(process_id, env, **arguments)


def test_matching_refuses_cube_values(env: Environment) -> None:
    with pytest.raises(ProcessParameterInvalid, match="'data'"):
        run_process("text_contains", env, data=make_cube().data, pattern="1")


@pytest.mark.parametrize(
    ("data", "separator", "expected"),
    [
        ([1.0, 2.5, -0.0], ",", "1,2.5,0"),
        ([math.nan, math.inf, -math.inf], " ", "NaN Infinity -Infinity"),
        ([1e21, 10**30], "|", "1000000000000000000000|1000000000000000000000000000000"),
        (["a", "b"], None, "anullb"),
        (["a", "b"], True, "atrueb"),
        (["a", "b"], 0.5, "a0.5b"),
        (["only"], "-", "only"),
        (["", ""], "", ""),
    ],
)
def test_text_concat_writes_values_as_json_does(
    env: Environment, data: list[Any], separator: Any, expected: str
) -> None:
    assert run_process("text_concat", env, data=data, separator=separator) == expected


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"data": "abc"}, "data"),
        ({"data": None}, "data"),
        ({"data": [["a"]]}, "data"),
        ({"data": [{"a": 1}]}, "data"),
        ({"data": ["a"], "separator": ["-"]}, "separator"),
    ],
)
def test_text_concat_refuses_other_types(
    env: Environment, arguments: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(ProcessParameterInvalid, match=f"'{parameter}'"):
        run_process("text_concat", env, **arguments)


def test_text_processes_in_a_graph(env: Environment) -> None:
    """A band name built with text_concat, then searched: values flow between text nodes."""
    graph = {
        "name": {
            "process_id": "text_concat",
            "arguments": {"data": ["B", 8, "A"], "separator": ""},
        },
        "find": {
            "process_id": "text_find",
            "arguments": {"data": {"from_node": "name"}, "pattern": "8a", "case_sensitive": False},
            "result": True,
        },
    }
    assert run_graph(graph, env) == 1
