"""create_data_cube, trim_cube, flatten_dimensions, unflatten_dimension, reduce_spatial."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eoplex_common.errors import DimensionNotAvailable, OpenEOError, ProcessParameterInvalid
from eoplex_executor.engine.cube import BANDS, OTHER, SPATIAL, TEMPORAL, DimensionArray, RasterCube
from eoplex_executor.engine.environment import Estimate
from eoplex_executor.processes.reducers import mean
from eoplex_executor.processes.reshaping import (
    create_data_cube,
    flatten_dimensions,
    reduce_spatial,
    trim_cube,
    unflatten_dimension,
)
from services.executor.tests.cubes import computed, make_cube, make_environment, run_graph


def failing(cube: RasterCube) -> RasterCube:
    def explode(block: np.ndarray) -> np.ndarray:
        raise AssertionError("the process computed the cube")

    data = cube.data.data.map_blocks(explode, dtype=cube.data.dtype)
    return cube.with_data(cube.data.copy(data=data))


def node(process_id: str, result: bool = False, **arguments: Any) -> dict[str, Any]:
    return {"process_id": process_id, "arguments": arguments, "result": result}


# --- create_data_cube ---------------------------------------------------------------------


def test_create_data_cube_is_empty_and_grows_with_add_dimension(tmp_path: Path) -> None:
    empty = create_data_cube()
    assert empty.dims == () and empty.dimension_types == {}
    graph = {
        "empty": node("create_data_cube"),
        "t": node(
            "add_dimension",
            data={"from_node": "empty"},
            name="t",
            label="2022-06-01",
            type="temporal",
        ),
        "bands": node(
            "add_dimension", True, data={"from_node": "t"}, name="bands", label="B1", type="bands"
        ),
    }
    cube = run_graph(graph, make_environment(tmp_path))
    assert cube.dims == ("t", "bands")
    assert cube.dimension_types == {"t": TEMPORAL, "bands": BANDS}
    assert cube.labels("t") == ["2022-06-01T00:00:00Z"] and cube.labels("bands") == ["B1"]
    assert np.isnan(computed(cube)).all()


# --- trim_cube ----------------------------------------------------------------------------


def test_trim_cube_drops_no_data_borders_and_empty_bands(tmp_path: Path) -> None:
    values = np.full((4, 3, 6, 7), np.nan, dtype=np.float32)
    values[1, 0, 2, 3] = 1.0
    values[2, 2, 4, 1] = 2.0
    values[1, 2, 3, 5] = np.inf  # infinite is a value, not no-data
    cube = make_cube(
        values,
        dates=["2022-06-01", "2022-06-02", "2022-06-03", "2022-06-04"],
        bands=["B1", "B2", "B3"],
        shape=(6, 7),
    )
    trimmed = trim_cube(cube, make_environment(tmp_path))
    assert trimmed.labels("t") == ["2022-06-02T00:00:00Z", "2022-06-03T00:00:00Z"]
    # Bands are categorical: the empty B2 in the middle goes too.
    assert trimmed.labels("bands") == ["B1", "B3"]
    assert trimmed.labels("y") == cube.labels("y")[2:5]
    # x keeps the empty column 2 between data in columns 1 and 3: only borders go.
    assert trimmed.labels("x") == cube.labels("x")[1:6]
    np.testing.assert_array_equal(computed(trimmed), values[1:3][:, [0, 2]][:, :, 2:5, 1:6])
    assert trimmed.dimension_types == cube.dimension_types


def test_trim_cube_keeps_full_cubes_and_integer_cubes(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    cube = make_cube()
    assert trim_cube(cube, env).data.shape == cube.data.shape
    integers = make_cube(
        np.zeros((1, 1, 2, 2), dtype=np.int16), dates=["2022-06-01"], bands=["B"], shape=(2, 2)
    )
    assert trim_cube(integers, env) is integers


def test_trim_cube_in_estimate_mode_reads_nothing_and_keeps_the_whole_cube(
    tmp_path: Path,
) -> None:
    env = make_environment(tmp_path)
    env.estimate = Estimate()
    cube = failing(make_cube())
    assert trim_cube(cube, env) is cube


def test_trim_cube_of_only_no_data_is_an_error(tmp_path: Path) -> None:
    cube = make_cube(np.full((1, 1, 2, 2), np.nan), dates=["2022-06-01"], bands=["B"], shape=(2, 2))
    with pytest.raises(ProcessParameterInvalid) as caught:
        run_graph(
            {"trim": node("trim_cube", True, data={"from_parameter": "cube"})},
            make_environment(tmp_path),
            cube=cube,
        )
    assert "only no-data" in str(caught.value)


# --- flatten_dimensions, unflatten_dimension ----------------------------------------------


def test_flatten_dimensions_as_the_spec_example() -> None:
    cube = make_cube(dates=["2020-01-01", "2021-01-01"], bands=["B1", "B2"], shape=(2, 3))
    flat = flatten_dimensions(cube, ["t", "bands"], "X")
    assert flat.dims == ("X", "y", "x")
    assert flat.dimension_types == {"X": OTHER, "y": SPATIAL, "x": SPATIAL}
    assert flat.labels("X") == [
        "2020-01-01T00:00:00Z~B1",
        "2020-01-01T00:00:00Z~B2",
        "2021-01-01T00:00:00Z~B1",
        "2021-01-01T00:00:00Z~B2",
    ]
    values = cube.data.values
    np.testing.assert_array_equal(computed(flat), values.reshape(4, 2, 3))


def test_flatten_in_the_given_order_and_unflatten_back() -> None:
    cube = make_cube(dates=["2020-01-01", "2021-01-01", "2022-01-01"], bands=["B1", "B2"])
    flat = flatten_dimensions(cube, ["bands", "t"], "features", label_separator="|")
    assert flat.dims == ("features", "y", "x")
    assert flat.labels("features")[:2] == ["B1|2020-01-01T00:00:00Z", "B1|2021-01-01T00:00:00Z"]
    np.testing.assert_array_equal(
        computed(flat), cube.data.values.transpose(1, 0, 2, 3).reshape(6, 4, 5)
    )
    back = unflatten_dimension(flat, "features", ["b", "time"], label_separator="|")
    assert back.dims == ("b", "time", "y", "x")
    assert back.labels("b") == ["B1", "B2"]
    assert back.dimension_types["b"] == OTHER and back.dimension_types["time"] == OTHER
    np.testing.assert_array_equal(computed(back), cube.data.values.transpose(1, 0, 2, 3))


def test_unflatten_dimension_orders_labels_as_a_product() -> None:
    cube = make_cube(bands=["2021~B2", "2020~B1", "2020~B2", "2021~B1"], dates=["2022-01-01"])
    split = unflatten_dimension(cube, "bands", ["year", "band"])
    assert split.dims == ("t", "year", "band", "y", "x")
    assert split.labels("year") == ["2021", "2020"] and split.labels("band") == ["B2", "B1"]
    values = cube.data.values
    # year 2020, band B1 was the second band.
    np.testing.assert_array_equal(computed(split)[:, 1, 1], values[:, 1])
    np.testing.assert_array_equal(computed(split)[:, 0, 1], values[:, 3])


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: flatten_dimensions(c, ["t", "z"], "X"), "DimensionNotAvailable"),
        (lambda c: flatten_dimensions(c, ["t", "bands"], "x"), "TargetDimensionExists"),
        (lambda c: flatten_dimensions(c, ["t", "t"], "X"), "distinct"),
        (lambda c: unflatten_dimension(c, "z", ["a", "b"]), "DimensionNotAvailable"),
        (lambda c: unflatten_dimension(c, "bands", ["a", "y"]), "TargetDimensionExists"),
        (lambda c: unflatten_dimension(c, "bands", ["a"]), "two or more"),
        (lambda c: unflatten_dimension(c, "bands", ["a", "b"]), "split into 2 parts"),
    ],
)
def test_flatten_and_unflatten_refuse(call: Any, error: str) -> None:
    """`error` is the code of a process exception, or part of ProcessParameterInvalid's message."""
    with pytest.raises(OpenEOError) as caught:
        call(make_cube())
    assert error in f"{caught.value.code}: {caught.value}"
    assert caught.value.status == 400


