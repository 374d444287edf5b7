"""apply_kernel and apply_neighborhood: values against scipy/numpy references computed
here from the same arrays, chunk borders, cube borders, no-data, and process graphs."""

from pathlib import Path
from typing import Any

import dask.array
import numpy as np
import pytest
import scipy.ndimage
import xarray as xr

from eoplex_common.errors import (
    DataCubePropertiesImmutable,
    DimensionNotAvailable,
    KernelDimensionsUneven,
    ProcessParameterInvalid,
)
from eoplex_executor.engine.cube import RasterCube
from eoplex_executor.processes.neighborhood import apply_kernel, apply_neighborhood
from services.executor.tests.cubes import (
    RESOLUTION,
    child_graph,
    computed,
    graph_on_cube,
    make_cube,
    make_environment,
    run_graph,
)

KERNEL = [[1, 2, 0], [-1, 4, 3], [0.5, 0, -2]]


def cube_of(values: np.ndarray, chunks: tuple[int, ...] | None = None) -> RasterCube:
    cube = make_cube(
        values,
        dates=[f"2022-06-{day:02d}" for day in range(1, values.shape[0] + 1)],
        bands=[f"B{band}" for band in range(values.shape[1])],
        shape=values.shape[2:],
    )
    if chunks is not None:
        cube = cube.with_data(cube.data.chunk(dict(zip(cube.dims, chunks, strict=True))))
    return cube


def random_values(shape: tuple[int, ...], seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-50, 50, size=shape).astype(np.float32)


def reference_kernel(
    values: np.ndarray, kernel: Any, pad_mode: str, constant: float = 0, factor: float = 1
) -> np.ndarray:
    """The kernel by definition: pad with numpy, then sum of products over the window."""
    weights = np.asarray(kernel, dtype=np.float64)
    ry, rx = weights.shape[0] // 2, weights.shape[1] // 2
    width = ((0, 0), (0, 0), (ry, ry), (rx, rx))
    extra = {"constant_values": constant} if pad_mode == "constant" else {}
    padded = np.pad(values.astype(np.float64), width, mode=pad_mode, **extra)  # type: ignore[call-overload]
    rows, cols = values.shape[2:]
    result = np.zeros(values.shape, dtype=np.float64)
    for i in range(weights.shape[0]):
        for j in range(weights.shape[1]):
            result += weights[i, j] * padded[:, :, i : i + rows, j : j + cols]
    return result * factor


def failing_cube() -> RasterCube:
    """A cube whose every chunk fails when computed: processes must not compute."""

    def explode(block: np.ndarray) -> np.ndarray:
        raise AssertionError("the process computed the cube")

    cube = make_cube(shape=(6, 6))
    data = cube.data.data.rechunk((1, 1, 3, 3)).map_blocks(explode, dtype=np.float32)
    return cube.with_data(cube.data.copy(data=data))


# --- apply_kernel -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("border", "pad_mode", "constant"),
    [
        (0, "constant", 0),
        (7.5, "constant", 7.5),
        ("replicate", "edge", 0),
        ("reflect", "symmetric", 0),
        ("reflect_pixel", "reflect", 0),
        ("wrap", "wrap", 0),
    ],
)
def test_apply_kernel_matches_the_definition_for_every_border(
    border: Any, pad_mode: str, constant: float
) -> None:
    values = random_values((2, 2, 7, 9))
    # Chunks smaller than the image: the kernel must see across chunk borders.
    result = apply_kernel(cube_of(values, (1, 1, 3, 4)), KERNEL, factor=0.5, border=border)
    expected = reference_kernel(values, KERNEL, pad_mode, constant, factor=0.5)
    assert result.data.dtype == np.float32
    np.testing.assert_allclose(computed(result), expected, rtol=1e-5, atol=1e-3)
    assert result.labels("x") == cube_of(values).labels("x")


def test_apply_kernel_agrees_with_scipy_modes() -> None:
    values = random_values((1, 1, 6, 5), seed=3)
    weights = np.array(KERNEL)
    for border, mode in (("reflect", "reflect"), ("reflect_pixel", "mirror"), ("wrap", "wrap")):
        expected = scipy.ndimage.correlate(values[0, 0].astype(np.float64), weights, mode=mode)
        result = computed(apply_kernel(cube_of(values), KERNEL, border=border))[0, 0]
        np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-3)


def test_apply_kernel_larger_than_the_cube_reflects_repeatedly() -> None:
    values = random_values((1, 1, 2, 3), seed=4)
    kernel = np.arange(35, dtype=float).reshape(5, 7).tolist()
    for border, pad_mode in (
        ("reflect_pixel", "reflect"),
        ("wrap", "wrap"),
        ("reflect", "symmetric"),
    ):
        result = computed(apply_kernel(cube_of(values), kernel, border=border))
        np.testing.assert_allclose(result, reference_kernel(values, kernel, pad_mode), rtol=1e-5)


