"""The data-cube processes: reduce, apply, ndvi, temporal aggregation, merge, mask, labels.

Values are checked against numpy computed independently from the same input arrays.
Most tests call the process functions with small Python callables in place of child
process graphs; the graph tests run real `{"process_graph": ...}` reducers and need the
reducer and math processes of `reducers.py`/`arithmetic.py`.
"""

from pathlib import Path
from typing import Any

import dask.array
import numpy as np
import pytest
import xarray as xr

from eoplex_common.errors import (
    BandExists,
    DimensionAmbiguous,
    DimensionExists,
    DimensionLabelCountMismatch,
    DimensionNotAvailable,
    IncompatibleDataCubes,
    NirBandAmbiguous,
    OpenEOError,
    OverlapResolverMissing,
    ProcessParameterInvalid,
    RedBandAmbiguous,
)
from eoplex_executor.engine.cube import BANDS, OTHER, SPATIAL, TEMPORAL, DimensionArray, RasterCube
from eoplex_executor.engine.registry import implementations
from eoplex_executor.processes import cubes
from services.executor.tests.cubes import (
    CRS,
    child_graph,
    computed,
    graph_on_cube,
    make_cube,
    make_environment,
    reducer_graph,
    result_node,
    run_graph,
)

DATES = ["2022-06-01", "2022-06-06", "2022-06-11"]


def values_of(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 100, size=shape).astype(np.float32)


def max_along(data: DimensionArray, context: Any = None) -> xr.DataArray:
    return data.data.max(dim=data.dimension)


def mean_along(data: DimensionArray, context: Any = None) -> xr.DataArray:
    return data.data.mean(dim=data.dimension)


def needs(*process_ids: str) -> pytest.MarkDecorator:
    missing = [pid for pid in process_ids if pid not in implementations()]
    return pytest.mark.skipif(bool(missing), reason=f"processes {missing} are not implemented")


# reduce_dimension


@pytest.mark.parametrize(
    ("dimension", "axis", "reducer", "reference"),
    [("t", 0, max_along, np.max), ("bands", 1, mean_along, np.mean)],
)
def test_reduce_dimension_drops_the_dimension(
    dimension: str, axis: int, reducer: Any, reference: Any
) -> None:
    values = values_of((3, 2, 4, 5))
    cube = make_cube(values)
    result = cubes.reduce_dimension(data=cube, reducer=reducer, dimension=dimension)
    assert result.dims == tuple(dim for dim in cube.dims if dim != dimension)
    assert dimension not in result.dimension_types
    np.testing.assert_allclose(computed(result), reference(values, axis=axis), rtol=1e-6)


def test_reduce_dimension_over_time_chunks_stays_chunked() -> None:
    values = values_of((3, 2, 4, 5))
    cube = make_cube(values)
    chunked = cube.with_data(cube.data.chunk({"t": 1, "x": 2}))
    result = cubes.reduce_dimension(data=chunked, reducer=max_along, dimension="t")
    # One output chunk per spatial chunk: dask reduced the time chunks one by one.
    assert result.data.chunks == ((2,), (4,), (2, 2, 1))
    np.testing.assert_array_equal(computed(result), values.max(axis=0))


def test_reduce_dimension_broadcasts_a_scalar() -> None:
    cube = make_cube()
    result = cubes.reduce_dimension(
        data=cube, reducer=lambda data, context=None: 7, dimension="bands"
    )
    assert result.dims == ("t", "y", "x")
    np.testing.assert_array_equal(computed(result), np.full((3, 4, 5), 7))


def test_reduce_dimension_passes_the_context() -> None:
    cube = make_cube()
    result = cubes.reduce_dimension(
        data=cube,
        reducer=lambda data, context: data.data.sum(dim=data.dimension) * context,
        dimension="t",
        context=2,
    )
    np.testing.assert_allclose(computed(result), 2 * cube.data.values.sum(axis=0))


