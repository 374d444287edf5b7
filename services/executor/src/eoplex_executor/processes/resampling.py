"""Spatial resampling: resample_spatial, resample_cube_spatial.

Both warp every (y, x) plane of the cube with GDAL (`rasterio.warp.reproject`) onto a
target grid, lazily: one dask task per chunk of planes, each holding the full spatial
extent, since a warped pixel may read from anywhere in its source plane. No-data is NaN
on both sides, so GDAL's resampling skips it, as openEO's "valid pixels" require.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
import xarray as xr
from rasterio.enums import Resampling
from rasterio.transform import Affine
from rasterio.warp import reproject

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import RasterCube
from eoplex_executor.engine.registry import process
from eoplex_executor.geo.geometry import (
    DENSIFY_POINTS,
    crs_name,
    cube_crs,
    grid_transform,
    parse_crs,
)
from eoplex_executor.processes._checks import require_cube

# The most pixels a resampled plane may have (65536 x 65536): a larger grid is a mistaken
# resolution, whose coordinates alone would not fit in memory.
MAX_GRID_PIXELS = 2**32

# openEO method -> GDAL resampling (openEO's names follow gdalwarp's `-r`).
METHODS: dict[str, Resampling] = {
    "near": Resampling.nearest,
    "bilinear": Resampling.bilinear,
    "cubic": Resampling.cubic,
    "cubicspline": Resampling.cubic_spline,
    "lanczos": Resampling.lanczos,
    "average": Resampling.average,
    "mode": Resampling.mode,
    "max": Resampling.max,
    "min": Resampling.min,
    "med": Resampling.med,
    "q1": Resampling.q1,
    "q3": Resampling.q3,
    "sum": Resampling.sum,
    "rms": Resampling.rms,
}
ALIGNMENTS = ("upper-left", "lower-left", "upper-right", "lower-right")


@dataclass(frozen=True, eq=False)  # arrays have no single truth value; see same_as
class CubeGrid:
    """A cube's regular north-up grid as its labels say: its CRS and the pixel centres of its
    columns and rows (x and y may differ in step). The grid assets are read on, given by a
    corner and a square pixel size, is `eoplex_executor.io.cog.PixelGrid`."""

    crs: pyproj.CRS
    x: np.ndarray
    y: np.ndarray

    @property
    def transform(self) -> Affine:
        return grid_transform(self.x, self.y)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of the pixels' outer edges."""
        transform = self.transform
        west, north = transform @ (0, 0)
        east, south = transform @ (len(self.x), len(self.y))
        return west, south, east, north

    def same_as(self, other: "CubeGrid") -> bool:
        return (
            self.crs == other.crs
            and np.array_equal(self.x, other.x)
            and np.array_equal(self.y, other.y)
        )


@process()
def resample_spatial(
    data: RasterCube,
    resolution: float | Sequence[float],
    projection: int | str | None,
    method: str,
    align: str,
) -> RasterCube:
    """openEO `resample_spatial`: the cube warped to `projection` (null: keep) at `resolution`
    (0: keep, or the equivalent of the source's in a new projection), the new grid anchored
    at the `align` corner of the source extent. Raises ProcessParameterInvalid for a
    negative resolution or an unknown projection, method or alignment."""
    source = _cube_grid(data, "resample_spatial", "data")
    resampling = _resampling(method, "resample_spatial")
    if align not in ALIGNMENTS:
        raise _invalid("resample_spatial", "align", f"expected one of {', '.join(ALIGNMENTS)}")
    resolution_x, resolution_y = _resolution(resolution)
    crs = (
        source.crs
        if projection is None
        else parse_crs(projection, process="resample_spatial", parameter="projection")
    )
    if resolution_x == resolution_y == 0 and crs == source.crs:
        return data
    target = _target_grid(source, crs, (resolution_x, resolution_y), align)
    return _warp(data, source, target, resampling)


@process()
def resample_cube_spatial(data: RasterCube, target: RasterCube, method: str) -> RasterCube:
    """openEO `resample_cube_spatial`: the cube warped onto the grid (CRS and x/y labels) of
    `target`. Raises ProcessParameterInvalid for a cube without spatial dimensions or an
    unknown method."""
    source = _cube_grid(data, "resample_cube_spatial", "data")
    grid = _cube_grid(target, "resample_cube_spatial", "target")
    resampling = _resampling(method, "resample_cube_spatial")
    if source.same_as(grid):
        return data
    return _warp(data, source, grid, resampling)


def _cube_grid(cube: Any, process_id: str, parameter: str) -> CubeGrid:
    require_cube(cube, process_id, parameter)
    crs = cube_crs(cube, process=process_id, parameter=parameter)
    return CubeGrid(crs, cube.data.coords["x"].values, cube.data.coords["y"].values)


def _resampling(method: str, process_id: str) -> Resampling:
    if not isinstance(method, str) or method not in METHODS:
        raise _invalid(process_id, "method", f"expected one of {', '.join(METHODS)}")
    return METHODS[method]


