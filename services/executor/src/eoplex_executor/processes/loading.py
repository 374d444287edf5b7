"""load_collection: reads the needed windows of a collection's assets into a lazy raster cube.

The cube lies on the collection's own grid (`cube:dimensions` x/y: CRS, step and
origin), cropped to the requested extent and snapped to whole pixels. Every
(date, band) plane is split into square chunks; a chunk task opens the assets of
its date and band and reads only the window it needs: directly when an asset lies
on the cube's grid, through a `WarpedVRT` (which uses overviews when it can) when it
does not. Items of one date are mosaicked, first valid pixel first. Values become
float (see `eoplex_executor.engine.cube`): integer bands of up to 16 bits float32, wider
ones float64, no-data NaN.
"""

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeGuard

import dask.array
import numpy as np
import rasterio
import xarray as xr
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.transform import Affine
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import BANDS, SPATIAL, TEMPORAL, RasterCube, parse_datetime
from eoplex_executor.engine.environment import Environment
from eoplex_executor.engine.graph import Callback
from eoplex_executor.engine.pixel_meter import count_read
from eoplex_executor.engine.registry import process
from eoplex_executor.geo.geometry import geometries_from_geojson

CHUNK = 1024
PROCESS = "load_collection"
# Data types whose values float32 holds exactly.
FLOAT32_EXACT = {"uint8", "int8", "uint16", "int16", "float16", "float32"}


@dataclass(frozen=True)
class Grid:
    """The cube's pixel grid: CRS, top-left corner, resolution and size."""

    crs: str
    west: float
    north: float
    resolution: float
    width: int
    height: int

    def transform(self, row: int = 0, col: int = 0) -> Affine:
        """The affine transform of the grid's pixel (row, col) as a window's origin."""
        return Affine(
            self.resolution,
            0.0,
            self.west + col * self.resolution,
            0.0,
            -self.resolution,
            self.north - row * self.resolution,
        )

    def x_centres(self) -> np.ndarray:
        return self.west + self.resolution * (np.arange(self.width) + 0.5)

    def y_centres(self) -> np.ndarray:
        return self.north - self.resolution * (np.arange(self.height) + 0.5)


@dataclass(frozen=True)
class Source:
    """One asset file and the grid its pixels lie on."""

    href: str
    crs: str
    transform: Affine
    nodata: float | None
    # The band of the file that holds the cube's band (1-based, as GDAL counts).
    band: int = 1
    # GDAL configuration to open it with, e.g. load_stac's `GDAL_HTTP_PROXY`.
    gdal_options: tuple[tuple[str, str], ...] = ()
    # The process that named the file, when a user did (load_stac): failing to read it
    # is then that process's ProcessParameterInvalid, not a fault of the back-end.
    named_by: str = ""


@process("load_collection", environment=True)
def load_collection(
    id: str,
    spatial_extent: Any,
    temporal_extent: Any,
    bands: list[str] | None,
    properties: Mapping[str, Callable[..., Any]] | None,
    env: Environment,
) -> RasterCube:
    """`load_collection`: the collection as a lazy cube (t, bands, y, x).

    Raises CollectionNotFound (from the catalog), ProcessParameterInvalid for unknown
    bands, malformed extents or an extent without data, ProcessGraphComplexity or
    PaymentRequired when the cube exceeds the execution's pixel limits.
    """
    if not isinstance(id, str):
        raise ProcessParameterInvalid(
            process=PROCESS, parameter="id", reason="expected a collection id (a string)."
        )
    collection = env.catalog.collection(id)
    dimensions = collection.get("cube:dimensions", {})
    info = band_info(collection)
    band_names = resolve_bands(bands, info) if bands is not None else list(info)
    filters = property_filters(properties)
    grid = collection_grid(dimensions, spatial_extent)
    start, end = temporal_interval(temporal_extent)
    items = env.catalog.search_items(
        collection_id=id,
        bbox=[
            grid.west,
            grid.north - grid.height * grid.resolution,
            grid.west + grid.width * grid.resolution,
            grid.north,
        ],
        bbox_crs=grid.crs,
        start=start,
        end=end,
        bands=band_names,
        property_filter=catalog_property_filter(filters),
    )
    items = [item for item in items if matches_properties(item, filters)]
    if not items:
        raise ProcessParameterInvalid(
            process=PROCESS,
            parameter="temporal_extent",
            reason=f"collection '{id}' has no data in the requested extents and properties.",
        )
    dates, sources = _sources_by_date(items, band_names, info)
    return cube_from_sources(grid, dates, sources, band_names, info, env=env, name=id)


