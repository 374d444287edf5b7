"""Array processes: JSON edge cases the spec examples leave out (null, NaN, empty, labeled and
nested arrays, exact integers), child processes written as in spec examples, and the same
processes per pixel inside cubes through apply_dimension and reduce_dimension."""

import math
from typing import Any

import numpy as np
import pytest

from eoplex_common.errors import (
    ArrayElementNotAvailable,
    ArrayLabelConflict,
    ArrayLengthMismatch,
    ArrayNotLabeled,
    LabelExists,
    ProcessParameterInvalid,
)
from eoplex_executor.engine.cube import RasterCube
from eoplex_executor.engine.environment import Environment
from eoplex_executor.processes.arrays import LabeledArray
from services.executor.tests.cubes import computed, make_cube, run_graph
from services.executor.tests.test_spec_examples import _same

NAN = math.nan
DATES = ["2022-06-01", "2022-06-02", "2022-06-04", "2022-06-08"]


def node(process_id: str, **arguments: Any) -> dict[str, Any]:
    return {"process_id": process_id, "arguments": arguments}


def run(env: Environment, process_id: str, **arguments: Any) -> Any:
    """One process as a one-node graph, arguments written as in a spec example."""
    graph = {"node": {**node(process_id, **arguments), "result": True}}
    return run_graph(graph, env)


def child(**nodes: dict[str, Any]) -> dict[str, Any]:
    """A child process graph; the last node is its result."""
    graph = {name: dict(value) for name, value in nodes.items()}
    graph[list(graph)[-1]]["result"] = True
    return {"process_graph": graph}


def param(name: str) -> dict[str, str]:
    return {"from_parameter": name}


def run_labeled(
    env: Environment,
    data: list[Any],
    labels: list[Any],
    process_id: str,
    into: str = "data",
    **arguments: Any,
) -> Any:
    """`process_id` with the labeled array `data`/`labels` (made by array_create_labeled) as
    its parameter `into`."""
    arguments[into] = {"from_node": "labeled"}
    graph = {
        "labeled": node("array_create_labeled", data=data, labels=labels),
        "node": {**node(process_id, **arguments), "result": True},
    }
    return run_graph(graph, env)


# --- creating and combining --------------------------------------------------------------


def test_array_create_repeats_any_values_and_checks_repeat(env: Environment) -> None:
    assert run(env, "array_create", data=[[1], {"a": None}], repeat=2) == [
        [1],
        {"a": None},
        [1],
        {"a": None},
    ]
    for repeat in (0, True, 1.5):
        with pytest.raises(ProcessParameterInvalid, match="repeat"):
            run(env, "array_create", data=[1], repeat=repeat)


def test_labeled_arrays_keep_their_labels(env: Environment) -> None:
    made = run(env, "array_create_labeled", data=[1, None, 3], labels=["a", "b", 7])
    assert isinstance(made, LabeledArray) and made == [1, None, 3]
    assert made.labels == ["a", "b", 7]
    assert run_labeled(env, [1, 2], ["a", "b"], "array_labels") == ["a", "b"]
    assert run(env, "array_labels", data=[None, None]) == [0, 1]
    assert run(env, "array_labels", data=[]) == []
    assert run_labeled(env, [1, 2], ["a", 7], "array_find_label", label=7.0) == 1
    assert run_labeled(env, [1, 2], ["a", 7], "array_find_label", label="7") is None
    assert run(env, "array_find_label", data=[1, 2], label=0) is None  # not labeled


def test_array_create_labeled_errors(env: Environment) -> None:
    with pytest.raises(ArrayLengthMismatch):
        run(env, "array_create_labeled", data=[1, 2], labels=["a"])
    with pytest.raises(ProcessParameterInvalid, match="unique"):
        run(env, "array_create_labeled", data=[1, 2], labels=[1, 1.0])
    with pytest.raises(ProcessParameterInvalid, match="numbers or strings"):
        run(env, "array_create_labeled", data=[1], labels=[None])


