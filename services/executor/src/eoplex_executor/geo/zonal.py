"""Zonal statistics: which pixels each geometry covers, and reductions over them.

`zones` rasterizes a whole geometry set at once on the part of the cube's grid the
geometries reach: polygons by their pixel centres, points and lines by the pixels
they pass through (the pixel whose centre is closest, as aggregate_spatial's spec
says). Geometries whose boxes (one pixel wider) do not meet share one label image, so
overlapping geometries only cost an extra label image each, and every pixel can still
belong to several geometries. Label images are made tile by tile, so their memory is
bounded however large the window.

Reductions then run chunk by chunk of the (lazy) cube: each chunk yields, per geometry,
partial statistics (valid count, sum, min, max, squared deviations) that are merged
exactly (Chan et al.'s pairwise variance), or the covered pixels themselves for child
processes. Memory stays at a chunk plus the per-geometry results.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import dask.array
import numpy as np
import rasterio.features
import shapely
import xarray as xr
from rasterio.transform import Affine
from shapely.geometry.base import BaseGeometry

from eoplex_executor.geo.geometry import grid_transform

POLYGONAL = ("Polygon", "MultiPolygon")
# Reducers computed from partial statistics without calling the child process.
FAST_REDUCERS = frozenset({"mean", "sum", "min", "max", "count", "sd", "variance"})
# Covered pixels of all planes up to this size are reduced as one chunk by child processes.
ONE_CHUNK_BYTES = 256 * 2**20
# The side of the label images rasterized at once.
TILE = 2048
# Partial statistics per geometry: valid count, sum, min, max, squared deviations.
COUNT, SUM, MIN, MAX, M2 = range(5)


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

    @property
    def owners(self) -> np.ndarray:
        """The geometry of every entry of `order`."""
        return np.repeat(np.arange(len(self.counts)), self.counts)


def zones(geometries: Sequence[BaseGeometry], x: np.ndarray, y: np.ndarray) -> Zones:
    """The covered pixels of each geometry (in the grid's CRS) on the grid of centres x, y."""
    window = _window(geometries, x, y)
    height = window["y"].stop - window["y"].start
    width = window["x"].stop - window["x"].start
    owners: list[np.ndarray] = []
    pixels: list[np.ndarray] = []
    if height > 0 and width > 0:
        transform = grid_transform(x[window["x"]], y[window["y"]])
        for layer, all_touched in _layers(geometries, abs(transform.a), abs(transform.e)):
            for owner, flat in _rasterized(
                geometries, layer, all_touched, transform, height, width
            ):
                owners.append(owner)
                pixels.append(flat)
    owner = np.concatenate(owners) if owners else np.empty(0, dtype=np.int64)
    flat = np.concatenate(pixels) if pixels else np.empty(0, dtype=np.int64)
    # Stable: within a geometry, pixels stay in tile order (reducers see them unordered).
    sort = np.argsort(owner, kind="stable")
    counts = np.bincount(owner, minlength=len(geometries)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return Zones(window, (height, width), flat[sort], starts, counts)


def _rasterized(
    geometries: Sequence[BaseGeometry],
    layer: list[int],
    all_touched: bool,
    transform: Affine,
    height: int,
    width: int,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(geometry index, flat window index) of every covered pixel of one layer, tile by tile."""
    shapes = np.asarray([geometries[i] for i in layer], dtype=object)
    tree = shapely.STRtree(shapes)
    for top in range(0, height, TILE):
        for left in range(0, width, TILE):
            rows, cols = min(TILE, height - top), min(TILE, width - left)
            tile = Affine(
                transform.a, 0.0, transform.c + transform.a * left,
                0.0, transform.e, transform.f + transform.e * top,
            )  # fmt: skip
            corners = (tile.c, tile.f + tile.e * rows, tile.c + tile.a * cols, tile.f)
            hits = tree.query(shapely.box(*corners).buffer(abs(tile.a)))
            if not hits.size:
                continue
            labels = rasterio.features.rasterize(
                ((shapes[hit], int(hit) + 1) for hit in hits),
                out_shape=(rows, cols),
                transform=tile,
                fill=0,
                all_touched=all_touched,
                dtype="int32",
            )
            row, col = np.nonzero(labels)
            owner = np.asarray(layer, dtype=np.int64)[labels[row, col] - 1]
            yield owner, (row + top).astype(np.int64) * width + (col + left)


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


# --- chunks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """The covered pixels within one (y, x) chunk of the window: where the chunk lies, the
    positions in `Zones.order` its pixels have, and their flat indices within the chunk."""

    rows: slice
    cols: slice
    positions: np.ndarray
    local: np.ndarray


def pieces(zones: Zones, chunks: tuple[tuple[int, ...], tuple[int, ...]]) -> list[Piece]:
    """The chunks (y chunk sizes, x chunk sizes) of the window that hold covered pixels."""
    row_edges = np.cumsum([0, *chunks[0]])
    col_edges = np.cumsum([0, *chunks[1]])
    rows, cols = np.divmod(zones.order, zones.shape[1])
    block_row = np.searchsorted(row_edges, rows, side="right") - 1
    block_col = np.searchsorted(col_edges, cols, side="right") - 1
    block = block_row * len(chunks[1]) + block_col
    # Stable, so the positions within a chunk stay in geometry order.
    by_block = np.argsort(block, kind="stable")
    sorted_blocks = block[by_block]
    starts = np.flatnonzero(np.r_[True, sorted_blocks[1:] != sorted_blocks[:-1]])
    found = []
    for index, positions in zip(sorted_blocks[starts], np.split(by_block, starts[1:]), strict=True):
        r, c = divmod(int(index), len(chunks[1]))
        height = int(row_edges[r + 1] - row_edges[r])
        width = int(col_edges[c + 1] - col_edges[c])
        local = (rows[positions] - row_edges[r]) * width + (cols[positions] - col_edges[c])
        found.append(
            Piece(
                slice(int(row_edges[r]), int(row_edges[r]) + height),
                slice(int(col_edges[c]), int(col_edges[c]) + width),
                positions,
                local.astype(np.int64),
            )
        )
    return found


def _spatial_chunks(data: dask.array.Array) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return data.chunks[-2], data.chunks[-1]


def _as_dask(data: xr.DataArray) -> dask.array.Array:
    """The (..., y, x) values as a dask array (one chunk when they are in memory)."""
    values = data.data
    return values if isinstance(values, dask.array.Array) else dask.array.from_array(values)


# --- reductions from partial statistics ----------------------------------------------------


def reduce_zones(
    data: xr.DataArray, zones: Zones, reducer: str, ignore_nodata: bool, with_counts: bool
) -> dask.array.Array:
    """`reducer` (one of FAST_REDUCERS) over each geometry's pixels, for every plane of
    `data` (..., y, x): a lazy float64 array (..., geometry), or (..., geometry, 3) of
    value, total count and valid count when `with_counts`. Geometries without pixels are
    NaN; no-data follows the reducers' rule (NaN without valid values, or with any
    no-data when not ignored)."""
    values = _as_dask(data)
    owners = zones.owners
    lead = values.chunks[:-2]
    partial_chunks = (*lead, (len(zones.counts),), (5,))
    parts = [
        values[..., piece.rows, piece.cols].map_blocks(
            _partial_statistics,
            local=piece.local,
            owners=owners[piece.positions],
            count=len(zones.counts),
            chunks=partial_chunks,
            dtype=np.float64,
        )
        for piece in pieces(zones, _spatial_chunks(values))
    ]
    stacked = dask.array.stack(parts).rechunk({0: -1})
    out_chunks = (*lead, (len(zones.counts),)) + (((3,),) if with_counts else ())
    return stacked.map_blocks(
        _merged,
        totals=zones.counts,
        reducer=reducer,
        ignore_nodata=ignore_nodata,
        with_counts=with_counts,
        drop_axis=[0] if with_counts else [0, stacked.ndim - 1],
        chunks=out_chunks,
        dtype=np.float64,
    )


def _partial_statistics(
    block: np.ndarray, local: np.ndarray, owners: np.ndarray, count: int
) -> np.ndarray:
    """Per plane of a chunk and geometry: valid count, sum, min, max and squared deviations
    from the chunk's own mean of the covered pixels (`owners` is non-decreasing)."""
    planes = block.reshape(-1, block.shape[-2] * block.shape[-1])
    values = planes[:, local].astype(np.float64, copy=False)
    runs = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    valid = ~np.isnan(values)
    counts = np.add.reduceat(valid.astype(np.int64), runs, axis=1)
    sums = np.add.reduceat(np.where(valid, values, 0.0), runs, axis=1)
    with np.errstate(all="ignore"):
        means = np.where(counts > 0, sums / counts, 0.0)
    lengths = np.diff(np.r_[runs, len(owners)])
    deviations = np.where(valid, values - np.repeat(means, lengths, axis=1), 0.0)
    statistics = np.zeros((planes.shape[0], count, 5))
    statistics[:, :, MIN:M2] = np.nan
    columns = owners[runs]
    statistics[:, columns, COUNT] = counts
    statistics[:, columns, SUM] = sums
    statistics[:, columns, MIN] = np.fmin.reduceat(values, runs, axis=1)
    statistics[:, columns, MAX] = np.fmax.reduceat(values, runs, axis=1)
    statistics[:, columns, M2] = np.add.reduceat(deviations**2, runs, axis=1)
    return statistics.reshape((*block.shape[:-2], count, 5))


def _merged(
    stacked: np.ndarray, totals: np.ndarray, reducer: str, ignore_nodata: bool, with_counts: bool
) -> np.ndarray:
    """The reducer's value per geometry from the partial statistics of every chunk (axis 0)."""
    counts, sums = stacked[..., COUNT], stacked[..., SUM]
    valid = counts.sum(axis=0)
    with np.errstate(all="ignore"):
        mean = sums.sum(axis=0) / valid
        chunk_means = np.where(counts > 0, sums / counts, 0.0)
        squares = (stacked[..., M2] + counts * (chunk_means - mean) ** 2).sum(axis=0)
        if reducer == "count":
            result = valid.astype(np.float64)
        elif reducer == "min":
            result = np.fmin.reduce(stacked[..., MIN], axis=0)
        elif reducer == "max":
            result = np.fmax.reduce(stacked[..., MAX], axis=0)
        elif reducer == "sum":
            result = sums.sum(axis=0)
        elif reducer == "mean":
            result = mean
        else:
            variance = squares / (valid - 1)
            result = variance if reducer == "variance" else np.sqrt(variance)
    missing = np.broadcast_to(totals == 0, result.shape).copy()
    if reducer != "count":
        missing |= valid == 0
        if not ignore_nodata:
            missing |= valid < totals
    result = np.where(missing, np.nan, result)
    if not with_counts:
        return result
    total = np.broadcast_to(totals.astype(np.float64), result.shape)
    return np.stack([result, total, valid.astype(np.float64)], axis=-1)


# --- the covered pixels themselves, for child processes --------------------------------------


def pixels_by_size(data: xr.DataArray, zones: Zones) -> Iterator[xr.DataArray]:
    """For every distinct pixel count n, the values of the geometries of n pixels as
    (..., geometry, pixel), lazily. The covered pixels are gathered chunk by chunk, then
    sorted by their geometry's pixel count, so each group is a contiguous run that only
    needs a reshape (dask's pointwise indexing per group would be far slower)."""
    values = _as_dask(data)
    lead = values.chunks[:-2]
    found = pieces(zones, _spatial_chunks(values))
    parts = [
        values[..., piece.rows, piece.cols].map_blocks(
            _gather,
            local=piece.local,
            drop_axis=values.ndim - 1,
            chunks=(*lead, (len(piece.local),)),
            dtype=values.dtype,
        )
        for piece in found
    ]
    gathered = dask.array.concatenate(parts, axis=-1).rechunk({-1: -1})
    # From chunk order to geometry order sorted by pixel count (stable: geometry order).
    in_chunk_order = np.concatenate([piece.positions for piece in found])
    nonempty = np.flatnonzero(zones.counts)
    by_size = nonempty[np.argsort(zones.counts[nonempty], kind="stable")]
    lengths = zones.counts[by_size]
    run_starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    wanted = np.repeat(zones.starts[by_size], lengths) + np.arange(lengths.sum()) - run_starts
    where = np.empty_like(in_chunk_order)
    where[in_chunk_order] = np.arange(len(in_chunk_order))
    gathered = gathered.map_blocks(_take, indices=where[wanted], dtype=values.dtype)
    if gathered.nbytes <= ONE_CHUNK_BYTES:
        # Few, larger tasks: every group would otherwise cost tasks per date and band.
        gathered = gathered.rechunk(-1)
    dims = [str(dim) for dim in data.dims[:-2]]
    labels = {dim: data.coords[dim] for dim in dims if dim in data.coords}
    sizes = zones.counts[by_size]
    offset = 0
    for size in np.unique(sizes):
        members = by_size[sizes == size]
        run = gathered[..., offset : offset + len(members) * int(size)]
        offset += len(members) * int(size)
        yield xr.DataArray(
            run.reshape((*run.shape[:-1], len(members), int(size))),
            dims=(*dims, "geometry", "pixel"),
            coords={**labels, "geometry": members, "pixel": np.arange(size)},
        )


def _gather(block: np.ndarray, local: np.ndarray) -> np.ndarray:
    return block.reshape((*block.shape[:-2], -1))[..., local]


def _take(block: np.ndarray, indices: np.ndarray) -> np.ndarray:
    return block[..., indices]