def _resolution(resolution: Any) -> tuple[float, float]:
    """(x, y) resolution of a number or an [x, y] pair, 0 meaning "keep"."""
    pair = resolution if isinstance(resolution, list | tuple) else [resolution, resolution]
    if len(pair) != 2 or not all(
        isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        for value in pair
    ):
        raise _invalid("resample_spatial", "resolution", "expected a number >= 0 or [x, y]")
    return float(pair[0]), float(pair[1])


def _target_grid(
    source: CubeGrid, crs: pyproj.CRS, resolution: tuple[float, float], align: str
) -> CubeGrid:
    """The grid of `resolution` in `crs` covering the source extent, anchored at `align`."""
    if crs == source.crs:
        bounds = source.bounds
        default = (source.transform.a, -source.transform.e)
    else:
        transformer = pyproj.Transformer.from_crs(source.crs, crs, always_xy=True)
        bounds = transformer.transform_bounds(*source.bounds, densify_pts=DENSIFY_POINTS)
        if not all(np.isfinite(bounds)):
            reason = f"the cube has no extent in {crs_name(crs)}"
            raise _invalid("resample_spatial", "projection", reason)
        # Square pixels, as many along the diagonal as in the source: GDAL's suggestion
        # (rasterio's calculate_default_transform, which warns on current `affine`).
        diagonal = math.hypot(bounds[2] - bounds[0], bounds[3] - bounds[1])
        size = diagonal / math.hypot(len(source.x), len(source.y))
        default = (size, size)
    resolution_x = resolution[0] or default[0]
    resolution_y = resolution[1] or default[1]
    return _aligned_grid(crs, bounds, resolution_x, resolution_y, align)


def _aligned_grid(
    crs: pyproj.CRS,
    bounds: tuple[float, float, float, float],
    resolution_x: float,
    resolution_y: float,
    align: str,
) -> CubeGrid:
    """Whole pixels covering `bounds`, the `align` corner of the grid on that of `bounds`."""
    west, south, east, north = bounds
    columns, rows = _cells(east - west, resolution_x), _cells(north - south, resolution_y)
    if columns * rows > MAX_GRID_PIXELS:
        raise _invalid(
            "resample_spatial",
            "resolution",
            f"the resolution makes planes of {columns} x {rows} pixels, more than "
            f"{MAX_GRID_PIXELS}",
        )
    left = west if align.endswith("left") else east - columns * resolution_x
    top = north if align.startswith("upper") else south + rows * resolution_y
    x = left + resolution_x * (np.arange(columns) + 0.5)
    y = top - resolution_y * (np.arange(rows) + 0.5)
    return CubeGrid(crs, x, y)


def _cells(length: float, resolution: float) -> int:
    # Rounded first, so 50 m at 10 m is 5 pixels even when floating point makes it 5.0000001.
    cells = round(length / resolution, 6)
    # Beyond any limit (a resolution of 1e-300): one more than the limit says so.
    return max(1, math.ceil(cells)) if cells <= MAX_GRID_PIXELS else MAX_GRID_PIXELS + 1


def _warp(
    data: RasterCube, source: CubeGrid, target: CubeGrid, resampling: Resampling
) -> RasterCube:
    """`data` warped lazily from `source` onto `target`, in floating point (NaN: no-data)."""
    array = data.data
    dtype = np.result_type(array.dtype, np.float32)
    planes = array.transpose(..., "y", "x").chunk({"y": -1, "x": -1}).astype(dtype)
    warped = xr.apply_ufunc(
        _warp_planes,
        planes,
        input_core_dims=[["y", "x"]],
        output_core_dims=[["y", "x"]],
        exclude_dims={"y", "x"},
        dask="parallelized",
        output_dtypes=[dtype],
        dask_gufunc_kwargs={"output_sizes": {"y": len(target.y), "x": len(target.x)}},
        kwargs={
            "source": (source.crs.to_wkt(), source.transform),
            "target": (target.crs.to_wkt(), target.transform, (len(target.y), len(target.x))),
            "resampling": resampling,
        },
    )
    warped = warped.assign_coords(y=target.y, x=target.x).transpose(*array.dims)
    return data.with_data(warped, crs=crs_name(target.crs))


def _warp_planes(
    planes: np.ndarray,
    *,
    source: tuple[str, Affine],
    target: tuple[str, Affine, tuple[int, int]],
    resampling: Resampling,
) -> np.ndarray:
    """Every (y, x) plane of `planes` (..., y, x) warped by GDAL in one call."""
    (source_crs, source_transform), (target_crs, target_transform, shape) = source, target
    stack = planes.reshape(-1, *planes.shape[-2:])
    warped = np.full((stack.shape[0], *shape), np.nan, dtype=planes.dtype)
    if stack.size:
        reproject(
            source=stack,
            destination=warped,
            src_transform=source_transform,
            src_crs=source_crs,
            src_nodata=np.nan,
            dst_transform=target_transform,
            dst_crs=target_crs,
            dst_nodata=np.nan,
            resampling=resampling,
            # Every plane is a (t, band) of its own: no-data in one says nothing of another.
            UNIFIED_SRC_NODATA="NO",
        )
    return warped.reshape(*planes.shape[:-2], *shape)


def _invalid(process_id: str, parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=process_id, parameter=parameter, reason=reason)