def test_array_append_labels(env: Environment) -> None:
    assert run(env, "array_append", data=[], value=None) == [None]
    with pytest.raises(ArrayNotLabeled):
        run(env, "array_append", data=[1], value=2, label="x")
    appended = run_labeled(env, [1, 2], ["a", "b"], "array_append", value=3)
    assert appended == [1, 2, 3] and appended.labels == ["a", "b", 2]
    appended = run_labeled(env, [1], ["a"], "array_append", value=[3], label="z")
    assert appended == [1, [3]] and appended.labels == ["a", "z"]
    with pytest.raises(LabelExists):
        run_labeled(env, [1, 2], ["a", 2], "array_append", value=3)


def test_array_concat_keeps_labels_only_if_both_are_labeled(env: Environment) -> None:
    graph = {
        "one": node("array_create_labeled", data=[1, 2], labels=["a", "b"]),
        "two": node("array_create_labeled", data=[3], labels=["c"]),
        "node": {
            **node("array_concat", array1={"from_node": "one"}, array2={"from_node": "two"}),
            "result": True,
        },
    }
    both = run_graph(graph, env)
    assert both == [1, 2, 3] and both.labels == ["a", "b", "c"]
    graph["two"] = node("array_create_labeled", data=[3], labels=["a"])
    with pytest.raises(ArrayLabelConflict):
        run_graph(graph, env)
    one = run_labeled(env, [1], ["a"], "array_concat", "array1", array2=[None])
    assert one == [1, None] and not isinstance(one, LabeledArray)
    assert run(env, "array_concat", array1=[], array2=[]) == []
    with pytest.raises(ProcessParameterInvalid, match="array2"):
        run(env, "array_concat", array1=[1], array2=2)


def test_array_modify(env: Environment) -> None:
    assert run(env, "array_modify", data=["a", "c"], values=["b"], index=2) == ["a", "c", "b"]
    with pytest.raises(ArrayElementNotAvailable):
        run(env, "array_modify", data=["a"], values=["b"], index=2)
    assert run(env, "array_modify", data=[], values=[1], index=0) == [1]
    removed = run_labeled(env, [1, 2, 3], ["a", "b", "c"], "array_modify", values=[], index=1)
    assert removed == [1, 2, 3] and removed.labels == ["a", "b", "c"]  # length 0: nothing
    removed = run_labeled(
        env, [1, 2, 3], ["a", "b", "c"], "array_modify", values=[], index=1, length=1
    )
    assert removed == [1, 3] and removed.labels == ["a", "c"]
    # Values without labels discard the labels of a non-empty array.
    replaced = run_labeled(env, [1, 2], ["a", "b"], "array_modify", values=[9], index=0, length=1)
    assert replaced == [9, 2] and not isinstance(replaced, LabeledArray)
    graph = {
        "data": node("array_create_labeled", data=[1, 2], labels=["a", "b"]),
        "values": node("array_create_labeled", data=[9], labels=["b"]),
        "node": {
            **node(
                "array_modify",
                data={"from_node": "data"},
                values={"from_node": "values"},
                index=0,
                length=1,
            ),
            "result": True,
        },
    }
    with pytest.raises(ArrayLabelConflict):
        run_graph(graph, env)
    graph["node"]["arguments"]["length"] = 2  # "b" is replaced, so its label is free again
    updated = run_graph(graph, env)
    assert updated == [9] and updated.labels == ["b"]


# --- searching ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "value", "index"),
    [
        ([1, 2.0, 2], 2, 1),  # an integer equals a float
        ([True, 1], 1, 1),  # but a boolean is no number
        ([1, True], True, 1),
        ([None, NAN, 1], None, None),  # null is never found
        ([None, NAN, 1], NAN, None),  # neither is NaN (eq of NaN is false)
        (["2022-01-01", "2022-01-01T00:00:00Z"], "2022-01-01T00:00:00Z", 1),  # not interpreted
        ([{"a": 1}, [1]], [1], None),  # arrays and objects: always null
        ([], 1, None),
    ],
)
def test_array_find_and_contains_compare_as_eq(
    env: Environment, data: list[Any], value: Any, index: int | None
) -> None:
    assert run(env, "array_find", data=data, value=value) == index
    assert run(env, "array_contains", data=data, value=value) is (index is not None)