def cube_from_sources(
    grid: Grid,
    dates: np.ndarray,
    sources: list[list[list[Source]]],
    band_names: list[str],
    info: Mapping[str, Mapping[str, Any]],
    *,
    env: Environment,
    name: str,
) -> RasterCube:
    """The lazy cube (t, bands, y, x) on `grid` whose (date, band) planes mosaic `sources`
    (per date, per band), as load_collection and load_stac build it; the pixels it reads are
    counted against the execution's limits (`pixel_meter.count_read`)."""
    plane = len(dates) * grid.width * grid.height
    count_read(env, plane * len(band_names))
    env.bytes_read += plane * sum(_source_size(info[band]) for band in band_names)
    dtype = np.dtype(_float_type(info, band_names))
    data = _lazy_planes(grid, sources, dtype)
    array = xr.DataArray(
        data,
        dims=("t", "bands", "y", "x"),
        coords={"t": dates, "bands": band_names, "y": grid.y_centres(), "x": grid.x_centres()},
        name=name,
    )
    types = {"t": TEMPORAL, "bands": BANDS, "y": SPATIAL, "x": SPATIAL}
    return RasterCube(data=array, crs=grid.crs, dimension_types=types)


def band_info(collection: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Band name -> {common_name, data_type, nodata}, from the collection's summaries."""
    summaries = collection.get("summaries", {})
    names = collection.get("cube:dimensions", {}).get("bands", {}).get("values", [])
    eo_bands = {band["name"]: band for band in summaries.get("eo:bands", [])}
    raster_bands = summaries.get("raster:bands", [])
    info: dict[str, dict[str, Any]] = {}
    for index, name in enumerate(names or list(eo_bands)):
        raster = raster_bands[index] if index < len(raster_bands) else {}
        info[name] = {
            "common_name": eo_bands.get(name, {}).get("common_name"),
            "data_type": raster.get("data_type", "float64"),
            "nodata": raster.get("nodata"),
        }
    return info


def resolve_bands(requested: list[str], info: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Band names for names or common names, in the requested order."""
    if (
        not isinstance(requested, list)
        or not requested
        or not all(isinstance(band, str) for band in requested)
    ):
        raise ProcessParameterInvalid(
            process=PROCESS,
            parameter="bands",
            reason="expected an array of one or more band names, or null.",
        )
    resolved = []
    for band in requested:
        if band in info:
            resolved.append(band)
            continue
        matches = [name for name, meta in info.items() if meta["common_name"] == band]
        if len(matches) != 1:
            reason = (
                f"band '{band}' is ambiguous: {matches}"
                if matches
                else f"band '{band}' does not exist; available: {sorted(info)}"
            )
            raise ProcessParameterInvalid(process=PROCESS, parameter="bands", reason=reason)
        resolved.append(matches[0])
    return resolved


def collection_grid(dimensions: Mapping[str, Any], spatial_extent: Any) -> Grid:
    """The collection grid cropped to the extent and snapped outwards to whole pixels."""
    x, y = dimensions.get("x", {}), dimensions.get("y", {})
    crs = f"EPSG:{x.get('reference_system', 4326)}"
    resolution = float(x.get("step") or y.get("step") or 0)
    if resolution <= 0:
        raise ProcessParameterInvalid(
            process=PROCESS, parameter="id", reason="the collection has no regular x/y grid."
        )
    (west, east), (south, north) = x["extent"], y["extent"]
    if spatial_extent is not None:
        minx, miny, maxx, maxy = extent_bounds(spatial_extent, crs)
        west, south = max(west, minx), max(south, miny)
        east, north = min(east, maxx), min(north, maxy)
        if west >= east or south >= north:
            raise ProcessParameterInvalid(
                process=PROCESS,
                parameter="spatial_extent",
                reason="the extent does not overlap the collection's extent.",
            )
    x0, y0 = x["extent"][0], y["extent"][1]
    first_col = math.floor((west - x0) / resolution + 1e-9)
    last_col = math.ceil((east - x0) / resolution - 1e-9)
    first_row = math.floor((y0 - north) / resolution + 1e-9)
    last_row = math.ceil((y0 - south) / resolution - 1e-9)
    return Grid(
        crs=crs,
        west=x0 + first_col * resolution,
        north=y0 - first_row * resolution,
        resolution=resolution,
        width=max(last_col - first_col, 1),
        height=max(last_row - first_row, 1),
    )


def extent_bounds(extent: Any, crs: str) -> tuple[float, float, float, float]:
    """minx, miny, maxx, maxy in `crs` of a bounding box or of GeoJSON geometries."""
    if isinstance(extent, Mapping) and "west" in extent:
        try:
            west, south = float(extent["west"]), float(extent["south"])
            east, north = float(extent["east"]), float(extent["north"])
            source = CRS.from_user_input(extent.get("crs") or 4326)
        except (KeyError, TypeError, ValueError, CRSError):
            raise ProcessParameterInvalid(
                process=PROCESS,
                parameter="spatial_extent",
                reason="a bounding box needs numbers west, south, east, north and a valid crs.",
            ) from None
    else:
        west, south, east, north = _geojson_bounds(extent)
        source = CRS.from_epsg(4326)
    if west > east or south > north:
        raise ProcessParameterInvalid(
            process=PROCESS,
            parameter="spatial_extent",
            reason="west must not exceed east and south must not exceed north.",
        )
    transformer = Transformer.from_crs(source, CRS.from_user_input(crs), always_xy=True)
    bounds = transformer.transform_bounds(west, south, east, north, densify_pts=21)
    return bounds[0], bounds[1], bounds[2], bounds[3]


def _geojson_bounds(value: Any) -> tuple[float, float, float, float]:
    shapes = geometries_from_geojson(value, process=PROCESS, parameter="spatial_extent")
    bounds = np.array([geometry.bounds for geometry in shapes])
    return (
        float(bounds[:, 0].min()),
        float(bounds[:, 1].min()),
        float(bounds[:, 2].max()),
        float(bounds[:, 3].max()),
    )


def temporal_interval(temporal_extent: Any) -> tuple[str, str]:
    """The half-open interval as RFC 3339 instants ("" for an open end)."""
    if temporal_extent is None:
        return "", ""
    if not isinstance(temporal_extent, list | tuple) or len(temporal_extent) != 2:
        raise ProcessParameterInvalid(
            process=PROCESS, parameter="temporal_extent", reason="expected [start, end]."
        )
    if temporal_extent[0] is None and temporal_extent[1] is None:
        # One open end is allowed, "but never both" (pass null for no temporal limit).
        raise ProcessParameterInvalid(
            process=PROCESS,
            parameter="temporal_extent",
            reason="the start and the end cannot both be null; give null instead of "
            "[null, null] for no temporal limit.",
        )
    instants = []
    for value in temporal_extent:
        if value is None:
            instants.append("")
            continue
        try:
            instant = parse_datetime(str(value))
        except ValueError:
            raise ProcessParameterInvalid(
                process=PROCESS,
                parameter="temporal_extent",
                reason=f"'{value}' is not a date or an RFC 3339 date-time.",
            ) from None
        instants.append(str(np.datetime_as_string(instant, unit="ms")) + "Z")
    if instants[0] and instants[1] and instants[0] >= instants[1]:
        raise ProcessParameterInvalid(
            process=PROCESS,
            parameter="temporal_extent",
            reason="the start must be earlier than the end (the end is excluded).",
        )
    return instants[0], instants[1]


def property_filters(properties: Any) -> Mapping[str, Callable[..., Any]]:
    """The `properties` argument as conditions by property name (none for null): an object
    whose values are child processes."""
    if properties is None:
        return {}
    if not isinstance(properties, Mapping) or not all(map(callable, properties.values())):
        raise ProcessParameterInvalid(
            process=PROCESS,
            parameter="properties",
            reason="expected an object of child processes (one per property) or null.",
        )
    return properties


# The comparisons the catalog applies itself (its `property_filter_json` operators), each
# with the operator that means the same when the literal comes first (`gt(20, value)`).
CATALOG_COMPARISONS = {"eq": "eq", "neq": "neq", "lt": "gt", "lte": "gte", "gt": "lt", "gte": "lte"}
VALUE = {"from_parameter": "value"}


def catalog_property_filter(
    properties: Mapping[str, Callable[..., Any]],
) -> dict[str, dict[str, float]]:
    """The property conditions the catalog can apply in its search, in the form of its
    `property_filter_json` (`{"eo:cloud_cover": {"lte": 20}}`): a child process that is one
    `eq`, `neq`, `lt`, `lte`, `gt`, `gte` or `between` of the property and numbers.

    The catalog's matches are a superset of the items these conditions accept (`neq` also
    matches items without the property), so `matches_properties` still decides on every
    item; conditions of any other form are left to it alone."""
    pushed = {}
    for name, condition in properties.items():
        comparison = _catalog_comparison(condition)
        if comparison and "." not in name and not name.startswith("$"):
            pushed[name] = comparison
    return pushed


def _catalog_comparison(condition: Callable[..., Any]) -> dict[str, float] | None:
    """`{"lte": 20}` for a child process `lte(value, 20)`; None for any other condition,
    including those whose arguments the process would reject (the local call then raises
    on the first item, as it did before the catalog filtered)."""
    if not isinstance(condition, Callback) or condition.single_process() is None:
        return None
    node = next(iter(condition.graph.values()))
    if node.get("namespace") not in (None, "backend") or node.get("result") is not True:
        return None
    process_id, arguments = node.get("process_id"), node.get("arguments", {})
    if process_id == "between":
        return _catalog_between(arguments)
    if process_id not in CATALOG_COMPARISONS or not isinstance(arguments, Mapping):
        return None
    x, y = arguments.get("x"), arguments.get("y")
    options = set(arguments) - {"x", "y"}
    if process_id in ("eq", "neq"):
        if options - {"delta", "case_sensitive"} or arguments.get("delta") is not None:
            return None
        if not isinstance(arguments.get("case_sensitive", True), bool):
            return None
    elif options:
        return None
    if x == VALUE and _is_literal_number(y):
        return {process_id: y}
    if y == VALUE and _is_literal_number(x):
        return {CATALOG_COMPARISONS[process_id]: x}
    return None


def _catalog_between(arguments: Any) -> dict[str, float] | None:
    if not isinstance(arguments, Mapping) or set(arguments) - {"x", "min", "max", "exclude_max"}:
        return None
    low, high = arguments.get("min"), arguments.get("max")
    exclude_max = arguments.get("exclude_max", False)
    if arguments.get("x") != VALUE or not isinstance(exclude_max, bool):
        return None
    if not (_is_literal_number(low) and _is_literal_number(high)):
        return None
    return {"gte": low, "lt" if exclude_max else "lte": high}


def _is_literal_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def matches_properties(
    item: Mapping[str, Any], properties: Mapping[str, Callable[..., Any]]
) -> bool:
    """Whether every property condition (a child process called with `value`) holds."""
    values = item.get("properties", {})
    return all(bool(condition(value=values.get(name))) for name, condition in properties.items())


def _sources_by_date(
    items: list[dict[str, Any]], bands: list[str], info: Mapping[str, Mapping[str, Any]]
) -> tuple[np.ndarray, list[list[list[Source]]]]:
    """Sorted date labels and, per date and band, the assets to mosaic."""
    by_date: dict[np.datetime64, list[dict[str, Any]]] = {}
    for item in items:
        by_date.setdefault(parse_datetime(item["properties"]["datetime"]), []).append(item)
    dates = sorted(by_date)
    sources = [
        [
            [
                source
                for item in by_date[date]
                if (source := _source(item, band, info[band])) is not None
            ]
            for band in bands
        ]
        for date in dates
    ]
    return np.array(dates, dtype="datetime64[ns]"), sources


def _source(item: Mapping[str, Any], band: str, info: Mapping[str, Any]) -> Source | None:
    asset = item.get("assets", {}).get(band)
    if asset is None:
        return None
    properties = item.get("properties", {})
    epsg = asset.get("proj:epsg", properties.get("proj:epsg"))
    transform = asset.get("proj:transform", properties.get("proj:transform"))
    raster = (asset.get("raster:bands") or [{}])[0]
    nodata = raster.get("nodata", info.get("nodata"))
    return Source(
        href=gdal_path(asset["href"]),
        crs=f"EPSG:{epsg}" if epsg else "",
        transform=Affine(*transform[:6]) if transform else Affine.identity(),
        nodata=float("nan") if nodata == "nan" else nodata,
    )


def gdal_path(href: str) -> str:
    """`s3://bucket/key` -> `/vsis3/bucket/key`; URLs through `/vsicurl/`; paths as they are."""
    if href.startswith("s3://"):
        return "/vsis3/" + href.removeprefix("s3://")
    if href.startswith(("http://", "https://")):
        return "/vsicurl/" + href
    return href


def _float_type(info: Mapping[str, Mapping[str, Any]], bands: list[str]) -> str:
    exact = all(str(info[band]["data_type"]) in FLOAT32_EXACT for band in bands)
    return "float32" if exact else "float64"


def _source_size(info: Mapping[str, Any]) -> int:
    """Bytes of one pixel of a band in its source data type (8 for a type numpy lacks)."""
    try:
        return np.dtype(str(info["data_type"])).itemsize
    except TypeError:
        return 8


def _lazy_planes(grid: Grid, sources: list[list[list[Source]]], dtype: np.dtype) -> Any:
    """A dask array (t, bands, y, x) whose chunks read their windows when computed."""
    shape = (len(sources), len(sources[0]), grid.height, grid.width)
    chunks = (1, 1, min(CHUNK, grid.height), min(CHUNK, grid.width))

    def read_block(block: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        (t, _), (b, _), (row0, row1), (col0, col1) = block_info[None]["array-location"]
        plane = read_window(grid, sources[t][b], row0, row1, col0, col1, dtype)
        return plane[np.newaxis, np.newaxis]

    template = dask.array.empty(shape, dtype=dtype, chunks=chunks)
    return dask.array.map_blocks(read_block, template, dtype=dtype, meta=np.empty((0,) * 4, dtype))


def read_window(
    grid: Grid,
    sources: list[Source],
    row0: int,
    row1: int,
    col0: int,
    col1: int,
    dtype: np.dtype,
) -> np.ndarray:
    """The grid's window [row0:row1, col0:col1] from `sources`, mosaicked, no-data as NaN."""
    shape = (row1 - row0, col1 - col0)
    out: np.ndarray | None = None
    for source in sources:
        try:
            with open_source(source.href, source.gdal_options) as dataset:
                values = _read_source(dataset, source, grid, row0, col0, shape)
        except RasterioError as error:
            if not source.named_by:
                raise
            href = source.href.removeprefix("/vsicurl/")
            raise ProcessParameterInvalid(
                process=source.named_by,
                parameter="url",
                reason=f"cannot read the asset {href}: {error}",
            ) from None
        if values is None:
            continue
        if out is None:
            # The first source fills the window as it is: no mosaic pass for one file.
            out = values.astype(dtype, copy=False)
            if len(sources) == 1:
                break
        else:
            np.copyto(out, values, where=np.isnan(out) & ~np.isnan(values))
        if not np.isnan(out).any():
            break
    return out if out is not None else np.full(shape, np.nan, dtype=dtype)


@contextmanager
def open_source(href: str, gdal_options: tuple[tuple[str, str], ...] = ()) -> Iterator[Any]:
    """The dataset at `href`, opened with `gdal_options` set (for this thread only)."""
    with rasterio.Env(**dict(gdal_options)) if gdal_options else nullcontext():
        with rasterio.open(href) as dataset:
            yield dataset


def _read_source(
    dataset: Any, source: Source, grid: Grid, row0: int, col0: int, shape: tuple[int, int]
) -> np.ndarray | None:
    """The source's values on the window as floats with NaN, or None when it does not cover it."""
    nodata = source.nodata if source.nodata is not None else dataset.nodata
    offset = _aligned_offset(dataset, grid, row0, col0)
    if offset is None:
        return _read_warped(dataset, source.band, grid, row0, col0, shape, nodata)
    row_off, col_off = offset
    # Intersect the window with the file's extent and read only that part.
    top, left = max(row_off, 0), max(col_off, 0)
    bottom = min(row_off + shape[0], dataset.height)
    right = min(col_off + shape[1], dataset.width)
    if top >= bottom or left >= right:
        return None
    raw = dataset.read(source.band, window=Window(left, top, right - left, bottom - top))
    dtype = np.float64 if raw.dtype.itemsize > 2 else np.float32
    if raw.shape == shape:
        values = raw.astype(dtype)
        part = values
    else:
        values = np.full(shape, np.nan, dtype=dtype)
        part = values[top - row_off : bottom - row_off, left - col_off : right - col_off]
        part[...] = raw
    if nodata is not None and not math.isnan(nodata):
        part[raw == nodata] = np.nan
    return values


def _aligned_offset(dataset: Any, grid: Grid, row0: int, col0: int) -> tuple[int, int] | None:
    """(row, col) of the window's origin in the file when the file lies on the cube's grid."""
    transform = dataset.transform
    if dataset.crs is None or dataset.crs != CRS.from_user_input(grid.crs):
        return None
    if transform.b != 0 or transform.d != 0:
        return None
    if not (
        math.isclose(transform.a, grid.resolution) and math.isclose(-transform.e, grid.resolution)
    ):
        return None
    col = (grid.west + col0 * grid.resolution - transform.c) / grid.resolution
    row = (transform.f - (grid.north - row0 * grid.resolution)) / grid.resolution
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None
    return round(row), round(col)


def _read_warped(
    dataset: Any,
    band: int,
    grid: Grid,
    row0: int,
    col0: int,
    shape: tuple[int, int],
    nodata: float | None,
) -> np.ndarray:
    """The window reprojected/resampled from a file on another grid (nearest neighbour)."""
    options: dict[str, Any] = {
        "crs": grid.crs,
        "transform": grid.transform(row0, col0),
        "width": shape[1],
        "height": shape[0],
        "resampling": Resampling.nearest,
        "dtype": "float64",
        "nodata": np.nan,
    }
    if nodata is not None:
        options["src_nodata"] = nodata
    with WarpedVRT(dataset, **options) as warped:
        values: np.ndarray = warped.read(band)
    return values