def test_apply_kernel_replaces_no_data_and_infinity() -> None:
    values = random_values((1, 1, 5, 5))
    values[0, 0, 2, 2] = np.nan
    values[0, 0, 0, 4] = np.inf
    replaced = np.where(np.isfinite(values), values, -3.0)
    result = computed(apply_kernel(cube_of(values), KERNEL, replace_invalid=-3))
    np.testing.assert_allclose(result, reference_kernel(replaced, KERNEL, "constant"), rtol=1e-5)
    default = computed(apply_kernel(cube_of(values), KERNEL))
    zeroed = np.where(np.isfinite(values), values, 0.0)
    np.testing.assert_allclose(default, reference_kernel(zeroed, KERNEL, "constant"), rtol=1e-5)
    assert np.isfinite(default).all()


def test_apply_kernel_counts_booleans_as_zero_and_one() -> None:
    mask = np.zeros((1, 1, 4, 4), dtype=bool)
    mask[0, 0, 1, 1] = True
    cube = make_cube(mask, dates=["2022-06-01"], bands=["B1"], shape=(4, 4))
    result = computed(apply_kernel(cube, [[1, 1, 1], [1, 1, 1], [1, 1, 1]]))
    assert result[0, 0, :3, :3].tolist() == np.ones((3, 3)).tolist()
    assert result.sum() == 9


def test_apply_kernel_of_one_pixel_scales_by_the_factor() -> None:
    values = random_values((1, 2, 3, 3))
    result = computed(apply_kernel(cube_of(values), [[2]], factor=1.5))
    np.testing.assert_allclose(result, values * 3, rtol=1e-6)


@pytest.mark.parametrize("kernel", [[[1, 1], [1, 1]], [[1, 1, 1], [1, 1, 1]], [[1, 1]]])
def test_apply_kernel_refuses_even_kernels(kernel: list[list[int]]) -> None:
    with pytest.raises(KernelDimensionsUneven, match="uneven"):
        apply_kernel(make_cube(), kernel)


@pytest.mark.parametrize(
    ("kernel", "border"),
    [([[1, 2], [3]], 0), ([], 0), ([[1, "a", 1]], 0), ([[1]], "mirror"), ([[1]], True)],
)
def test_apply_kernel_refuses_invalid_arguments(kernel: Any, border: Any) -> None:
    with pytest.raises(ProcessParameterInvalid):
        apply_kernel(make_cube(), kernel, border=border)


def test_apply_kernel_needs_x_and_y() -> None:
    cube = make_cube()
    reduced = cube.with_data(cube.data.isel(x=0, drop=True))
    with pytest.raises(DimensionNotAvailable, match="no dimension 'x'"):
        apply_kernel(reduced, [[1]])


def test_apply_kernel_and_neighborhood_do_not_compute() -> None:
    cube = failing_cube()
    apply_kernel(cube, KERNEL, border="reflect")
    apply_neighborhood(
        cube,
        lambda data, context: data,
        size=[{"dimension": "x", "value": 2, "unit": "px"}],
        overlap=[{"dimension": "x", "value": 1, "unit": "px"}],
    )