def test_array_find_reverse(env: Environment) -> None:
    assert run(env, "array_find", data=[1, 2, 1], value=1, reverse=True) == 2
    assert run(env, "array_find", data=[1, 2, 1], value=3, reverse=True) is None


# --- child processes (written as spec examples) ------------------------------------------


def test_array_apply_passes_value_index_label_and_context(env: Environment) -> None:
    process = child(
        plus=node("add", x=param("x"), y=param("index")),
        times=node("multiply", x={"from_node": "plus"}, y=param("context")),
    )
    assert run(env, "array_apply", data=[1, None, 3], process=process, context=10) == [
        10,
        None,
        50,
    ]
    labels = run_labeled(
        env,
        [1, 2],
        ["a", "b"],
        "array_apply",
        process=child(text=node("text_concat", data=[param("label"), param("x")])),
    )
    assert labels == ["a1", "b2"] and labels.labels == ["a", "b"]
    nested = run(
        env, "array_apply", data=[[1, 2], [], [None]], process=child(s=node("sum", data=param("x")))
    )
    assert nested == [3, None, None]
    assert run(env, "array_apply", data=[], process=child(a=node("absolute", x=param("x")))) == []


def test_array_filter_by_value_index_and_label(env: Environment) -> None:
    by_value = child(gt=node("gt", x=param("x"), y=2))
    assert run(env, "array_filter", data=[1, 3, None, 5, "7"], condition=by_value) == [3, 5]
    by_index = child(mod=node("lt", x=param("index"), y=param("context")))
    assert run(env, "array_filter", data=[4, 3, 2], condition=by_index, context=2) == [4, 3]
    by_label = child(eq=node("eq", x=param("label"), y="b"))
    kept = run_labeled(env, [1, 2, 3], ["a", "b", "c"], "array_filter", condition=by_label)
    assert kept == [2] and kept.labels == ["b"]


# --- ordering ----------------------------------------------------------------------------


def test_order_is_stable_both_ways_and_places_nodata(env: Environment) -> None:
    data = [2, None, 1, 2.0, NAN, 1]
    assert run(env, "order", data=data) == [2, 5, 0, 3]
    assert run(env, "order", data=data, asc=False) == [0, 3, 2, 5]
    assert run(env, "order", data=data, asc=False, nodata=True) == [0, 3, 2, 5, 1, 4]
    assert run(env, "order", data=data, nodata=False) == [1, 4, 2, 5, 0, 3]
    assert run(env, "order", data=[]) == []
    assert run(env, "order", data=[None], nodata=None) == []


def test_sort_compares_dates_as_instants(env: Environment) -> None:
    data = ["2022-01-01T01:00:00+02:00", "2021-12-31T23:30:00Z", "2022-01-01", None]
    # As strings, "2021-12-31T23:30:00Z" would come first; as instants it is second.
    assert run(env, "sort", data=data, nodata=False) == [
        None,
        "2022-01-01T01:00:00+02:00",
        "2021-12-31T23:30:00Z",
        "2022-01-01",
    ]


@pytest.mark.parametrize(
    ("data", "match"),
    [([1, "2022-01-01"], "together"), (["b", "a"], "neither a date"), ([True], "bool")],
)
def test_sort_refuses_what_cannot_be_ordered(env: Environment, data: list[Any], match: str) -> None:
    with pytest.raises(ProcessParameterInvalid, match=match):
        run(env, "sort", data=data)
    with pytest.raises(ProcessParameterInvalid, match="nodata"):
        run(env, "sort", data=[1], nodata="last")


