"""Reducers and array_element along a dimension of lazy cube values, compared with numpy,
and their edge cases on JSON arrays that the spec examples do not cover."""

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask.array
import numpy as np
import pytest
import xarray as xr

from eoplex_common.errors import ArrayElementNotAvailable, OpenEOError, ProcessParameterInvalid
from eoplex_executor.engine.cube import DimensionArray
from eoplex_executor.engine.environment import Environment
from eoplex_executor.engine.registry import implementations
from services.executor.tests.cubes import (
    child_graph,
    make_cube,
    result_node,
    run_graph,
    run_process,
)

NAN = np.nan
INVALID = ProcessParameterInvalid.code
DATES = ["2022-06-01", "2022-06-06", "2022-06-11", "2022-06-16"]


def cube_values() -> np.ndarray:
    """(t=4, bands=2, y=3, x=4) float32 with scattered no-data, one pixel without any value
    in time and one with a single value."""
    values = np.random.default_rng(7).uniform(-50, 1000, size=(4, 2, 3, 4)).astype(np.float32)
    values[np.random.default_rng(8).random(values.shape) < 0.25] = NAN
    values[:, 0, 0, 0] = NAN
    values[:, 1, 2, 3] = [NAN, 5.0, NAN, NAN]
    return values


def time_series(*, chunks: Any = -1) -> DimensionArray:
    data = make_cube(cube_values(), dates=DATES, shape=(3, 4)).data.chunk({"t": chunks})
    return DimensionArray(data, "t")


