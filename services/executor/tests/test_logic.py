"""`all` and `any`: the spec's truth tables on JSON arrays beyond its examples, and as
reducers along a dimension in `reduce_dimension` (boolean and numeric values, no-data)."""

import math
from typing import Any

import dask.array
import numpy as np
import pytest

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import DimensionArray, RasterCube
from eoplex_executor.engine.environment import Environment
from services.executor.tests.cubes import (
    graph_on_cube,
    make_cube,
    reducer_graph,
    result_node,
    run_graph,
    run_process,
)

NAN = math.nan


@pytest.mark.parametrize(
    ("data", "ignore_nodata", "all_", "any_"),
    [
        ([None, None], True, True, False),
        ([None, None], False, None, None),
        ([False, True, None], False, False, True),
        ([True, True, True], False, True, True),
        ([False, False], False, False, False),
        ([], False, True, False),
        ([None, False], False, False, None),
    ],
)
def test_truth_tables(
    env: Environment, data: list[Any], ignore_nodata: bool, all_: Any, any_: Any
) -> None:
    assert run_process("all", env, data=data, ignore_nodata=ignore_nodata) is all_
    assert run_process("any", env, data=data, ignore_nodata=ignore_nodata) is any_


@pytest.mark.parametrize("process_id", ["all", "any"])
@pytest.mark.parametrize("data", [[1, 0], [True, "true"], [True, NAN], [[True]], True, "x", None])
def test_only_arrays_of_booleans_or_null_are_accepted(
    env: Environment, process_id: str, data: Any
) -> None:
    with pytest.raises(ProcessParameterInvalid, match="'data'"):
        run_process(process_id, env, data=data)


@pytest.mark.parametrize("process_id", ["all", "any"])
def test_ignore_nodata_must_be_a_boolean(env: Environment, process_id: str) -> None:
    with pytest.raises(ProcessParameterInvalid, match="'ignore_nodata'"):
        run_process(process_id, env, data=[True], ignore_nodata=None)


def reduced(env: Environment, cube: RasterCube, process_id: str, **arguments: Any) -> np.ndarray:
    """`reduce_dimension(cube, process_id(data), "t")` as a real graph; its computed values."""
    reducer = reducer_graph(process_id, **arguments)
    graph = graph_on_cube("reduce_dimension", reducer=reducer, dimension="t")
    result = run_graph(graph, env, cube=cube)
    assert isinstance(result, RasterCube) and "t" not in result.dims
    assert isinstance(result.data.data, dask.array.Array), "the result is not lazy"
    assert result.data.dtype == bool
    return np.asarray(result.data.values)[0, 0]  # band B04, first row


def series(*pixels: list[float]) -> RasterCube:
    """A cube whose pixels (one row, one band) hold the given time series."""
    values = np.array(pixels, dtype=np.float32).T[:, np.newaxis, np.newaxis, :]
    dates = [f"2022-06-0{day + 1}" for day in range(values.shape[0])]
    return make_cube(values, dates=dates, bands=["B04"], shape=(1, len(pixels)))


# Pixels: all true, one false, one no-data, only no-data, all false; 0 is false, any
# other number true.
PIXELS = ([1, 2, 3], [1, 0, 3], [1, NAN, 5], [NAN, NAN, NAN], [0, 0, 0])


def test_all_and_any_along_time_ignoring_nodata(env: Environment) -> None:
    cube = series(*PIXELS)
    np.testing.assert_array_equal(reduced(env, cube, "all"), [True, False, True, True, False])
    np.testing.assert_array_equal(reduced(env, cube, "any"), [True, True, True, False, False])


def test_all_and_any_along_time_not_ignoring_nodata_hold_null_as_false(
    env: Environment,
) -> None:
    cube = series(*PIXELS)
    all_ = reduced(env, cube, "all", ignore_nodata=False)
    np.testing.assert_array_equal(all_, [True, False, False, False, False])
    any_ = reduced(env, cube, "any", ignore_nodata=False)
    np.testing.assert_array_equal(any_, [True, True, True, False, False])


def test_all_of_comparisons_along_bands(env: Environment) -> None:
    """A typical mask: every band above a threshold, from a boolean `gt` per value."""
    cube = make_cube()  # B04 holds 1000 t + 10 y + x, B08 100 more
    reducer = {
        "gt": {"process_id": "gt", "arguments": {"x": {"from_parameter": "data"}, "y": 1020}},
        "all": result_node("all", data={"from_node": "gt"}),
    }
    graph = graph_on_cube("reduce_dimension", reducer={"process_graph": reducer}, dimension="bands")
    result = run_graph(graph, env, cube=cube)
    assert result.data.dtype == bool
    np.testing.assert_array_equal(result.data.values, (cube.data > 1020).all("bands").values)


def test_a_list_of_cube_values_reduces_element_wise(env: Environment) -> None:
    data = make_cube().data.isel(t=0, bands=0, drop=True)  # 10 y + x
    result = run_process("any", env, data=[data > 30, data < 2, None])
    np.testing.assert_array_equal(result.values, ((data > 30) | (data < 2)).values)
    assert run_process("all", env, data=[data >= 0, True]).values.all()


def test_text_values_along_a_dimension_are_refused(env: Environment) -> None:
    labels = make_cube().data.coords["bands"]
    with pytest.raises(ProcessParameterInvalid):
        run_process("all", env, data=DimensionArray(labels, "bands"))