def test_sort_and_rearrange_move_labels_with_values(env: Environment) -> None:
    ordered = run_labeled(env, [3, 1, 2], ["c", "a", "b"], "sort")
    assert ordered == [1, 2, 3] and ordered.labels == ["a", "b", "c"]
    picked = run_labeled(env, [3, 1], ["c", "a"], "rearrange", order=[1, 1])
    assert picked == [1, 1] and not isinstance(picked, LabeledArray)  # labels would repeat
    for order in ([2], [-1], [0.0], [True]):
        with pytest.raises(ProcessParameterInvalid, match="order"):
            run(env, "rearrange", data=[1, 2], order=order)
    assert run(env, "rearrange", data=[1, 2], order=[]) == []


# --- cumulative and interpolation ----------------------------------------------------------


def test_cumulative_integers_never_wrap(env: Environment) -> None:
    big = 2**62
    assert run(env, "cumsum", data=[big, big, big]) == [big, 2**63, 3 * big]
    assert run(env, "cumproduct", data=[big, big]) == [big, big * big]
    assert run(env, "cumsum", data=[1, 0.5]) == [1, 1.5]
    assert run(env, "cummax", data=[]) == []
    assert _same(run(env, "cummin", data=[None, 3, NAN, 1, 2]), [None, 3, NAN, 1, 1])


def test_cumulative_nodata(env: Environment) -> None:
    assert run(env, "cumsum", data=[None, 1, None, 2]) == [None, 1, None, 3]
    assert run(env, "cummax", data=[None, 1, 2], ignore_nodata=False) == [None, None, None]
    with_nan = run(env, "cumsum", data=[1, NAN, 2])
    assert with_nan[0] == 1 and math.isnan(with_nan[1]) and with_nan[2] == 3
    summed = run_labeled(env, [1, 2], ["a", "b"], "cumsum")
    assert summed == [1, 3] and summed.labels == ["a", "b"]
    with pytest.raises(ProcessParameterInvalid, match="numbers"):
        run(env, "cumsum", data=[1, "2"])
    with pytest.raises(ProcessParameterInvalid, match="ignore_nodata"):
        run(env, "cumsum", data=[1], ignore_nodata=None)


def test_interpolation_of_json_arrays(env: Environment) -> None:
    assert run(env, "array_interpolate_linear", data=[]) == []
    assert run(env, "array_interpolate_linear", data=[None, 2, None]) == [None, 2, None]
    filled = run(env, "array_interpolate_linear", data=[0, NAN, math.inf])
    assert filled[2] == math.inf and filled[1] == math.inf
    # Labels are the x axis: 2 is a third of the way from 0 to 6.
    spaced = run_labeled(env, [0, None, 6], [0, 2, 6], "array_interpolate_linear")
    assert spaced == [0, 2.0, 6] and spaced.labels == [0, 2, 6]
    dated = run_labeled(
        env, [0, None, 30], ["2022-01-01", "2022-01-11", "2022-01-31"], "array_interpolate_linear"
    )
    assert dated == [0, 10.0, 30]
    named = run_labeled(env, [0, None, 30], ["x", "y", "z"], "array_interpolate_linear")
    assert named == [0, 15.0, 30]
    with pytest.raises(ProcessParameterInvalid, match="numbers"):
        run(env, "array_interpolate_linear", data=[1, True])


# --- inside cubes ------------------------------------------------------------------------


def series(values: list[list[float]]) -> RasterCube:
    """A cube whose pixel (y=0, x=i) holds the time series values[i], one band."""
    array = np.array(values, dtype=np.float32).T  # (t, x)
    return make_cube(
        array[:, np.newaxis, np.newaxis, :],
        dates=DATES[: array.shape[0]],
        bands=["B"],
        shape=(1, array.shape[1]),
    )


def along_time(process: dict[str, Any], *, reduce: bool = False, **extra: Any) -> dict[str, Any]:
    process_id = "reduce_dimension" if reduce else "apply_dimension"
    key = "reducer" if reduce else "process"
    return {
        "node": {
            **node(process_id, data=param("cube"), dimension="t", **{key: process}, **extra),
            "result": True,
        }
    }


