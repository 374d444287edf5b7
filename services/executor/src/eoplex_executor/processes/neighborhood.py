"""Focal processes on the horizontal plane: apply_kernel and apply_neighborhood.

Both stay lazy and work chunk by chunk. `apply_kernel` pads the cube's borders as the
`border` parameter asks, then correlates every chunk together with the margin of its
neighbours that the kernel reaches (dask `map_overlap`), so a chunk's edge pixels see
the same neighbours as they would in one big array. `apply_neighborhood` cuts the cube
into windows of `size` (plus `overlap` on the spatial dimensions, no-data beyond the
cube's borders), runs the child process on each window as a small in-memory cube when
dask computes it, and keeps only the window's core.
"""

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import dask.array
import numpy as np
import scipy.ndimage
import xarray as xr

from eoplex_common.errors import (
    DataCubePropertiesImmutable,
    DimensionNotAvailable,
    KernelDimensionsUneven,
    ProcessParameterInvalid,
)
from eoplex_executor.engine.cube import SPATIAL, RasterCube
from eoplex_executor.engine.registry import process
from eoplex_executor.geo.geometry import grid_transform
from eoplex_executor.processes._checks import is_finite_number, require_cube, require_dimension
from eoplex_executor.processes._children import ChildProcess

HORIZONTAL = ("y", "x")
# openEO border mode -> numpy pad mode (numpy's "reflect" mirrors around the edge pixel,
# its "symmetric" repeats it, which is what openEO calls reflect_pixel and reflect).
BORDER_MODES = {
    "replicate": "edge",
    "reflect": "symmetric",
    "reflect_pixel": "reflect",
    "wrap": "wrap",
}


# --- apply_kernel -------------------------------------------------------------------------