def test_reduce_dimension_unknown_dimension() -> None:
    with pytest.raises(DimensionNotAvailable, match=r"'z'.*t, bands"):
        cubes.reduce_dimension(data=make_cube(), reducer=max_along, dimension="z")


def test_reduce_dimension_rejects_a_reducer_that_keeps_the_dimension() -> None:
    with pytest.raises(ProcessParameterInvalid, match="along t"):
        cubes.reduce_dimension(
            data=make_cube(), reducer=lambda data, context=None: data.data, dimension="t"
        )


@needs("max", "mean")
@pytest.mark.parametrize(
    ("process_id", "dimension", "reference"),
    [("max", "t", lambda v: v.max(axis=0)), ("mean", "bands", lambda v: v.mean(axis=1))],
)
def test_reduce_dimension_graph(
    tmp_path: Path, process_id: str, dimension: str, reference: Any
) -> None:
    values = values_of((3, 2, 4, 5))
    graph = graph_on_cube(
        "reduce_dimension", dimension=dimension, reducer=reducer_graph(process_id)
    )
    result = run_graph(graph, make_environment(tmp_path), cube=make_cube(values))
    np.testing.assert_allclose(computed(result), reference(values), rtol=1e-6)


@needs("subtract", "array_element")
def test_reduce_dimension_graph_band_difference(tmp_path: Path) -> None:
    values = values_of((3, 2, 4, 5))
    reducer = {
        "process_graph": {
            "red": {
                "process_id": "array_element",
                "arguments": {"data": {"from_parameter": "data"}, "label": "B04"},
            },
            "nir": {
                "process_id": "array_element",
                "arguments": {"data": {"from_parameter": "data"}, "index": 1},
            },
            "diff": {
                "process_id": "subtract",
                "arguments": {"x": {"from_node": "nir"}, "y": {"from_node": "red"}},
                "result": True,
            },
        }
    }
    graph = graph_on_cube("reduce_dimension", dimension="bands", reducer=reducer)
    result = run_graph(graph, make_environment(tmp_path), cube=make_cube(values))
    np.testing.assert_allclose(computed(result), values[:, 1] - values[:, 0], rtol=1e-6)


# apply


def test_apply_maps_every_value() -> None:
    values = values_of((3, 2, 4, 5))
    result = cubes.apply(data=make_cube(values), process=lambda x, context=None: x * 2 + 1)
    assert result.dims == ("t", "bands", "y", "x")
    np.testing.assert_allclose(computed(result), values * 2 + 1, rtol=1e-6)


def test_apply_broadcasts_a_scalar() -> None:
    result = cubes.apply(data=make_cube(), process=lambda x, context=None: 3.5)
    np.testing.assert_array_equal(computed(result), np.full((3, 2, 4, 5), 3.5))


@needs("absolute")
def test_apply_graph(tmp_path: Path) -> None:
    values = values_of((3, 2, 4, 5)) - 50
    process = child_graph("absolute", x={"from_parameter": "x"})
    graph = graph_on_cube("apply", process=process)
    result = run_graph(graph, make_environment(tmp_path), cube=make_cube(values))
    np.testing.assert_allclose(computed(result), np.abs(values))


# apply_dimension


def test_apply_dimension_same_count_keeps_labels() -> None:
    values = values_of((3, 2, 4, 5))
    cube = make_cube(values)
    result = cubes.apply_dimension(
        data=cube,
        process=lambda data, context=None: data.data.cumsum(dim=data.dimension),
        dimension="t",
    )
    assert result.labels("t") == cube.labels("t")
    np.testing.assert_allclose(computed(result), np.cumsum(values, axis=0), rtol=1e-5)


def test_apply_dimension_new_count_enumerates_labels() -> None:
    values = values_of((3, 2, 4, 5))
    result = cubes.apply_dimension(
        data=make_cube(values),
        process=lambda data, context=None: data.data.isel({data.dimension: [2, 0]}),
        dimension="t",
    )
    assert result.dims == ("t", "bands", "y", "x")
    assert result.labels("t") == [0, 1]
    assert result.dimension_types["t"] == TEMPORAL
    np.testing.assert_array_equal(computed(result), values[[2, 0]])