def pixels(result: RasterCube) -> list[list[Any]]:
    """Each pixel's series of an apply_dimension result as lists, NaN as None."""
    values = computed(result)[:, 0, 0, :].T
    return [[None if np.isnan(v) else float(v) for v in pixel] for pixel in values]


SERIES = [[3, NAN, 1, 2], [NAN, NAN, NAN, NAN], [5, 5, NAN, 4]]


def test_sort_and_order_per_pixel(env: Environment) -> None:
    cube = series(SERIES)
    ordered = run_graph(along_time(child(s=node("sort", data=param("data")))), env, cube=cube)
    assert pixels(ordered) == [[1, 2, 3, None], [None] * 4, [4, 5, 5, None]]
    assert ordered.labels("t") == [f"{d}T00:00:00Z" for d in DATES]  # apply_dimension keeps them
    descending = run_graph(
        along_time(child(s=node("sort", data=param("data"), asc=False, nodata=False))),
        env,
        cube=cube,
    )
    assert pixels(descending) == [[None, 3, 2, 1], [None] * 4, [None, 5, 5, 4]]
    positions = run_graph(along_time(child(o=node("order", data=param("data")))), env, cube=cube)
    assert pixels(positions) == [[2, 3, 0, None], [None] * 4, [3, 0, 1, None]]
    rearranged = child(
        o=node("order", data=param("data"), asc=False, nodata=True),
        r=node("rearrange", data=param("data"), order={"from_node": "o"}),
    )
    assert pixels(run_graph(along_time(rearranged), env, cube=cube)) == [
        [3, 2, 1, None],
        [None] * 4,
        [5, 5, 4, None],
    ]


def test_cumulative_per_pixel_keeps_labels(env: Environment) -> None:
    cube = series(SERIES)
    summed = run_graph(along_time(child(c=node("cumsum", data=param("data")))), env, cube=cube)
    assert pixels(summed) == [[3, None, 4, 6], [None] * 4, [5, 10, None, 14]]
    stopped = run_graph(
        along_time(child(c=node("cummax", data=param("data"), ignore_nodata=False))),
        env,
        cube=cube,
    )
    assert pixels(stopped) == [[3, None, None, None], [None] * 4, [5, 5, None, None]]


def test_integer_cubes_accumulate_without_wrapping(env: Environment) -> None:
    values = np.full((3, 1, 1, 1), 2**31 - 1, dtype=np.int32)
    cube = make_cube(values, dates=DATES[:3], bands=["B"], shape=(1, 1))
    summed = run_graph(along_time(child(c=node("cumsum", data=param("data")))), env, cube=cube)
    assert computed(summed)[:, 0, 0, 0].tolist() == [(2**31 - 1) * n for n in (1, 2, 3)]
    most = run_graph(along_time(child(c=node("cummax", data=param("data")))), env, cube=cube)
    assert computed(most).dtype == np.int32


def test_interpolation_along_time_uses_the_dates(env: Environment) -> None:
    # Dates 1, 2, 4 and 8 June: 0 on the 1st and 70 on the 8th make 10 a day.
    cube = series([[0, NAN, NAN, 70], [NAN, 1, NAN, NAN]])
    result = run_graph(
        along_time(child(i=node("array_interpolate_linear", data=param("data")))), env, cube=cube
    )
    assert pixels(result)[0] == pytest.approx([0, 10, 30, 70])
    assert pixels(result)[1] == [None, 1, None, None]


def test_find_and_contains_per_pixel(env: Environment) -> None:
    cube = series(SERIES)
    found = run_graph(
        along_time(
            child(f=node("array_find", data=param("data"), value=5, reverse=True)), reduce=True
        ),
        env,
        cube=cube,
    )
    assert computed(found)[0, 0, :].tolist()[2] == 1
    assert np.isnan(computed(found)[0, 0, :2]).all()
    contains = run_graph(
        along_time(child(c=node("array_contains", data=param("data"), value=1)), reduce=True),
        env,
        cube=cube,
    )
    assert computed(contains)[0, 0, :].tolist() == [True, False, False]
    for value in (None, NAN, "1", True):
        nothing = run_graph(
            along_time(
                child(c=node("array_contains", data=param("data"), value=value)), reduce=True
            ),
            env,
            cube=cube,
        )
        assert not computed(nothing).any()