def quiet(function: Callable[..., np.ndarray], *args: Any, **kwargs: Any) -> np.ndarray:
    """A numpy reference, whose all-NaN warnings are expected here."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return function(*args, **kwargs)


REFERENCES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": lambda v: quiet(np.nanmean, v, axis=0),
    "median": lambda v: quiet(np.nanmedian, v, axis=0),
    "min": lambda v: quiet(np.nanmin, v, axis=0),
    "max": lambda v: quiet(np.nanmax, v, axis=0),
    "sum": lambda v: np.where(np.isnan(v).all(axis=0), NAN, np.nansum(v, axis=0)),
    "product": lambda v: np.where(np.isnan(v).all(axis=0), NAN, np.nanprod(v, axis=0)),
    "variance": lambda v: quiet(np.nanvar, v, axis=0, ddof=1),
    "sd": lambda v: quiet(np.nanstd, v, axis=0, ddof=1),
}


@pytest.mark.parametrize("process_id", sorted(REFERENCES))
@pytest.mark.parametrize("chunks", [-1, 1])
def test_reducers_along_time_skip_nodata_lazily(
    env: Environment, process_id: str, chunks: int
) -> None:
    data = time_series(chunks=chunks)
    result = run_process(process_id, env, data=data)
    assert isinstance(result.data, dask.array.Array)
    assert result.dims == ("bands", "y", "x")
    assert result.dtype == np.float32
    expected = REFERENCES[process_id](cube_values().astype(np.float64))
    np.testing.assert_allclose(result.values, expected, rtol=1e-5, equal_nan=True)
    assert np.isnan(result.values[0, 0, 0])  # a pixel without any value in time


@pytest.mark.parametrize("process_id", sorted(REFERENCES))
def test_reducers_not_ignoring_nodata_give_nodata_where_any_is_missing(
    env: Environment, process_id: str
) -> None:
    result = run_process(process_id, env, data=time_series(), ignore_nodata=False).values
    values = cube_values().astype(np.float64)
    complete = ~np.isnan(values).any(axis=0)
    assert np.isnan(result[~complete]).all()
    reference = REFERENCES[process_id](values)
    np.testing.assert_allclose(result[complete], reference[complete], rtol=1e-5)


def test_variance_of_a_single_value_is_nodata(env: Environment) -> None:
    assert np.isnan(run_process("variance", env, data=time_series()).values[1, 2, 3])
    assert run_process("mean", env, data=time_series()).values[1, 2, 3] == 5.0


def test_integer_values_reduce_in_floating_point(env: Environment) -> None:
    values = np.array([[[[65535]]], [[[65534]]]], dtype=np.uint16)
    data = DimensionArray(make_cube(values, dates=DATES[:2], bands=["B04"], shape=(1, 1)).data, "t")
    assert run_process("mean", env, data=data).values.item() == 65534.5
    assert run_process("sum", env, data=data).values.item() == 131069.0


@pytest.mark.parametrize(("process_id", "position"), [("first", 0), ("last", -1)])
def test_first_and_last_valid_values_along_time(
    env: Environment, process_id: str, position: int
) -> None:
    values = cube_values()
    ordered = values if position == 0 else values[::-1]
    valid = ~np.isnan(ordered)
    index = np.argmax(valid, axis=0)
    expected = np.take_along_axis(ordered, index[np.newaxis], axis=0)[0]
    result = run_process(process_id, env, data=time_series())
    assert isinstance(result.data, dask.array.Array)
    np.testing.assert_array_equal(result.values, expected)
    assert result.values[1, 2, 3] == 5.0
    strict = run_process(process_id, env, data=time_series(), ignore_nodata=False).values
    np.testing.assert_array_equal(strict, values[position])


def test_first_of_boolean_values_keeps_the_type(env: Environment) -> None:
    data = DimensionArray(make_cube().data > 1000, "t")
    result = run_process("first", env, data=data)
    assert result.dtype == np.bool_ and not result.values.any()
    assert run_process("last", env, data=data).values.all()


def test_quantiles_along_time_are_a_dimension_array(env: Environment) -> None:
    result = run_process(
        "quantiles", env, data=time_series(chunks=1), probabilities=[0.1, 0.5, 0.9]
    )
    assert isinstance(result, DimensionArray) and result.dimension == "t"
    assert result.data.dims == ("t", "bands", "y", "x")
    assert result.data["t"].values.tolist() == [0, 1, 2]
    assert isinstance(result.data.data, dask.array.Array)
    expected = quiet(np.nanquantile, cube_values().astype(np.float64), [0.1, 0.5, 0.9], axis=0)
    np.testing.assert_allclose(result.data.values, expected, rtol=1e-5, equal_nan=True)
    median = run_process("median", env, data=time_series()).values
    np.testing.assert_allclose(result.data.values[1], median, rtol=1e-6, equal_nan=True)


def test_q_quantiles_count_q_minus_one_values(env: Environment) -> None:
    result = run_process("quantiles", env, data=time_series(), probabilities=4)
    assert result.data.sizes["t"] == 3


def test_extrema_along_time_are_min_and_max(env: Environment) -> None:
    result = run_process("extrema", env, data=time_series())
    assert isinstance(result, DimensionArray)
    assert result.data.sizes["t"] == 2
    np.testing.assert_array_equal(
        result.data.values[0], run_process("min", env, data=time_series()).values
    )
    np.testing.assert_array_equal(
        result.data.values[1], run_process("max", env, data=time_series()).values
    )


def test_count_valid_all_and_by_condition(env: Environment, tmp_path: Path) -> None:
    values = cube_values()
    valid = run_process("count", env, data=time_series())
    assert isinstance(valid.data, dask.array.Array)
    np.testing.assert_array_equal(valid.values, (~np.isnan(values)).sum(axis=0))
    everything = run_process("count", env, data=time_series(), condition=True).values
    assert (everything == 4).all()
    above_500 = child_graph("gt", x={"from_parameter": "x"}, y=500)
    graph = {"count": result_node("count", data={"from_parameter": "data"}, condition=above_500)}
    above = run_graph(graph, env, data=time_series())
    np.testing.assert_array_equal(above.values, (values > 500).sum(axis=0))


def test_count_of_a_json_array_by_condition(env: Environment) -> None:
    at_least = child_graph("gte", x={"from_parameter": "x"}, y={"from_parameter": "context"})
    count = result_node("count", data=[0, 1, 2, 3, None, 10], condition=at_least, context=2)
    graph = {"count": count}
    assert run_graph(graph, env) == 3


@pytest.mark.parametrize(
    ("arguments", "band"),
    [({"index": 1}, 1), ({"label": "B04"}, 0), ({"label": "B08"}, 1)],
)
def test_array_element_picks_a_band(env: Environment, arguments: dict[str, Any], band: int) -> None:
    data = DimensionArray(make_cube().data, "bands")
    result = run_process("array_element", env, data=data, **arguments)
    assert isinstance(result.data, dask.array.Array)
    assert result.dims == ("t", "y", "x") and "bands" not in result.coords
    np.testing.assert_array_equal(result.values, make_cube().data.values[:, band])


@pytest.mark.parametrize(
    "label", ["2022-06-06T00:00:00Z", "2022-06-06", "2022-06-06T02:00:00+02:00"]
)
def test_array_element_picks_a_date_by_rfc3339_label(env: Environment, label: str) -> None:
    data = DimensionArray(make_cube().data, "t")
    result = run_process("array_element", env, data=data, label=label)
    np.testing.assert_array_equal(result.values, make_cube().data.values[1])
    by_index = run_process("array_element", env, data=data, index=2)
    np.testing.assert_array_equal(by_index.values, make_cube().data.values[2])


@pytest.mark.parametrize(
    ("dimension", "arguments"),
    [("bands", {"label": "B02"}), ("t", {"label": "2022-06-02"}), ("t", {"index": 3})],
)
def test_array_element_missing_along_a_dimension(
    env: Environment, dimension: str, arguments: dict[str, Any]
) -> None:
    data = DimensionArray(make_cube().data, dimension)
    with pytest.raises(ArrayElementNotAvailable, match="no element"):
        run_process("array_element", env, data=data, **arguments)
    nodata = run_process("array_element", env, data=data, return_nodata=True, **arguments)
    assert dimension not in nodata.dims and np.isnan(nodata.values).all()
    assert nodata.shape == make_cube().data.isel({dimension: 0}).shape


def test_reducers_of_a_list_of_cube_values(env: Environment) -> None:
    data = make_cube().data
    red, nir = data.sel(bands="B04", drop=True), data.sel(bands="B08", drop=True)
    mean = run_process("mean", env, data=[red, nir, None])
    assert isinstance(mean.data, dask.array.Array)
    np.testing.assert_allclose(mean.values, (red.values + nir.values) / 2)
    floor = run_process("max", env, data=[red, 1050])
    np.testing.assert_array_equal(floor.values, np.maximum(red.values, 1050))
    assert run_process("array_element", env, data=[red, nir], index=1) is nir


@pytest.mark.parametrize(
    ("process_id", "arguments", "expected"),
    [
        ("sum", {"data": [1, 2, 3]}, 6),
        ("max", {"data": [1, 2.5]}, 2.5),
        ("min", {"data": [3, -2]}, -2),
        ("product", {"data": [2, None, 3]}, 6),
        ("mean", {"data": [None, None]}, None),
        ("variance", {"data": [4]}, None),
        ("sd", {"data": [1, 3]}, 2**0.5),
        ("median", {"data": []}, None),
        ("extrema", {"data": []}, [None, None]),
        ("quantiles", {"data": [1, 2], "q": 2}, [1.5]),
        ("first", {"data": [None, False, True]}, False),
        ("last", {"data": []}, None),
        ("count", {"data": [1, None, float("nan"), float("inf"), "a", [1]]}, 3),
        ("count", {"data": [None, None], "condition": True}, 2),
        ("array_element", {"data": [1, 2], "index": 2, "return_nodata": True}, None),
    ],
)
def test_json_edge_cases(
    env: Environment, process_id: str, arguments: dict[str, Any], expected: Any
) -> None:
    result = run_process(process_id, env, **arguments)
    assert result == pytest.approx(expected) and type(result) is type(expected)


@pytest.mark.parametrize(
    ("process_id", "arguments", "code"),
    [
        ("mean", {"data": [1, "2"]}, INVALID),
        ("sum", {"data": [True, 1]}, INVALID),
        ("max", {"data": make_cube().data}, INVALID),
        ("quantiles", {"data": [1]}, "QuantilesParameterMissing"),
        ("quantiles", {"data": [1], "probabilities": [0.5], "q": 2}, "QuantilesParameterConflict"),
        ("quantiles", {"data": [1], "probabilities": [0.5, 0.1]}, "AscendingProbabilitiesRequired"),
        ("quantiles", {"data": [1], "probabilities": [1.5]}, INVALID),
        ("quantiles", {"data": [1], "probabilities": 1}, INVALID),
        ("count", {"data": [1], "condition": False}, INVALID),
        ("array_element", {"data": [1]}, "ArrayElementParameterMissing"),
        ("array_element", {"data": [1], "index": 0, "label": "a"}, "ArrayElementParameterConflict"),
        ("array_element", {"data": [1], "label": "a"}, "ArrayNotLabeled"),
        ("array_element", {"data": [1], "index": -1}, INVALID),
        ("array_element", {"data": [1], "index": 1}, "ArrayElementNotAvailable"),
    ],
)
def test_invalid_arguments_are_parameter_errors_or_the_specs_exceptions(
    env: Environment, process_id: str, arguments: dict[str, Any], code: str
) -> None:
    with pytest.raises(OpenEOError) as raised:
        run_process(process_id, env, **arguments)
    assert (raised.value.code, raised.value.status) == (code, 400)


def test_a_dimension_array_minus_its_mean_stays_along_the_dimension(env: Environment) -> None:
    data = time_series()
    anomaly = run_process("subtract", env, x=data, y=run_process("mean", env, data=data))
    assert isinstance(anomaly, DimensionArray) and anomaly.data.dims == data.data.dims
    values = cube_values()
    expected = values - quiet(np.nanmean, values, axis=0)
    np.testing.assert_allclose(anomaly.data.values, expected, rtol=1e-5, equal_nan=True)


def test_xarray_inputs_are_not_computed_by_the_reducers(env: Environment) -> None:
    def explode(block: np.ndarray) -> np.ndarray:
        raise AssertionError("computed eagerly")

    values = dask.array.from_array(cube_values(), chunks=-1).map_blocks(explode, dtype=np.float32)
    base = make_cube(cube_values(), dates=DATES, shape=(3, 4)).data
    data = DimensionArray(xr.DataArray(values, dims=base.dims, coords=base.coords), "t")
    for process_id in ("mean", "median", "first", "count", "extrema"):
        run_process(process_id, env, data=data)
    run_process("array_element", env, data=data, index=0)


@pytest.mark.parametrize("reducer", ["max", "min", "sum", "mean"])
@pytest.mark.parametrize("ignore_nodata", [True, False])
def test_a_dimension_split_in_chunks_is_reduced_without_rechunking(
    reducer: str, ignore_nodata: bool
) -> None:
    """One chunk per date, as load_collection reads: reduced chunk by chunk in a tree (memory
    bounded whatever the number of dates), with the same values as the one-chunk kernel."""
    values = np.random.default_rng(3).random((6, 2, 4, 5)).astype(np.float32)
    values[:, 0, 0, 0] = np.nan
    values[2, 1, 1, 1] = np.nan
    cube = make_cube(values, dates=[f"2022-06-0{i + 1}" for i in range(6)], chunked=False)
    per_date = cube.data.chunk({"t": 1})
    function = implementations()[reducer].function
    split = function(data=DimensionArray(per_date, "t"), ignore_nodata=ignore_nodata)
    whole = function(data=DimensionArray(cube.data, "t"), ignore_nodata=ignore_nodata)
    assert not any("rechunk" in str(name) for name in split.data.dask.layers)
    assert split.dtype == np.float32
    np.testing.assert_allclose(split.values, whole.values, rtol=1e-6, equal_nan=True)