def test_apply_dimension_reducer_leaves_one_label() -> None:
    values = values_of((3, 2, 4, 5))
    result = cubes.apply_dimension(data=make_cube(values), process=max_along, dimension="t")
    assert result.labels("t") == [0]
    np.testing.assert_array_equal(computed(result), values.max(axis=0, keepdims=True))


def test_apply_dimension_to_a_new_target_dimension() -> None:
    values = values_of((3, 2, 4, 5))
    result = cubes.apply_dimension(
        data=make_cube(values),
        process=lambda data, context=None: data.data.isel({data.dimension: [0, 1]}),
        dimension="t",
        target_dimension="pair",
    )
    assert result.dims == ("pair", "bands", "y", "x")
    assert result.dimension_types["pair"] == OTHER
    assert "t" not in result.dimension_types
    assert result.labels("pair") == [0, 1]
    np.testing.assert_array_equal(computed(result), values[:2])


def test_apply_dimension_into_an_existing_single_label_dimension() -> None:
    values = values_of((3, 1, 4, 5))
    result = cubes.apply_dimension(
        data=make_cube(values, bands=["B04"]),
        process=lambda data, context=None: data.data,
        dimension="t",
        target_dimension="bands",
    )
    assert result.dims == ("bands", "y", "x")
    assert result.dimension_types["bands"] == BANDS
    assert result.labels("bands") == [0, 1, 2]
    np.testing.assert_array_equal(computed(result), values[:, 0])


def test_apply_dimension_target_with_several_labels_is_refused() -> None:
    with pytest.raises(ProcessParameterInvalid, match="has 2 labels"):
        cubes.apply_dimension(
            data=make_cube(),
            process=lambda data, context=None: data.data,
            dimension="t",
            target_dimension="bands",
        )


def test_apply_dimension_unknown_dimension() -> None:
    with pytest.raises(DimensionNotAvailable):
        cubes.apply_dimension(data=make_cube(), process=max_along, dimension="time")


# ndvi


def uint16_bands() -> np.ndarray:
    rng = np.random.default_rng(7)
    values = rng.integers(0, 10000, size=(2, 3, 4, 5), dtype=np.uint16)
    values[0, 0] = np.uint16(9000)  # red
    values[0, 2] = np.uint16(100)  # nir < red, where uint16 subtraction would wrap
    return values


def ndvi_reference(red: np.ndarray, nir: np.ndarray) -> np.ndarray:
    red, nir = red.astype(np.float64), nir.astype(np.float64)
    return (nir - red) / (nir + red)


def test_ndvi_on_uint16_with_red_above_nir() -> None:
    values = uint16_bands()
    cube = make_cube(values, dates=DATES[:2], bands=["B04", "B03", "B08"])
    result = cubes.ndvi(data=cube)
    assert result.dims == ("t", "y", "x")
    expected = ndvi_reference(values[:, 0], values[:, 2])
    assert (expected[0] < 0).all()
    np.testing.assert_allclose(computed(result), expected, rtol=0, atol=1e-6)


def test_ndvi_by_band_names_and_target_band() -> None:
    values = uint16_bands()
    cube = make_cube(values, dates=DATES[:2], bands=["red", "green", "nir"])
    result = cubes.ndvi(data=cube, nir="nir", red="green", target_band="NDVI")
    assert result.labels("bands") == ["red", "green", "nir", "NDVI"]
    data = computed(result)
    np.testing.assert_array_equal(data[:, :3], values)
    expected = ndvi_reference(values[:, 1], values[:, 2])
    np.testing.assert_allclose(data[:, 3], expected, rtol=0, atol=1e-6)


