"""Zonal statistics: which pixels each geometry covers, and reductions over them.

`Zones` rasterizes a whole geometry set at once on the part of the cube's grid the
geometries reach: polygons by their pixel centres, points and lines by the pixels
they pass through (the pixel whose centre is closest, as aggregate_spatial's spec
says). Geometries whose boxes (one pixel wider) do not meet share one label image, so
overlapping geometries only cost an extra label image each, and every pixel can still
belong to several geometries. The result is one flat list of covered pixels ordered by
geometry, on which numpy's `reduceat` reduces every geometry at once.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import rasterio.features
import shapely
import xarray as xr
from shapely.geometry.base import BaseGeometry

from eoplex_executor.geometry import grid_transform

POLYGONAL = ("Polygon", "MultiPolygon")
# Reducers computed by `reduce_zones` without calling the child process.
FAST_REDUCERS = frozenset({"mean", "sum", "min", "max", "count", "sd", "variance"})
# Covered pixels of all planes up to this size are reduced as one chunk by child processes.
ONE_CHUNK_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Zones:
    """The pixels of every geometry within `window` (y, x slices of the cube).

    `order` holds flat pixel indices (row * width + column) of the window, geometry by
    geometry; geometry i owns `order[starts[i] : starts[i] + counts[i]]`.
    """

    window: dict[str, slice]
    shape: tuple[int, int]
    order: np.ndarray
    starts: np.ndarray
    counts: np.ndarray

    def pixels_of(self, index: int) -> np.ndarray:
        start = int(self.starts[index])
        return self.order[start : start + int(self.counts[index])]


def zones(geometries: Sequence[BaseGeometry], x: np.ndarray, y: np.ndarray) -> Zones:
    """The covered pixels of each geometry (in the grid's CRS) on the grid of centres x, y."""
    window = _window(geometries, x, y)
    height = window["y"].stop - window["y"].start
    width = window["x"].stop - window["x"].start
    pixel_lists: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(geometries)
    if height > 0 and width > 0:
        transform = grid_transform(x[window["x"]], y[window["y"]])
        for layer, all_touched in _layers(geometries, abs(transform.a), abs(transform.e)):
            shapes = ((geometries[i], i + 1) for i in layer)
            labels = rasterio.features.rasterize(
                shapes,
                out_shape=(height, width),
                transform=transform,
                fill=0,
                all_touched=all_touched,
                dtype="int32",
            ).ravel()
            covered = np.flatnonzero(labels)
            owners = labels[covered] - 1
            sort = np.argsort(owners, kind="stable")
            covered, owners = covered[sort], owners[sort]
            bounds = (
                np.searchsorted(owners, layer, side="left"),
                np.searchsorted(owners, layer, side="right"),
            )
            for i, low, high in zip(layer, *bounds, strict=True):
                pixel_lists[i] = covered[low:high]
    counts = np.array([len(pixels) for pixels in pixel_lists], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    order = np.concatenate(pixel_lists) if pixel_lists else np.empty(0, dtype=np.int64)
    return Zones(window, (height, width), order, starts, counts)


def _window(geometries: Sequence[BaseGeometry], x: np.ndarray, y: np.ndarray) -> dict[str, slice]:
    """The index window of the pixel centres within the geometries' bounds plus one pixel
    (so a point or a line always meets the pixel it lies in); empty if none."""
    shapes = [geometry for geometry in geometries if not geometry.is_empty]
    if not shapes:
        return {"y": slice(0, 0), "x": slice(0, 0)}
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(shapes, dtype=object))
    step_x = abs(float(x[1] - x[0])) if len(x) > 1 else abs(float(y[1] - y[0])) if len(y) > 1 else 1
    step_y = abs(float(y[1] - y[0])) if len(y) > 1 else step_x
    return {
        "x": _slice((x >= minx - step_x) & (x <= maxx + step_x)),
        "y": _slice((y >= miny - step_y) & (y <= maxy + step_y)),
    }


def _slice(keep: np.ndarray) -> slice:
    indices = np.flatnonzero(keep)
    return slice(int(indices[0]), int(indices[-1]) + 1) if indices.size else slice(0, 0)


def _layers(
    geometries: Sequence[BaseGeometry], step_x: float, step_y: float
) -> list[tuple[list[int], bool]]:
    """Groups of geometry indices that can share a label image, with the rasterization
    rule of their kind: polygons by pixel centres, points and lines by touched pixels."""
    groups: list[tuple[list[int], bool]] = []
    for polygonal in (True, False):
        members = [
            i
            for i, geometry in enumerate(geometries)
            if not geometry.is_empty and (geometry.geom_type in POLYGONAL) == polygonal
        ]
        groups += [(layer, not polygonal) for layer in _colour(geometries, members, step_x, step_y)]
    return groups


def _colour(
    geometries: Sequence[BaseGeometry], members: list[int], step_x: float, step_y: float
) -> list[list[int]]:
    """Members split greedily so that no two in a group have boxes (one pixel wider) that meet."""
    if not members:
        return []
    bounds = shapely.bounds(np.asarray([geometries[i] for i in members], dtype=object))
    boxes = shapely.box(
        bounds[:, 0] - step_x, bounds[:, 1] - step_y, bounds[:, 2] + step_x, bounds[:, 3] + step_y
    )
    left, right = shapely.STRtree(boxes).query(boxes, predicate="intersects")
    neighbours: dict[int, list[int]] = {}
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a > b:
            neighbours.setdefault(a, []).append(b)
    colours = np.zeros(len(members), dtype=np.int64)
    for position in range(len(members)):
        taken = {int(colours[other]) for other in neighbours.get(position, [])}
        colours[position] = next(c for c in range(len(taken) + 1) if c not in taken)
    return [
        [members[p] for p in np.flatnonzero(colours == colour)]
        for colour in range(int(colours.max()) + 1)
    ]


def reduce_zones(
    block: np.ndarray, zones: Zones, reducer: str, ignore_nodata: bool, with_counts: bool
) -> np.ndarray:
    """`reducer` (one of FAST_REDUCERS) over each geometry's pixels of every plane of `block`
    (..., y, x) → (..., geometry) in float64, or (..., geometry, 3) of value, total count
    and valid count when `with_counts`. Geometries without pixels are NaN; no-data follows
    the reducers' rule (NaN without valid values, or with any no-data when not ignored)."""
    planes = block.reshape(-1, block.shape[-2] * block.shape[-1])
    values = planes[:, zones.order].astype(np.float64, copy=False)
    nonempty = np.flatnonzero(zones.counts)
    starts, counts = zones.starts[nonempty], zones.counts[nonempty]
    result = np.full((planes.shape[0], len(zones.counts)), np.nan)
    valid_counts = np.zeros_like(result)
    if nonempty.size:
        valid = ~np.isnan(values)
        valid_count = np.add.reduceat(valid.astype(np.int64), starts, axis=1)
        with np.errstate(all="ignore"):
            reduced = _reduce(reducer, values, valid, valid_count, starts, counts)
        # count counts what is valid; the others follow the reducers' no-data rule.
        missing = np.zeros(valid_count.shape, dtype=bool)
        if reducer != "count":
            missing = valid_count == 0
            if not ignore_nodata:
                missing |= valid_count < counts
        result[:, nonempty] = np.where(missing, np.nan, reduced)
        valid_counts[:, nonempty] = valid_count
    if with_counts:
        totals = np.broadcast_to(zones.counts.astype(np.float64), result.shape)
        result = np.stack([result, totals, valid_counts], axis=-1)
    return result.reshape(block.shape[:-2] + result.shape[1:])


def _reduce(
    reducer: str,
    values: np.ndarray,
    valid: np.ndarray,
    valid_count: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
) -> np.ndarray:
    if reducer == "count":
        return valid_count.astype(np.float64)
    if reducer == "min":
        return np.fmin.reduceat(values, starts, axis=1)
    if reducer == "max":
        return np.fmax.reduceat(values, starts, axis=1)
    total = np.add.reduceat(np.where(valid, values, 0.0), starts, axis=1)
    if reducer == "sum":
        return total
    mean = total / valid_count
    if reducer == "mean":
        return mean
    deviations = np.where(valid, values - np.repeat(mean, counts, axis=1), 0.0)
    variance = np.add.reduceat(deviations**2, starts, axis=1) / (valid_count - 1)
    return variance if reducer == "variance" else np.sqrt(variance)


def pixels_by_size(data: xr.DataArray, zones: Zones) -> Iterator[xr.DataArray]:
    """For every distinct pixel count n, the values of the geometries of n pixels as
    (..., geometry, pixel), lazily. The covered pixels are gathered once per plane, sorted
    by their geometry's pixel count, so each group is a contiguous run that only needs a
    reshape (dask's pointwise indexing per group would be far slower)."""
    nonempty = np.flatnonzero(zones.counts)
    by_size = nonempty[np.argsort(zones.counts[nonempty], kind="stable")]
    order = np.concatenate([zones.pixels_of(i) for i in by_size] or [np.empty(0, np.int64)])
    gathered = xr.apply_ufunc(
        _gather,
        data,
        kwargs={"order": order},
        input_core_dims=[["y", "x"]],
        output_core_dims=[["gathered"]],
        dask="parallelized",
        output_dtypes=[data.dtype],
        dask_gufunc_kwargs={"allow_rechunk": True, "output_sizes": {"gathered": len(order)}},
    )
    if gathered.chunks is not None and gathered.nbytes <= ONE_CHUNK_BYTES:
        # Few, larger tasks: every group would otherwise cost tasks per date and band.
        gathered = gathered.chunk(dict.fromkeys(gathered.dims, -1))
    sizes = zones.counts[by_size]
    offset = 0
    for size in np.unique(sizes):
        members = by_size[sizes == size]
        run = gathered.isel(gathered=slice(offset, offset + len(members) * int(size)))
        offset += len(members) * int(size)
        values = run.data.reshape((*run.shape[:-1], len(members), int(size)))
        labels = {dim: run.coords[dim] for dim in run.dims[:-1] if dim in run.coords}
        yield xr.DataArray(
            values,
            dims=(*run.dims[:-1], "geometry", "pixel"),
            coords={**labels, "geometry": members, "pixel": np.arange(size)},
        )


def _gather(block: np.ndarray, order: np.ndarray) -> np.ndarray:
    return block.reshape((*block.shape[:-2], -1))[..., order]