def test_unflatten_refuses_labels_that_are_not_a_product() -> None:
    cube = make_cube(bands=["2020~B1", "2020~B2", "2021~B1"], dates=["2022-01-01"])
    with pytest.raises(ProcessParameterInvalid) as caught:
        unflatten_dimension(cube, "bands", ["year", "band"])
    assert "every combination" in str(caught.value)


# --- reduce_spatial -----------------------------------------------------------------------


def test_reduce_spatial_with_a_reducer_graph(tmp_path: Path) -> None:
    values = np.random.default_rng(2).uniform(0, 9, (3, 2, 4, 5)).astype(np.float32)
    values[0, 0, 1, 1] = np.nan
    cube = make_cube(values)
    cube = cube.with_data(cube.data.chunk({"y": 2, "x": 3}))
    graph = {
        "reduce": node(
            "reduce_spatial",
            True,
            data={"from_parameter": "cube"},
            reducer={"process_graph": {"max": node("max", True, data={"from_parameter": "data"})}},
        )
    }
    result = run_graph(graph, make_environment(tmp_path), cube=cube)
    assert result.dims == ("t", "bands")
    assert result.dimension_types == {"t": TEMPORAL, "bands": BANDS}
    np.testing.assert_allclose(computed(result), np.nanmax(values, axis=(2, 3)))


def test_reduce_spatial_gives_every_pixel_to_the_reducer() -> None:
    values = np.random.default_rng(3).uniform(0, 9, (3, 2, 4, 5)).astype(np.float32)
    seen: list[DimensionArray] = []

    def median_like(data: DimensionArray, context: Any) -> Any:
        seen.append(data)
        return mean(data=data)

    result = reduce_spatial(make_cube(values), median_like)
    assert seen[0].data.sizes[seen[0].dimension] == 20
    np.testing.assert_allclose(computed(result), values.mean(axis=(2, 3)), rtol=1e-5)


def test_reduce_spatial_needs_x_and_y_and_does_not_compute() -> None:
    cube = make_cube()
    with pytest.raises(DimensionNotAvailable, match="no dimension 'y'"):
        reduce_spatial(cube.with_data(cube.data.isel(y=0, drop=True)), lambda data, context: 1)
    reduce_spatial(failing(cube), lambda data, context: mean(data=data))
    flatten_dimensions(failing(cube), ["t", "bands"], "X")
    unflatten_dimension(flatten_dimensions(failing(cube), ["t", "bands"], "X"), "X", ["t", "bands"])