@process()
def apply_kernel(
    data: RasterCube,
    kernel: Sequence[Sequence[float]],
    factor: float = 1,
    border: str | float = 0,
    replace_invalid: float = 0,
) -> RasterCube:
    """openEO `apply_kernel`: a 2D focal sum of products on (y, x), times `factor`.

    Kernel row `i`, column `j` weighs the pixel `i - rows // 2` rows below and
    `j - cols // 2` columns right of the centre (a correlation, as the spec's "each value
    in the kernel is multiplied with the corresponding pixel value" reads; symmetric
    kernels are the same either way). NaN and infinite values become `replace_invalid`
    before, as the spec says, so the result has no no-data; booleans count as 0 and 1.
    The result is float32 for float32 input, float64 for wider types. Raises
    KernelDimensionsUneven for an even kernel size, DimensionNotAvailable for a cube without
    x and y, and ProcessParameterInvalid for a kernel that is not a 2D array of numbers or
    an unknown border mode.
    """
    cube = require_cube(data, "apply_kernel", "data")
    _require_horizontal(cube, "apply_kernel")
    weights = _kernel_weights(kernel)
    pad_mode = _border_mode(border)
    if not is_finite_number(factor) or not is_finite_number(replace_invalid):
        raise _invalid("apply_kernel", "factor", "factor and replace_invalid are numbers")
    array = cube.data.transpose(..., *HORIZONTAL)
    values = dask.array.asarray(array.data)
    dtype = np.result_type(values.dtype if values.dtype != bool else np.uint8, np.float32)
    # Compared as Python numbers: exact also for integers beyond any float.
    numbers: list[Any] = [factor, replace_invalid, *([border] if pad_mode is None else [])]
    if any(abs(number) > float(np.finfo(dtype).max) for number in numbers):
        dtype = np.dtype(np.float64)  # float32 would turn them into infinity
    if any(abs(number) > float(np.finfo(np.float64).max) for number in numbers):
        raise _invalid("apply_kernel", "factor", "factor, border and replace_invalid exceed 1e308")
    values = values.astype(dtype)
    values = dask.array.where(dask.array.isfinite(values), values, dtype.type(replace_invalid))
    radius = (weights.shape[0] // 2, weights.shape[1] // 2)
    padded = _padded(values, radius, pad_mode, dtype.type(border) if pad_mode is None else None)
    depth = {values.ndim - 2: radius[0], values.ndim - 1: radius[1]}
    correlated = padded.map_overlap(
        partial(_correlate, weights, factor), depth=depth, boundary="none", trim=True, dtype=dtype
    )
    rows, cols = values.shape[-2:]
    core = correlated[..., radius[0] : radius[0] + rows, radius[1] : radius[1] + cols]
    result = array.copy(data=core)
    return cube.with_data(result.transpose(*cube.dims))


def _kernel_weights(kernel: Any) -> np.ndarray:
    rows = kernel if isinstance(kernel, list | tuple) else None
    if not rows or not all(isinstance(row, list | tuple) and row for row in rows):
        raise _invalid("apply_kernel", "kernel", "a two-dimensional array of numbers is required")
    if len({len(row) for row in rows}) != 1 or not all(
        is_finite_number(weight) for row in rows for weight in row
    ):
        raise _invalid("apply_kernel", "kernel", "every row needs as many numbers as the first")
    try:
        weights = np.array(rows, dtype=np.float64)
    except OverflowError as error:
        raise _invalid("apply_kernel", "kernel", "a weight exceeds 1e308") from error
    if weights.shape[0] % 2 == 0 or weights.shape[1] % 2 == 0:
        raise KernelDimensionsUneven(
            process="apply_kernel",
            parameter="kernel",
            reason=f"the kernel is {weights.shape[0]} x {weights.shape[1]}; "
            "each dimension needs an uneven number of elements",
        )
    return weights


def _border_mode(border: Any) -> str | None:
    """The numpy pad mode of `border`; None for a constant number."""
    if is_finite_number(border):
        return None
    if isinstance(border, str) and border in BORDER_MODES:
        return BORDER_MODES[border]
    raise _invalid(
        "apply_kernel", "border", f"a number or one of {', '.join(BORDER_MODES)} is required"
    )


def _padded(
    values: dask.array.Array, radius: tuple[int, int], mode: str | None, constant: Any
) -> dask.array.Array:
    """`values` extended by `radius` pixels on each side of its last two axes."""
    if mode is None:
        width = [(0, 0)] * (values.ndim - 2) + [(radius[0],) * 2, (radius[1],) * 2]
        return dask.array.pad(values, width, mode="constant", constant_values=constant)
    # The margins are picked by index maps from numpy's pad, since dask's pad mis-sizes
    # reflections wider than the array (a kernel larger than a small cube); the core keeps
    # its chunks.
    for axis, reach in zip((values.ndim - 2, values.ndim - 1), radius, strict=True):
        if reach:
            length = values.shape[axis]
            source = np.pad(np.arange(length), reach, mode=mode)  # type: ignore[call-overload]
            before = (slice(None),) * axis
            margins = (values[(*before, source[:reach])], values[(*before, source[-reach:])])
            values = dask.array.concatenate([margins[0], values, margins[1]], axis=axis)
    return values


def _correlate(weights: np.ndarray, factor: float, block: np.ndarray) -> np.ndarray:
    """The kernel on one (overlapped) block, times `factor`; its own edges are trimmed away
    afterwards. Overflow is infinity (IEEE 754), without warnings when dask computes."""
    full = weights.reshape((1,) * (block.ndim - 2) + weights.shape)
    result = scipy.ndimage.correlate(block.astype(np.float64), full, mode="constant", cval=0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        return (result * factor).astype(block.dtype, copy=False)


# --- apply_neighborhood -------------------------------------------------------------------


@process()
def apply_neighborhood(
    data: RasterCube,
    process: ChildProcess,
    size: Sequence[Mapping[str, Any]],
    overlap: Sequence[Mapping[str, Any]] | None = None,
    context: Any = None,
) -> RasterCube:
    """openEO `apply_neighborhood`: run `process` on windows of `size` labels per dimension
    (all labels of a dimension `size` does not name), each extended by `overlap` pixels on
    both sides of the spatial dimensions. The child sees every window as a cube (`data`),
    with no-data beyond the cube's borders (so integer cubes become floating point when
    there is overlap), and must return a cube of the same dimensions and shape, of which
    only the core is kept. Spatial sizes are pixels (`px`) or CRS units (`m`, also the
    default unit); other dimensions count labels. Runs when dask computes the window, so
    one window is in memory per thread; the first window is tried lazily up front, so a
    child that changes the cube fails here. Raises DimensionNotAvailable for unknown
    dimensions, DataCubePropertiesImmutable for a child result of another shape, and
    ProcessParameterInvalid for durations or overlap on non-spatial dimensions (not
    supported) and invalid sizes."""
    cube = require_cube(data, "apply_neighborhood", "data")
    _require_horizontal(cube, "apply_neighborhood")
    sizes = _label_counts(cube, size, "size")
    overlaps = _label_counts(cube, overlap or [], "overlap")
    for dim, count in overlaps.items():
        if count and cube.dimension_types.get(dim) != SPATIAL:
            raise _invalid(
                "apply_neighborhood",
                "overlap",
                f"overlap is supported on the spatial dimensions only, not on {dim!r}",
            )
    windows = Windows(
        cube,
        sizes={dim: sizes.get(dim) or cube.data.sizes[dim] for dim in cube.dims},
        overlaps={dim: overlaps.get(dim) or 0 for dim in cube.dims},
    )
    values = dask.array.asarray(cube.data.data)
    if any(windows.overlaps.values()) and values.dtype.kind != "f":
        values = values.astype(np.result_type(values.dtype, np.float32))
    values = values.rechunk(windows.core_chunks())
    for axis, dim in enumerate(cube.dims):
        values = windows.overlapped(values, axis, dim)

    def run(block: Any, block_id: tuple[int, ...]) -> xr.DataArray:
        window = RasterCube(windows.window(block, block_id), cube.crs, cube.dimension_types)
        return windows.core(process(data=window, context=context), block_id)

    first = run(values.blocks[(0,) * values.ndim], (0,) * values.ndim)

    def compute(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        core = run(block, block_id).compute(scheduler="synchronous")
        return np.asarray(core.data, dtype=first.dtype)

    result = values.map_blocks(
        compute, chunks=windows.core_chunks(), dtype=first.dtype, meta=np.array((), first.dtype)
    )
    return cube.with_data(cube.data.copy(data=result))


class Windows:
    """The windows of apply_neighborhood: their sizes, overlaps and labels."""

    def __init__(
        self, cube: RasterCube, *, sizes: Mapping[str, int], overlaps: Mapping[str, int]
    ) -> None:
        self.cube = cube
        self.sizes = sizes
        self.overlaps = overlaps

    def core_chunks(self) -> tuple[tuple[int, ...], ...]:
        """The windows' cores as dask chunks: `size` labels, the last window what is left."""
        return tuple(
            tuple(
                min(self.sizes[dim], length - start) for start in range(0, length, self.sizes[dim])
            )
            for dim, length in self._lengths().items()
        )

    def overlapped(self, values: dask.array.Array, axis: int, dim: str) -> dask.array.Array:
        """`values` with every window along `axis` extended by the overlap, one chunk each
        (neighbouring windows share pixels, so they are copied; NaN beyond the borders)."""
        reach, size, length = self.overlaps[dim], self.sizes[dim], values.shape[axis]
        if not reach:
            return values
        width = [(reach, reach) if index == axis else (0, 0) for index in range(values.ndim)]
        padded = dask.array.pad(values, width, mode="constant", constant_values=np.nan)
        before = (slice(None),) * axis
        pieces = [
            padded[(*before, slice(start, min(start + size, length) + 2 * reach))]
            for start in range(0, length, size)
        ]
        joined = dask.array.concatenate(pieces, axis=axis)
        return joined.rechunk({axis: tuple(piece.shape[axis] for piece in pieces)})

    def window(self, block: Any, block_id: tuple[int, ...]) -> xr.DataArray:
        """One window's values with its labels; spatial labels continue past the borders."""
        coords = {}
        for dim, (start, stop) in self._cores(block_id).items():
            labels, reach = self.cube.data.coords[dim].values, self.overlaps[dim]
            if reach:
                steps = np.arange(start - reach, stop + reach)
                coords[dim] = labels[0] + _spacing(self.cube, dim) * steps
            else:
                coords[dim] = labels[start:stop]
        return xr.DataArray(block, dims=self.cube.dims, coords=coords)

    def core(self, result: Any, block_id: tuple[int, ...]) -> xr.DataArray:
        """The child's `result` for a window without its overlap; DataCubePropertiesImmutable
        unless it has the window's dimensions and shape."""
        values = result.data if isinstance(result, RasterCube) else result
        if not isinstance(values, xr.DataArray):
            raise _immutable(f"the process returned {type(values).__name__}, not a data cube")
        expected = {
            dim: stop - start + 2 * self.overlaps[dim]
            for dim, (start, stop) in self._cores(block_id).items()
        }
        actual = {str(dim): size for dim, size in values.sizes.items()}
        if actual != expected:
            raise _immutable(f"the process turned a window of {expected} into {actual}")
        core = {dim: slice(reach, expected[dim] - reach) for dim, reach in self.overlaps.items()}
        return values.transpose(*self.cube.dims).isel(core)

    def _cores(self, block_id: tuple[int, ...]) -> dict[str, tuple[int, int]]:
        """The label positions [start, stop) of a window's core along every dimension."""
        return {
            dim: (index * self.sizes[dim], min((index + 1) * self.sizes[dim], length))
            for (dim, length), index in zip(self._lengths().items(), block_id, strict=True)
        }

    def _lengths(self) -> dict[str, int]:
        return {str(dim): length for dim, length in self.cube.data.sizes.items()}


def _spacing(cube: RasterCube, dim: str) -> float:
    """The pixel spacing of a spatial dimension (a single pixel's from the other axis)."""
    coords = cube.data.coords
    if dim in HORIZONTAL:
        transform = grid_transform(coords["x"].values, coords["y"].values)
        return float(transform.a if dim == "x" else transform.e)
    labels = coords[dim].values
    return float(labels[1] - labels[0]) if len(labels) > 1 else 1.0


def _label_counts(cube: RasterCube, entries: Any, parameter: str) -> dict[str, int | None]:
    """`size` or `overlap` as labels per dimension (None: all labels)."""
    if not isinstance(entries, list | tuple):
        raise _invalid("apply_neighborhood", parameter, "a list of {dimension, value, unit}")
    counts: dict[str, int | None] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("dimension"), str):
            raise _invalid("apply_neighborhood", parameter, "each entry names a dimension")
        dim = require_dimension(cube, entry["dimension"], "apply_neighborhood", parameter)
        value, unit = entry.get("value"), entry.get("unit")
        if value is None:
            counts[dim] = None
            continue
        if isinstance(value, str):
            raise _invalid(
                "apply_neighborhood",
                parameter,
                f"durations ({value!r}) are not supported; give a number of labels for {dim!r}",
            )
        if not is_finite_number(value) or value < 0 or unit not in (None, "px", "m"):
            raise _invalid(
                "apply_neighborhood", parameter, f"{entry} needs a number >= 0 and unit px or m"
            )
        spatial = cube.dimension_types.get(dim) == SPATIAL
        if unit == "m" and not spatial:
            raise _invalid("apply_neighborhood", parameter, f"{dim!r} is not measured in metres")
        step = abs(_spacing(cube, dim)) if spatial else 1.0
        count = value if unit == "px" or not spatial else value / step
        # A window covers at least what was asked for (float noise aside).
        counts[dim] = labels = math.ceil(count - 1e-9)
        if parameter == "size" and labels == 0:
            raise _invalid("apply_neighborhood", "size", f"the size of {dim!r} is 0")
        if parameter == "overlap" and labels > cube.data.sizes[dim]:
            # Windows padded beyond twice the cube's extent would be no-data only.
            raise _invalid(
                "apply_neighborhood",
                "overlap",
                f"an overlap of {value} exceeds the {cube.data.sizes[dim]} labels of {dim!r}",
            )
    return counts


# --- helpers ------------------------------------------------------------------------------


def _require_horizontal(cube: RasterCube, process_id: str) -> None:
    for dim in HORIZONTAL:
        require_dimension(cube, dim, process_id, "data")
        if cube.dimension_types.get(dim) != SPATIAL:
            raise DimensionNotAvailable(
                process=process_id, parameter="data", reason=f"{dim!r} is not spatial"
            )


def _immutable(reason: str) -> DataCubePropertiesImmutable:
    return DataCubePropertiesImmutable(
        process="apply_neighborhood", parameter="process", reason=reason
    )


def _invalid(process_id: str, parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=process_id, parameter=parameter, reason=reason)