def test_ndvi_zero_sum_is_nodata() -> None:
    values = np.zeros((1, 2, 2, 2), dtype=np.uint16)
    values[0, :, 0, 0] = (10, 30)
    cube = make_cube(values, dates=DATES[:1], shape=(2, 2))
    data = computed(cubes.ndvi(data=cube))
    assert data[0, 0, 0] == pytest.approx(0.5)
    assert np.isnan(data[0].ravel()[1:]).all()


def test_ndvi_errors() -> None:
    cube = make_cube()
    with pytest.raises(BandExists):
        cubes.ndvi(data=cube, target_band="B04")
    with pytest.raises(NirBandAmbiguous, match="'B05'"):
        cubes.ndvi(data=cube, nir="B05")
    with pytest.raises(RedBandAmbiguous, match="'swir16'"):
        cubes.ndvi(data=cube, red="swir16")
    no_bands = cubes.reduce_dimension(data=cube, reducer=max_along, dimension="bands")
    with pytest.raises(DimensionAmbiguous):
        cubes.ndvi(data=no_bands)


# aggregate_temporal


def test_aggregate_temporal_intervals() -> None:
    values = values_of((3, 2, 4, 5))
    intervals = [
        ["2022-06-01", "2022-06-07"],
        ["2022-06-06", "2022-06-30"],
        ["2022-07-01", "2022-08-01"],
    ]
    result = cubes.aggregate_temporal(
        data=make_cube(values), intervals=intervals, reducer=mean_along
    )
    assert result.labels("t") == [
        "2022-06-01T00:00:00Z",
        "2022-06-06T00:00:00Z",
        "2022-07-01T00:00:00Z",
    ]
    data = computed(result)
    np.testing.assert_allclose(data[0], values[:2].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(data[1], values[1:].mean(axis=0), rtol=1e-6)
    assert np.isnan(data[2]).all()


def test_aggregate_temporal_user_labels_and_open_end() -> None:
    values = values_of((3, 2, 4, 5))
    result = cubes.aggregate_temporal(
        data=make_cube(values),
        intervals=[["2022-06-01", "2022-06-06"], ["2022-06-06", None]],
        labels=["early", "late"],
        reducer=max_along,
    )
    assert result.labels("t") == ["early", "late"]
    np.testing.assert_array_equal(computed(result), np.stack([values[0], values[1:].max(axis=0)]))


@pytest.mark.parametrize(
    ("intervals", "labels", "code", "error"),
    [
        ([["2022-06-05", "2022-06-01"]], [], "TemporalExtentEmpty", "is empty"),
        (
            [["2022-06-01", "2022-06-05"], ["2022-06-01", "2022-06-09"]],
            [],
            "DistinctDimensionLabelsRequired",
            "not distinct",
        ),
        ([["2022-06-01", "2022-06-05"]], ["a", "b"], "ProcessParameterInvalid", "1 distinct"),
        ([["06:00:00", "18:00:00"]], [], "ProcessParameterInvalid", "time-of-day"),
    ],
)
def test_aggregate_temporal_errors(
    intervals: list[Any], labels: list[Any], code: str, error: str
) -> None:
    with pytest.raises(OpenEOError, match=error) as raised:
        cubes.aggregate_temporal(
            data=make_cube(), intervals=intervals, labels=labels, reducer=max_along
        )
    assert raised.value.code == code


def test_aggregate_temporal_needs_a_temporal_dimension() -> None:
    with pytest.raises(DimensionNotAvailable, match=r"not a temporal"):
        cubes.aggregate_temporal(
            data=make_cube(),
            intervals=[["2022-06-01", "2022-07-01"]],
            reducer=max_along,
            dimension="bands",
        )


# aggregate_temporal_period


def test_aggregate_temporal_period_month_fills_empty_months() -> None:
    dates = ["2022-05-30", "2022-06-01", "2022-06-15", "2022-08-02"]
    values = values_of((4, 2, 4, 5))
    result = cubes.aggregate_temporal_period(
        data=make_cube(values, dates=dates), period="month", reducer=mean_along
    )
    assert result.labels("t") == ["2022-05", "2022-06", "2022-07", "2022-08"]
    data = computed(result)
    np.testing.assert_allclose(data[0], values[0])
    np.testing.assert_allclose(data[1], values[1:3].mean(axis=0), rtol=1e-6)
    assert np.isnan(data[2]).all()
    np.testing.assert_allclose(data[3], values[3])


def test_aggregate_temporal_period_dekad() -> None:
    dates = ["2022-01-05", "2022-01-10", "2022-01-25", "2022-02-01"]
    values = values_of((4, 2, 4, 5))
    result = cubes.aggregate_temporal_period(
        data=make_cube(values, dates=dates), period="dekad", reducer=max_along
    )
    # Dekads are counted from 01: 1-10, 11-20 and 21-31 January, then 1-10 February.
    assert result.labels("t") == ["2022-01", "2022-02", "2022-03", "2022-04"]
    data = computed(result)
    np.testing.assert_array_equal(data[0], values[:2].max(axis=0))
    assert np.isnan(data[1]).all()
    np.testing.assert_array_equal(data[2], values[2])
    np.testing.assert_array_equal(data[3], values[3])


def test_aggregate_temporal_period_season_crosses_new_year() -> None:
    dates = ["2021-12-15", "2022-02-10", "2022-03-05"]
    values = values_of((3, 2, 4, 5))
    result = cubes.aggregate_temporal_period(
        data=make_cube(values, dates=dates), period="season", reducer=mean_along
    )
    assert result.labels("t") == ["2021-djf", "2022-mam"]
    np.testing.assert_allclose(computed(result)[0], values[:2].mean(axis=0), rtol=1e-6)


@pytest.mark.parametrize(
    ("period", "date", "label"),
    [
        ("hour", "2022-06-01T13:45:00", "2022-06-01-13"),
        ("day", "2020-12-31", "2020-366"),
        ("week", "2021-01-03", "2020-53"),
        ("week", "2021-01-04", "2021-01"),
        ("dekad", "2022-12-31", "2022-36"),
        ("tropical-season", "2022-03-01", "2021-ndjfma"),
        ("tropical-season", "2022-10-31", "2022-mjjaso"),
        ("year", "2022-06-01", "2022"),
        ("decade", "2020-06-01", "2020"),
        ("decade-ad", "2020-06-01", "2011"),
        ("decade-ad", "2021-01-01", "2021"),
    ],
)
def test_aggregate_temporal_period_labels(period: str, date: str, label: str) -> None:
    cube = make_cube(dates=[date])
    result = cubes.aggregate_temporal_period(data=cube, period=period, reducer=max_along)
    assert result.labels("t") == [label]
    np.testing.assert_array_equal(computed(result), cube.data.values)


def test_aggregate_temporal_period_unknown_period() -> None:
    with pytest.raises(ProcessParameterInvalid, match="unknown period 'fortnight'"):
        cubes.aggregate_temporal_period(data=make_cube(), period="fortnight", reducer=max_along)


@needs("mean")
def test_aggregate_temporal_period_graph(tmp_path: Path) -> None:
    values = values_of((3, 2, 4, 5))
    graph = graph_on_cube(
        "aggregate_temporal_period", period="month", reducer=reducer_graph("mean")
    )
    result = run_graph(graph, make_environment(tmp_path), cube=make_cube(values))
    assert result.labels("t") == ["2022-06"]
    np.testing.assert_allclose(computed(result)[0], values.mean(axis=0), rtol=1e-6)


# merge_cubes


def test_merge_cubes_different_bands() -> None:
    first, second = values_of((3, 2, 4, 5), 1), values_of((3, 1, 4, 5), 2)
    result = cubes.merge_cubes(
        cube1=make_cube(first, bands=["B04", "B08"]), cube2=make_cube(second, bands=["B02"])
    )
    assert result.labels("bands") == ["B04", "B08", "B02"]
    np.testing.assert_array_equal(computed(result), np.concatenate([first, second], axis=1))


def test_merge_cubes_overlap_needs_a_resolver() -> None:
    with pytest.raises(OverlapResolverMissing):
        cubes.merge_cubes(cube1=make_cube(), cube2=make_cube(dates=DATES[2:]))


def test_merge_cubes_partial_overlap_resolved() -> None:
    first, second = values_of((2, 2, 4, 5), 1), values_of((2, 2, 4, 5), 2)
    result = cubes.merge_cubes(
        cube1=make_cube(first, dates=["2022-06-06", "2022-06-01"]),
        cube2=make_cube(second, dates=["2022-06-06", "2022-06-11"]),
        overlap_resolver=lambda x, y, context=None: x + y,
    )
    assert result.labels("t") == [
        "2022-06-01T00:00:00Z",
        "2022-06-06T00:00:00Z",
        "2022-06-11T00:00:00Z",
    ]
    np.testing.assert_allclose(
        computed(result), np.stack([first[1], first[0] + second[0], second[1]]), rtol=1e-6
    )


def test_merge_cubes_resolver_result_wins_even_when_nodata() -> None:
    result = cubes.merge_cubes(
        cube1=make_cube(),
        cube2=make_cube(),
        overlap_resolver=lambda x, y, context=None: None,
    )
    assert np.isnan(computed(result)).all()


def test_merge_cubes_lower_dimensional_cube() -> None:
    values = values_of((3, 2, 4, 5), 1)
    cube = make_cube(values)
    elevation = values_of((4, 5), 2)
    dem = RasterCube(
        data=cube.data.isel(t=0, bands=0, drop=True).copy(data=dask.array.from_array(elevation)),
        crs=CRS,
        dimension_types={"y": SPATIAL, "x": SPATIAL},
    )
    result = cubes.merge_cubes(
        cube1=dem, cube2=cube, overlap_resolver=lambda x, y, context=None: y - x
    )
    assert result.dims == ("t", "bands", "y", "x")
    np.testing.assert_allclose(computed(result), values - elevation, rtol=1e-6)


def test_merge_cubes_adjacent_tiles() -> None:
    left, right = values_of((3, 2, 4, 5), 1), values_of((3, 2, 4, 5), 2)
    east = make_cube(right)
    # A neighbouring tile five pixels east, with coordinates off by float noise.
    east = east.with_data(east.data.assign_coords(x=east.data.x.values + 50.0 + 1e-9))
    result = cubes.merge_cubes(cube1=make_cube(left), cube2=east)
    assert result.data.sizes["x"] == 10
    np.testing.assert_allclose(np.diff(result.data.x.values), 10.0)
    np.testing.assert_array_equal(computed(result), np.concatenate([left, right], axis=3))


def test_merge_cubes_misaligned_or_reprojected_cubes_are_refused() -> None:
    cube = make_cube()
    shifted = cube.with_data(cube.data.assign_coords(x=cube.data.x.values + 5.0))
    with pytest.raises(ProcessParameterInvalid, match="resample_cube_spatial"):
        cubes.merge_cubes(cube1=cube, cube2=shifted)
    other_crs = RasterCube(cube.data, "EPSG:32633", cube.dimension_types)
    with pytest.raises(ProcessParameterInvalid, match=r"EPSG:32633.*resample_cube_spatial"):
        cubes.merge_cubes(cube1=cube, cube2=other_crs)


@needs("add")
def test_merge_cubes_graph_with_add_resolver(tmp_path: Path) -> None:
    first, second = values_of((3, 2, 4, 5), 1), values_of((3, 2, 4, 5), 2)
    resolver = child_graph("add", x={"from_parameter": "x"}, y={"from_parameter": "y"})
    merge = result_node(
        "merge_cubes",
        cube1={"from_parameter": "a"},
        cube2={"from_parameter": "b"},
        overlap_resolver=resolver,
    )
    graph = {"merge": merge}
    result = run_graph(graph, make_environment(tmp_path), a=make_cube(first), b=make_cube(second))
    np.testing.assert_allclose(computed(result), first + second, rtol=1e-6)


# mask


def test_mask_with_a_boolean_cube_gives_nodata() -> None:
    values = values_of((3, 2, 4, 5))
    cube = make_cube(values)
    flags = values > 50
    result = cubes.mask(data=cube, mask=cube.with_data(cube.data.copy(data=flags)))
    np.testing.assert_array_equal(computed(result), np.where(flags, np.nan, values))


def test_mask_without_bands_applies_to_every_band() -> None:
    values = values_of((3, 2, 4, 5))
    cube = make_cube(values)
    clouds = np.zeros((3, 4, 5), dtype=np.float32)
    clouds[:, 0, :] = 3.0
    clouds[:, 1, 0] = np.nan  # no-data in the mask does not mask
    mask_cube = RasterCube(
        data=cube.data.isel(bands=0, drop=True).copy(data=dask.array.from_array(clouds)),
        crs=CRS,
        dimension_types={"t": TEMPORAL, "y": SPATIAL, "x": SPATIAL},
    )
    result = cubes.mask(data=cube, mask=mask_cube, replacement=-1)
    expected = np.where((clouds == 3.0)[:, None], -1, values)
    np.testing.assert_array_equal(computed(result), expected)


def test_mask_on_coordinates_with_float_noise() -> None:
    values = values_of((3, 2, 4, 5))
    cube = make_cube(values)
    flags = cube.data.copy(data=values < 30).assign_coords(x=cube.data.x.values + 1e-7)
    result = cubes.mask(data=cube, mask=cube.with_data(flags), replacement=0)
    assert result.labels("x") == cube.labels("x")
    np.testing.assert_array_equal(computed(result), np.where(values < 30, 0, values))


def test_mask_with_other_labels_is_refused() -> None:
    cube = make_cube()
    with pytest.raises(IncompatibleDataCubes, match=r"'t'"):
        cubes.mask(data=cube, mask=make_cube(dates=["2022-07-01", "2022-07-06", "2022-07-11"]))
    shifted = cube.with_data(cube.data.assign_coords(y=cube.data.y.values - 5.0))
    with pytest.raises(IncompatibleDataCubes, match=r"'y'.*resample_cube_spatial"):
        cubes.mask(data=cube, mask=shifted)


# rename_labels, rename_dimension, add_dimension, drop_dimension, dimension_labels


def test_rename_labels() -> None:
    values = values_of((3, 2, 4, 5))
    cube = make_cube(values)
    result = cubes.rename_labels(
        data=cube, dimension="bands", source=["B08", "B04"], target=["nir", "red"]
    )
    assert result.labels("bands") == ["red", "nir"]
    np.testing.assert_array_equal(
        computed(result.with_data(result.data.sel(bands=["nir"]))), values[:, 1:]
    )
    swapped = cubes.rename_labels(
        data=cube, dimension="bands", source=["B08", "B04"], target=["B04", "B08"]
    )
    assert swapped.labels("bands") == ["B08", "B04"]


def test_rename_temporal_labels() -> None:
    result = cubes.rename_labels(
        data=make_cube(), dimension="t", source=["2022-06-06T00:00:00Z"], target=["2022-06-07"]
    )
    assert result.labels("t")[1] == "2022-06-07T00:00:00Z"


def test_rename_enumerated_labels() -> None:
    enumerated = cubes.apply_dimension(
        data=make_cube(),
        process=lambda data, context=None: data.data.isel({data.dimension: [0, 1]}),
        dimension="t",
    )
    result = cubes.rename_labels(
        data=enumerated, dimension="t", target=["2022-06-01", "2022-06-06"]
    )
    assert result.labels("t") == ["2022-06-01", "2022-06-06"]


@pytest.mark.parametrize(
    ("source", "target", "code"),
    [
        ([], ["a", "b"], "LabelsNotEnumerated"),
        (["B04"], ["a", "b"], "LabelMismatch"),
        (["B02"], ["a"], "LabelNotAvailable"),
        (["B04"], ["B08"], "LabelExists"),
    ],
)
def test_rename_labels_errors(source: list[str], target: list[str], code: str) -> None:
    with pytest.raises(OpenEOError) as raised:
        cubes.rename_labels(data=make_cube(), dimension="bands", source=source, target=target)
    assert raised.value.code == code


def test_rename_dimension() -> None:
    cube = make_cube()
    result = cubes.rename_dimension(data=cube, source="t", target="time")
    assert result.dims == ("time", "bands", "y", "x")
    assert result.dimension_types["time"] == TEMPORAL
    assert result.labels("time") == cube.labels("t")
    with pytest.raises(DimensionExists):
        cubes.rename_dimension(data=cube, source="t", target="bands")
    with pytest.raises(DimensionNotAvailable):
        cubes.rename_dimension(data=cube, source="time", target="when")


def test_add_dimension_places_it_by_the_cube_order() -> None:
    values = values_of((3, 2, 4, 5))
    reduced = cubes.reduce_dimension(data=make_cube(values), reducer=max_along, dimension="bands")
    result = cubes.add_dimension(data=reduced, name="bands", label="max", type="bands")
    assert result.dims == ("t", "bands", "y", "x")
    assert result.dimension_types["bands"] == BANDS
    assert result.labels("bands") == ["max"]
    np.testing.assert_array_equal(computed(result)[:, 0], values.max(axis=1))
    other = cubes.add_dimension(data=make_cube(), name="run", label=1)
    assert other.dims == ("t", "bands", "run", "y", "x")
    assert other.dimension_types["run"] == OTHER


def test_add_temporal_dimension_and_errors() -> None:
    reduced = cubes.reduce_dimension(data=make_cube(), reducer=max_along, dimension="t")
    result = cubes.add_dimension(data=reduced, name="t", label="2022-06-01", type="temporal")
    assert result.dims == ("t", "bands", "y", "x")
    assert result.labels("t") == ["2022-06-01T00:00:00Z"]
    with pytest.raises(DimensionExists):
        cubes.add_dimension(data=make_cube(), name="t", label="x")
    with pytest.raises(ProcessParameterInvalid, match="type"):
        cubes.add_dimension(data=make_cube(), name="g", label="x", type="geometry")


def test_drop_dimension() -> None:
    values = values_of((1, 2, 4, 5))
    result = cubes.drop_dimension(data=make_cube(values, dates=DATES[:1]), name="t")
    assert result.dims == ("bands", "y", "x")
    assert "t" not in result.dimension_types
    np.testing.assert_array_equal(computed(result), values[0])
    with pytest.raises(DimensionLabelCountMismatch):
        cubes.drop_dimension(data=make_cube(), name="t")
    with pytest.raises(DimensionNotAvailable):
        cubes.drop_dimension(data=make_cube(), name="z")


def test_dimension_labels() -> None:
    cube = make_cube()
    assert cubes.dimension_labels(data=cube, dimension="t") == [
        "2022-06-01T00:00:00Z",
        "2022-06-06T00:00:00Z",
        "2022-06-11T00:00:00Z",
    ]
    assert cubes.dimension_labels(data=cube, dimension="bands") == ["B04", "B08"]
    assert cubes.dimension_labels(data=cube, dimension="x") == pytest.approx(
        [675005.0, 675015.0, 675025.0, 675035.0, 675045.0]
    )
    with pytest.raises(DimensionNotAvailable):
        cubes.dimension_labels(data=cube, dimension="z")


def test_processes_are_registered() -> None:
    registered = implementations()
    for process_id in (
        "reduce_dimension",
        "apply",
        "apply_dimension",
        "aggregate_temporal",
        "aggregate_temporal_period",
        "merge_cubes",
        "mask",
        "ndvi",
        "rename_labels",
        "rename_dimension",
        "add_dimension",
        "drop_dimension",
        "dimension_labels",
    ):
        assert registered[process_id].function.__module__ == cubes.__name__