def test_array_labels_and_find_label_of_a_dimension(env: Environment) -> None:
    cube = series(SERIES)
    count = run_graph(
        along_time(
            child(
                l=node("array_labels", data=param("data")),
                f=node("array_find_label", data=param("data"), label="2022-06-04T00:00:00Z"),
                e=node("array_element", data=param("data"), index={"from_node": "f"}),
            ),
            reduce=True,
        ),
        env,
        cube=cube,
    )
    assert pixels_of(count) == [1, None, None]


def pixels_of(result: RasterCube) -> list[Any]:
    return [None if np.isnan(v) else float(v) for v in computed(result)[0, 0, :]]


def test_array_apply_per_pixel_with_and_without_the_index(env: Environment) -> None:
    cube = series(SERIES)
    doubled = child(m=node("multiply", x=param("x"), y=2))
    result = run_graph(along_time(child(a=array_apply(doubled))), env, cube=cube)
    assert pixels(result) == [[6, None, 2, 4], [None] * 4, [10, 10, None, 8]]
    # Reading the index, the child runs once per label, on every pixel's value there.
    plus_index = child(m=node("add", x=param("x"), y=param("index")))
    result = run_graph(along_time(child(a=array_apply(plus_index))), env, cube=cube)
    assert pixels(result) == [[3, None, 3, 5], [None] * 4, [5, 6, None, 7]]
    by_label = child(
        e=node("eq", x=param("label"), y="2022-06-02T00:00:00Z"),
        i=node("if", value={"from_node": "e"}, accept=0, reject=param("x")),
    )
    result = run_graph(along_time(child(a=array_apply(by_label))), env, cube=cube)
    assert pixels(result) == [[3, 0, 1, 2], [None, 0, None, None], [5, 0, None, 4]]


def array_apply(process: dict[str, Any]) -> dict[str, Any]:
    return node("array_apply", data=param("data"), process=process)


def test_appending_and_concatenating_change_the_length_of_a_dimension(env: Environment) -> None:
    cube = series(SERIES)
    appended = child(
        m=node("max", data=param("data")),
        a=node("array_append", data=param("data"), value={"from_node": "m"}),
    )
    result = run_graph(along_time(appended), env, cube=cube)
    assert pixels(result) == [[3, None, 1, 2, 3], [None] * 5, [5, 5, None, 4, 5]]
    assert result.labels("t") == [0, 1, 2, 3, 4]  # apply_dimension enumerates a new length
    doubled = child(c=node("array_concat", array1=[0, None], array2=param("data")))
    result = run_graph(along_time(doubled), env, cube=cube)
    assert pixels(result)[0] == [0, None, 3, None, 1, 2]
    with pytest.raises(ArrayLabelConflict):
        run_graph(
            along_time(child(c=node("array_concat", array1=param("data"), array2=param("data")))),
            env,
            cube=cube,
        )
    with pytest.raises(LabelExists):
        run_graph(
            along_time(
                child(a=node("array_append", data=param("data"), value=1, label="2022-06-01"))
            ),
            env,
            cube=cube,
        )


def test_labels_inside_the_child_follow_the_array_processes(env: Environment) -> None:
    """Where array_find_label finds a label after each process (one answer for all pixels,
    broadcast by reduce_dimension)."""
    cube = series(SERIES)

    def position(label: Any, process_id: str, **arguments: Any) -> float:
        graph = child(
            p=node(process_id, data=param("data"), **arguments),
            n=node("array_find_label", data={"from_node": "p"}, label=label),
        )
        return float(computed(run_graph(along_time(graph, reduce=True), env, cube=cube))[0, 0, 0])

    assert position(4, "array_append", value=0) == 4  # the new value's label: its index
    assert position("2022-06-04T00:00:00Z", "array_append", value=0) == 2  # dates stay
    assert position(3, "sort") == 3  # sorted per pixel: labels 0..3
    assert np.isnan(position("2022-06-04T00:00:00Z", "sort"))
    assert position("2022-06-04T00:00:00Z", "cumsum") == 2  # dates kept
    assert np.isnan(position(3, "cumsum"))
    assert position("2022-06-08T00:00:00Z", "rearrange", order=[3, 0]) == 0  # moved along


