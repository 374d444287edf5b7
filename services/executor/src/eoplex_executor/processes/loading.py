"""load_collection: the windows of a collection's assets that an extent needs, as a lazy
raster cube; and the argument handling load_stac shares (bands, extents, properties).

The cube lies on the collection's own grid (`cube:dimensions` x/y: CRS, step and
origin), cropped to the requested extent and snapped to whole pixels. The catalog is
asked for the items of the extent (with the property conditions it can apply itself),
and their assets are read by `eoplex_executor.io.cog`. A collection backed by an external
STAC API is read as `_external` says (dates by day, mosaic order, its items' grid where
it declares none, per-item scale and offset, the provider's access and URL signing).
"""

import math
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from rasterio.transform import Affine

from eoplex_common.errors import NoDataAvailable, ProcessParameterInvalid, TemporalExtentEmpty
from eoplex_executor.engine.cube import RasterCube, parse_datetime
from eoplex_executor.engine.environment import Environment, ItemSearch
from eoplex_executor.engine.graph import Callback
from eoplex_executor.engine.registry import process
from eoplex_executor.geo.geometry import geometries_from_geojson
from eoplex_executor.io.cog import PixelGrid, Source, cube_from_sources, gdal_path
from eoplex_executor.processes._external import ExternalCollection
from eoplex_executor.processes._item_grid import declared_grid

PROCESS = "load_collection"


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
    bands or malformed extents, TemporalExtentEmpty for an interval whose end is not after
    its start, NoDataAvailable when no item matches, and
    ProcessGraphComplexity or PaymentRequired when the cube exceeds the execution's pixel
    limits.
    """
    if not isinstance(id, str):
        raise ProcessParameterInvalid(
            process=PROCESS, parameter="id", reason="expected a collection id (a string)."
        )
    collection = env.catalog.collection(id)
    access = env.catalog.access(id)
    dimensions = collection.get("cube:dimensions", {})
    info = band_info(collection)
    band_names = resolve_bands(bands, info) if bands is not None else list(info)
    filters = property_filters(properties)
    external = ExternalCollection(id, access) if access.external else None
    # An external collection without a declared target grid gets the grid of its items.
    declared = dimensions if external is None else declared_grid(dimensions)
    grid = collection_grid(declared, spatial_extent) if declared is not None else None
    start, end = temporal_interval(temporal_extent)
    search = ItemSearch(
        collection_id=id,
        bbox=_search_box(grid, spatial_extent),
        bbox_crs=grid.crs if grid is not None else "EPSG:4326",
        start=start,
        end=end,
        bands=band_names,
        property_filter=catalog_property_filter(filters),
    )
    items = [item for item in env.catalog.search_items(search) if matches_properties(item, filters)]
    if external is not None:
        items = external.dated(items)
    if not items:
        raise NoDataAvailable(
            reason=f"Collection '{id}' has no item in the requested extents and properties."
        )
    if external is None:
        assert grid is not None
        dates, sources = _sources_by_date(items, band_names, info)
    else:
        if grid is None:
            grid = collection_grid(external.grid_dimensions(items, band_names), spatial_extent)
        dates, sources = external.sources_by_day(items, band_names, info)
    return cube_from_sources(grid, dates, sources, band_names, info, env=env, name=id)


def _search_box(grid: PixelGrid | None, spatial_extent: Any) -> list[float] | None:
    """The bounding box of the item search: the grid's (in its CRS), else the extent's in
    WGS84 (None: anywhere)."""
    if grid is not None:
        return [
            grid.west,
            grid.north - grid.height * grid.resolution,
            grid.west + grid.width * grid.resolution,
            grid.north,
        ]
    if spatial_extent is None:
        return None
    return list(extent_bounds(spatial_extent, "EPSG:4326"))


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


def collection_grid(dimensions: Mapping[str, Any], spatial_extent: Any) -> PixelGrid:
    """The collection grid cropped to the extent and snapped outwards to whole pixels;
    NoDataAvailable when they do not overlap."""
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
            raise NoDataAvailable(
                reason="The spatial extent does not overlap the collection's extent."
            )
    x0, y0 = x["extent"][0], y["extent"][1]
    first_col = math.floor((west - x0) / resolution + 1e-9)
    last_col = math.ceil((east - x0) / resolution - 1e-9)
    first_row = math.floor((y0 - north) / resolution + 1e-9)
    last_row = math.ceil((y0 - south) / resolution - 1e-9)
    return PixelGrid(
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
    """The half-open interval as RFC 3339 instants ("" for an open end); TemporalExtentEmpty
    when the end is not after the start."""
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
        raise TemporalExtentEmpty(
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
