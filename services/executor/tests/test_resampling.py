"""resample_spatial and resample_cube_spatial against numpy block statistics and shifted grids."""

from typing import Any

import dask.array
import numpy as np
import pyproj
import pytest

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import RasterCube
from eoplex_executor.engine.environment import Environment
from services.executor.tests.cubes import NORTH, WEST, make_cube, run_process


def blocks(values: np.ndarray, rows: int = 2, cols: int = 2) -> np.ndarray:
    """(..., y, x) -> (..., y / rows, x / cols, rows * cols): every output pixel's sources."""
    *lead, height, width = values.shape
    split = values.reshape(*lead, height // rows, rows, width // cols, cols)
    return np.moveaxis(split, -3, -2).reshape(*lead, height // rows, width // cols, rows * cols)


def with_grid(cube: RasterCube, x: np.ndarray, y: np.ndarray, crs: str | None = None) -> RasterCube:
    """The cube's data (cut to the grid's size) labelled with other pixel centres."""
    data = cube.data.isel(y=slice(0, len(y)), x=slice(0, len(x))).assign_coords(x=x, y=y)
    return cube.with_data(data, crs=crs or cube.crs)


@pytest.mark.parametrize(
    ("method", "statistic"),
    [
        ("average", lambda b: np.nanmean(b, axis=-1)),
        ("max", lambda b: np.nanmax(b, axis=-1)),
        ("min", lambda b: np.nanmin(b, axis=-1)),
        ("sum", lambda b: np.nansum(b, axis=-1)),
        ("rms", lambda b: np.sqrt(np.nanmean(b**2, axis=-1))),
    ],
)
def test_resample_to_20_m_is_the_2x2_block_statistic_of_valid_pixels(
    env: Environment, method: str, statistic: Any
) -> None:
    values = make_cube(shape=(6, 8)).data.values.copy()
    # No-data is skipped, in its own plane only.
    values[0, 0, 0, 0] = values[1, 1, 3, 5] = np.nan
    cube = make_cube(values, shape=(6, 8))

    result = run_process("resample_spatial", env, data=cube, resolution=20, method=method)

    assert isinstance(result.data.data, dask.array.Array)
    np.testing.assert_allclose(result.data.values, statistic(blocks(values)), rtol=1e-6)
    assert result.data.coords["x"].values.tolist() == [WEST + 10 + 20 * i for i in range(4)]
    assert result.data.coords["y"].values.tolist() == [NORTH - 10 - 20 * i for i in range(3)]
    assert result.data.dims == cube.data.dims and result.crs == cube.crs
    assert result.labels("t") == cube.labels("t") and result.labels("bands") == ["B04", "B08"]


def test_resample_with_separate_x_and_y_resolutions(env: Environment) -> None:
    cube = make_cube(shape=(4, 6))

    result = run_process("resample_spatial", env, data=cube, resolution=[20, 0], method="average")

    expected = blocks(cube.data.values, rows=1, cols=2).mean(axis=-1)
    np.testing.assert_allclose(result.data.values, expected)
    assert result.data.coords["y"].values.tolist() == cube.data.coords["y"].values.tolist()


@pytest.mark.parametrize(
    ("align", "left", "top"),
    [
        ("upper-left", WEST, NORTH),
        ("lower-left", WEST, NORTH - 50 + 60),
        ("upper-right", WEST + 50 - 60, NORTH),
        ("lower-right", WEST + 50 - 60, NORTH - 50 + 60),
    ],
)
def test_resample_aligns_the_grid_on_the_chosen_corner(
    env: Environment, align: str, left: float, top: float
) -> None:
    # 50 m x 50 m at 20 m takes three pixels a side, 10 m beyond the extent on one side.
    cube = make_cube(shape=(5, 5))

    result = run_process("resample_spatial", env, data=cube, resolution=20, align=align)

    assert result.data.coords["x"].values.tolist() == [left + 10, left + 30, left + 50]
    assert result.data.coords["y"].values.tolist() == [top - 10, top - 30, top - 50]


def test_resample_near_to_finer_pixels_repeats_values(env: Environment) -> None:
    cube = make_cube(shape=(2, 3))

    result = run_process("resample_spatial", env, data=cube, resolution=5)

    expected = np.repeat(np.repeat(cube.data.values, 2, axis=2), 2, axis=3)
    np.testing.assert_array_equal(result.data.values, expected)


def test_resample_to_wgs84_keeps_values_plausible(env: Environment) -> None:
    cube = make_cube(shape=(6, 8))
    to_wgs84 = pyproj.Transformer.from_crs(cube.crs, "EPSG:4326", always_xy=True)
    lons, lats = to_wgs84.transform(
        [WEST, WEST + 80, WEST, WEST + 80], [NORTH] * 2 + [NORTH - 60] * 2
    )

    result = run_process("resample_spatial", env, data=cube, projection=4326)

    assert result.crs == "EPSG:4326"
    x, y = result.data.coords["x"].values, result.data.coords["y"].values
    assert min(lons) < x.min() < x.max() < max(lons) and min(lats) < y.min() < y.max() < max(lats)
    assert np.all(np.diff(y) < 0)
    for t in range(3):
        for b in range(2):
            source, warped = cube.data.values[t, b], result.data.values[t, b]
            valid = warped[~np.isnan(warped)]
            # Nearest neighbour only copies source values, most of them at least once.
            assert valid.size >= source.size / 2 and np.isin(valid, source).all()
            assert source.min() <= valid.min() and valid.max() <= source.max()


def test_resample_to_wkt_projection_with_a_resolution(env: Environment) -> None:
    wkt = pyproj.CRS.from_epsg(3857).to_wkt()

    result = run_process(
        "resample_spatial", env, data=make_cube(), projection=wkt, resolution=25, method="bilinear"
    )

    assert result.crs == "EPSG:3857"
    assert np.allclose(np.diff(result.data.coords["x"].values), 25)
    assert np.allclose(np.diff(result.data.coords["y"].values), -25)


def test_resample_without_resolution_or_projection_is_the_cube_itself(env: Environment) -> None:
    cube = make_cube()

    assert run_process("resample_spatial", env, data=cube) is cube


def test_resample_promotes_integers_to_float(env: Environment) -> None:
    values = make_cube(shape=(2, 2)).data.values.astype(np.int16)

    result = run_process("resample_spatial", env, data=make_cube(values, shape=(2, 2)),
                         resolution=20, method="average")  # fmt: skip

    assert result.data.dtype == np.float32
    np.testing.assert_allclose(result.data.values[..., 0, 0], values.mean(axis=(-2, -1)))


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"resolution": -10}, "resolution"),
        ({"resolution": [10]}, "resolution"),
        ({"resolution": True}, "resolution"),
        ({"resolution": "10"}, "resolution"),
        ({"projection": 1}, "projection"),
        ({"projection": "not a crs"}, "projection"),
        ({"resolution": 20, "method": "gauss"}, "method"),
        ({"resolution": 20, "align": "centre"}, "align"),
    ],
)
def test_resample_spatial_errors(
    env: Environment, arguments: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(ProcessParameterInvalid, match=f"'{parameter}'"):
        run_process("resample_spatial", env, data=make_cube(), **arguments)


def test_resample_needs_a_cube_with_a_crs(env: Environment) -> None:
    cube = make_cube()
    no_crs = cube.with_data(cube.data, crs=None)

    with pytest.raises(ProcessParameterInvalid, match="'data'"):
        run_process("resample_spatial", env, data=no_crs, resolution=20)
    with pytest.raises(ProcessParameterInvalid, match="'target'"):
        run_process("resample_cube_spatial", env, data=cube, target=no_crs)
    with pytest.raises(ProcessParameterInvalid, match="'target'"):
        run_process("resample_cube_spatial", env, data=cube, target={"x": 1})


# resample_cube_spatial


def test_resample_cube_onto_a_coarser_grid(env: Environment) -> None:
    cube = make_cube(shape=(4, 6))
    x, y = WEST + 20 * (np.arange(3) + 0.5), NORTH - 20 * (np.arange(2) + 0.5)
    target = with_grid(make_cube(shape=(2, 3), dates=["2020-01-01"], bands=["x"]), x, y)

    result = run_process("resample_cube_spatial", env, data=cube, target=target, method="average")

    np.testing.assert_allclose(result.data.values, blocks(cube.data.values).mean(axis=-1))
    np.testing.assert_array_equal(result.data.coords["x"].values, x)
    np.testing.assert_array_equal(result.data.coords["y"].values, y)
    assert result.labels("t") == cube.labels("t") and result.labels("bands") == ["B04", "B08"]


def test_resample_cube_onto_a_shifted_grid_moves_values(env: Environment) -> None:
    cube = make_cube(shape=(4, 5))
    x = cube.data.coords["x"].values + 10  # one pixel east
    y = cube.data.coords["y"].values - 10  # one pixel south
    target = with_grid(make_cube(shape=(4, 5)), x, y)

    result = run_process("resample_cube_spatial", env, data=cube, target=target)

    expected = np.full_like(cube.data.values, np.nan)
    expected[..., :-1, :-1] = cube.data.values[..., 1:, 1:]
    np.testing.assert_array_equal(result.data.values, expected)


def test_resample_cube_onto_another_crs(env: Environment) -> None:
    cube = make_cube(shape=(6, 8))
    target = run_process("resample_spatial", env, data=make_cube(shape=(3, 4)), projection=4326)

    result = run_process("resample_cube_spatial", env, data=cube, target=target)

    assert result.crs == "EPSG:4326"
    np.testing.assert_array_equal(result.data.coords["x"].values, target.data.coords["x"].values)
    valid = result.data.values[~np.isnan(result.data.values)]
    assert valid.size and np.isin(valid, cube.data.values).all()


def test_resample_cube_onto_its_own_grid_is_the_cube_itself(env: Environment) -> None:
    cube = make_cube()

    assert run_process("resample_cube_spatial", env, data=cube, target=make_cube()) is cube


def test_resample_cube_spatial_refuses_an_unknown_method(env: Environment) -> None:
    with pytest.raises(ProcessParameterInvalid, match="'method'"):
        run_process(
            "resample_cube_spatial", env, data=make_cube(), target=make_cube(), method="nearest"
        )