def test_array_filter_along_a_dimension(env: Environment) -> None:
    cube = series(SERIES)
    by_label = child(
        f=node(
            "array_filter",
            data=param("data"),
            condition=child(n=node("neq", x=param("label"), y="2022-06-02T00:00:00Z")),
        )
    )
    result = run_graph(along_time(by_label), env, cube=cube)
    assert pixels(result) == [[3, 1, 2], [None] * 3, [5, None, 4]]
    by_value = child(
        f=node(
            "array_filter",
            data=param("data"),
            condition=child(n=node("gte", x=param("x"), y=2)),
        )
    )
    result = run_graph(along_time(by_value), env, cube=cube)
    assert pixels(result) == [[3, 2, None, None], [None] * 4, [5, 5, 4, None]]
    assert result.labels("t") == [f"{d}T00:00:00Z" for d in DATES]  # same length: kept
    every_other = child(
        f=node(
            "array_filter",
            data=param("data"),
            condition=child(
                m=node("mod", x=param("index"), y=2),
                e=node("eq", x={"from_node": "m"}, y=0),
            ),
        )
    )
    result = run_graph(along_time(every_other), env, cube=cube)
    assert pixels(result) == [[3, 1], [None] * 2, [5, None]]


def test_array_modify_and_create_along_a_dimension(env: Environment) -> None:
    cube = series(SERIES)
    replaced = child(
        m=node("array_modify", data=param("data"), values=[7, 8], index=1, length=2),
    )
    assert pixels(run_graph(along_time(replaced), env, cube=cube))[0] == [3, 7, 8, 2]
    removed = child(m=node("array_modify", data=param("data"), values=[], index=0, length=3))
    assert pixels(run_graph(along_time(removed), env, cube=cube)) == [[2], [None], [4]]
    with pytest.raises(ArrayElementNotAvailable):
        run_graph(
            along_time(child(m=node("array_modify", data=param("data"), values=[], index=5))),
            env,
            cube=cube,
        )
    repeated = child(c=node("array_create", data=param("data"), repeat=2))
    assert pixels(run_graph(along_time(repeated), env, cube=cube))[2] == [5, 5, None, 4] * 2


def test_array_create_labeled_relabels_a_dimension(env: Environment) -> None:
    cube = series(SERIES)
    graph = child(
        l=node("array_create_labeled", data=param("data"), labels=["a", "b", "c", "d"]),
        e=node("array_element", data={"from_node": "l"}, label="c"),
    )
    result = run_graph(along_time(graph, reduce=True), env, cube=cube)
    assert pixels_of(result) == [1, None, None]
    with pytest.raises(ArrayLengthMismatch):
        run_graph(
            along_time(child(l=node("array_create_labeled", data=param("data"), labels=["a"]))),
            env,
            cube=cube,
        )


def test_cube_values_in_plain_lists_are_stacked(env: Environment) -> None:
    """`sort([max(data), min(data), first(data)])`: per pixel, as the reducers read such lists."""
    cube = series(SERIES)
    graph = child(
        a=node("max", data=param("data")),
        b=node("min", data=param("data")),
        s=node("cumsum", data=[{"from_node": "a"}, {"from_node": "b"}]),
        e=node("array_element", data={"from_node": "s"}, index=1),
    )
    result = run_graph(along_time(graph, reduce=True), env, cube=cube)
    assert pixels_of(result) == [4, None, 9]