def test_apply_kernel_in_a_process_graph(tmp_path: Path) -> None:
    values = random_values((2, 1, 5, 6))
    kernel = [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    graph = graph_on_cube("apply_kernel", kernel=kernel, factor=1 / 16, border="replicate")
    result = run_graph(graph, make_environment(tmp_path), cube=cube_of(values))
    expected = reference_kernel(values, kernel, "edge", factor=1 / 16)
    np.testing.assert_allclose(computed(result), expected, rtol=1e-5, atol=1e-4)


# --- apply_neighborhood -------------------------------------------------------------------


def px(dimension: str, value: Any, unit: str | None = "px") -> dict[str, Any]:
    return {"dimension": dimension, "value": value, "unit": unit}


def test_apply_neighborhood_passes_windows_with_overlap_and_keeps_their_cores() -> None:
    values = random_values((2, 2, 7, 9))
    cube = cube_of(values)
    windows: list[xr.DataArray] = []

    def record(data: RasterCube, context: Any) -> RasterCube:
        windows.append(data.data)
        assert data.crs == cube.crs and data.dimension_types == cube.dimension_types
        return data.with_data(data.data * 2)

    result = apply_neighborhood(
        cube, record, size=[px("x", 4), px("y", 3)], overlap=[px("x", 2), px("y", 1)]
    )
    np.testing.assert_allclose(computed(result), values * 2)
    assert result.labels("t") == cube.labels("t") and result.labels("x") == cube.labels("x")
    computed_windows = [
        window for window in windows if not isinstance(window.data, dask.array.Array)
    ]
    # 3 x 3 windows (the last of each axis shorter), plus the lazy trial of the first one.
    assert len(computed_windows) == 9
    first = next(
        w
        for w in computed_windows
        if w.x.values[2] == cube.data.x.values[0] and w.y.values[1] == cube.data.y.values[0]
    )
    assert first.shape == (2, 2, 3 + 2, 4 + 4)
    assert np.isnan(first.values[:, :, 0, :]).all() and np.isnan(first.values[:, :, :, :2]).all()
    np.testing.assert_array_equal(first.values[:, :, 1:, 2:], values[:, :, :4, :6])
    # Spatial labels go on past the cube's border on its grid.
    np.testing.assert_allclose(np.diff(first.x.values), RESOLUTION)
    np.testing.assert_allclose(first.y.values[1] - first.y.values[0], -RESOLUTION)


def test_apply_neighborhood_with_a_kernel_equals_the_kernel_on_the_whole_cube(
    tmp_path: Path,
) -> None:
    values = random_values((2, 1, 8, 7))
    graph = graph_on_cube(
        "apply_neighborhood",
        process=child_graph("apply_kernel", data={"from_parameter": "data"}, kernel=KERNEL),
        size=[px("x", 3), px("y", 3)],
        overlap=[px("x", 1), px("y", 1)],
    )
    result = run_graph(graph, make_environment(tmp_path), cube=cube_of(values))
    # Beyond the cube's borders the windows hold no-data, which apply_kernel reads as 0.
    expected = reference_kernel(values, KERNEL, "constant")
    np.testing.assert_allclose(computed(result), expected, rtol=1e-5, atol=1e-3)


def test_apply_neighborhood_sizes_in_metres_and_all_labels_by_default() -> None:
    cube = cube_of(random_values((3, 2, 6, 6)))
    shapes: list[tuple[int, ...]] = []

    def record(data: RasterCube, context: Any) -> RasterCube:
        shapes.append(data.data.shape)
        return data

    apply_neighborhood(cube, record, size=[px("x", 2 * RESOLUTION, "m"), px("y", 30, None)])
    assert shapes[0] == (3, 2, 3, 2)
    apply_neighborhood(cube, record, size=[px("t", 1, None), px("bands", None)])
    assert shapes[-1] == (1, 2, 6, 6)


def test_apply_neighborhood_makes_integer_cubes_float_for_the_no_data_overlap() -> None:
    values = np.arange(16, dtype=np.int16).reshape(1, 1, 4, 4)
    cube = make_cube(values, dates=["2022-06-01"], bands=["B1"], shape=(4, 4))
    result = apply_neighborhood(
        cube, lambda data, context: data, size=[px("x", 2), px("y", 2)], overlap=[px("x", 1)]
    )
    assert result.data.dtype.kind == "f"
    np.testing.assert_array_equal(computed(result), values)


def test_apply_neighborhood_refuses_a_child_that_changes_the_window() -> None:
    def shrink(data: RasterCube, context: Any) -> RasterCube:
        return data.with_data(data.data.isel(t=[0]))

    with pytest.raises(DataCubePropertiesImmutable, match="turned a window"):
        apply_neighborhood(make_cube(), shrink, size=[px("x", 2)])
    with pytest.raises(DataCubePropertiesImmutable, match="not a data cube"):
        apply_neighborhood(make_cube(), lambda data, context: 3, size=[px("x", 2)])


def test_apply_neighborhood_needs_the_dimensions_of_its_sizes() -> None:
    with pytest.raises(DimensionNotAvailable, match="no dimension 'z'"):
        apply_neighborhood(make_cube(), lambda data, context: data, size=[px("z", 2)])


@pytest.mark.parametrize(
    ("size", "overlap", "error"),
    [
        ([px("x", 2)], [px("t", 1, None)], "spatial dimensions only"),
        ([px("t", "P5D", None)], None, "durations"),
        ([px("x", 0)], None, "is 0"),
        ([px("x", -1)], None, "number >= 0"),
        ([px("bands", 1, "m")], None, "metres"),
        ("x", None, "list"),
    ],
)
def test_apply_neighborhood_refuses_invalid_sizes(size: Any, overlap: Any, error: str) -> None:
    with pytest.raises(ProcessParameterInvalid) as caught:
        apply_neighborhood(make_cube(), lambda data, context: data, size=size, overlap=overlap)
    assert error in str(caught.value)