def random_series() -> np.ndarray:
    """(t=6, bands=2, y=3, x=4) float32 with ties and scattered no-data."""
    rng = np.random.default_rng(3)
    values = rng.integers(0, 5, size=(6, 2, 3, 4)).astype(np.float32)
    values[rng.random(values.shape) < 0.3] = NAN
    values[:, 0, 0, 0] = NAN
    return values


def test_per_pixel_results_match_numpy_with_one_chunk_per_date(env: Environment) -> None:
    values = random_series()
    dates = [f"2022-06-0{day}" for day in range(1, 7)]
    cube = make_cube(values, dates=dates, shape=(3, 4))
    cube = RasterCube(cube.data.chunk({"t": 1}), cube.crs, cube.dimension_types)
    ordered = run_graph(along_time(child(s=node("sort", data=param("data")))), env, cube=cube)
    np.testing.assert_array_equal(computed(ordered), np.sort(values, axis=0))
    summed = run_graph(along_time(child(s=node("cumsum", data=param("data")))), env, cube=cube)
    expected = np.where(np.isnan(values), NAN, np.nancumsum(values, axis=0))
    np.testing.assert_allclose(computed(summed), expected, equal_nan=True)
    descending = child(
        o=node("order", data=param("data"), asc=False, nodata=True),
        r=node("rearrange", data=param("data"), order={"from_node": "o"}),
    )
    result = computed(run_graph(along_time(descending), env, cube=cube))
    for pixel in np.ndindex(values.shape[1:]):
        series_ = values[(slice(None), *pixel)]
        valid = series_[~np.isnan(series_)]
        expected_pixel = np.concatenate([np.sort(valid)[::-1], np.full(6 - valid.size, NAN)])
        np.testing.assert_array_equal(result[(slice(None), *pixel)], expected_pixel)
    filled = computed(
        run_graph(
            along_time(child(i=node("array_interpolate_linear", data=param("data")))),
            env,
            cube=cube,
        )
    )
    days = np.arange(6, dtype=np.float64)
    for pixel in np.ndindex(values.shape[1:]):
        series_ = values[(slice(None), *pixel)].astype(np.float64)
        known = ~np.isnan(series_)
        if known.sum() < 2:
            np.testing.assert_array_equal(filled[(slice(None), *pixel)], series_)
            continue
        inside = (days >= days[known][0]) & (days <= days[known][-1])
        reference = np.where(inside, np.interp(days, days[known], series_[known]), NAN)
        np.testing.assert_allclose(filled[(slice(None), *pixel)], reference, equal_nan=True)


def test_an_emptied_dimension_and_nested_values(env: Environment) -> None:
    cube = series(SERIES)
    nothing = child(n=node("lt", x=param("index"), y=0))
    emptied = child(
        f=node("array_filter", data=param("data"), condition=nothing),
        a=node("array_append", data={"from_node": "f"}, value=1),
        c=node("array_contains", data={"from_node": "f"}, value=1),
        s=node("sum", data={"from_node": "a"}),
        i=node("if", value={"from_node": "c"}, accept=-1, reject={"from_node": "s"}),
    )
    assert pixels_of(run_graph(along_time(emptied, reduce=True), env, cube=cube)) == [1, 1, 1]
    with pytest.raises(ProcessParameterInvalid, match="one number, not list"):
        run_graph(
            along_time(child(a=node("array_append", data=param("data"), value=[1]))),
            env,
            cube=cube,
        )


def test_an_array_of_reduced_values_becomes_the_new_dimension(env: Environment) -> None:
    """`array_create([min(data), max(data)])` in apply_dimension: two values per pixel."""
    extremes = child(
        lo=node("min", data=param("data")),
        hi=node("max", data=param("data")),
        a=node("array_create", data=[{"from_node": "lo"}, {"from_node": "hi"}]),
    )
    result = run_graph(along_time(extremes), env, cube=series(SERIES))
    assert pixels(result) == [[1, 3], [None, None], [4, 5]]
    assert result.labels("t") == [0, 1]
