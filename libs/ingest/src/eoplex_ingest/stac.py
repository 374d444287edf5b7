"""Pure builders of the STAC 1.0.0 documents the catalog stores (no links: the gateway adds them).

Conventions shared with the data-discovery service: an item's asset key is its band name,
each asset carries `eo:bands`/`raster:bands` for that band and, when the bands of an
item lie on different grids (e.g. SCL at 20 m), its own `proj:shape`/`proj:transform`.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyproj import Transformer
from shapely import set_precision
from shapely.geometry import Polygon, box
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

STAC_VERSION = "1.0.0"
COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
GEOTIFF_MEDIA_TYPE = "image/tiff; application=geotiff"
EXTENSIONS = {
    "eo": "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "raster": "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "projection": "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "datacube": "https://stac-extensions.github.io/datacube/v2.2.0/schema.json",
}
# Sentinel-2 MSI bands: common name and centre wavelength in micrometres.
SENTINEL2_BANDS: dict[str, tuple[str, float]] = {
    "B01": ("coastal", 0.443),
    "B02": ("blue", 0.49),
    "B03": ("green", 0.56),
    "B04": ("red", 0.665),
    "B05": ("rededge", 0.704),
    "B06": ("rededge", 0.74),
    "B07": ("rededge", 0.783),
    "B08": ("nir", 0.842),
    "B8A": ("nir08", 0.865),
    "B09": ("nir09", 0.945),
    "B11": ("swir16", 1.61),
    "B12": ("swir22", 2.19),
}
# Points per footprint edge: a projected square is curved in WGS84.
FOOTPRINT_EDGE_POINTS = 11

Transform = tuple[float, float, float, float, float, float]
Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class Band:
    """A band of a collection: name and the values of `eo:bands` and `raster:bands`."""

    name: str
    data_type: str
    nodata: float | None = None
    scale: float = 1.0
    offset: float = 0.0
    resolution: float | None = None

    def eo_band(self) -> dict[str, Any]:
        """The `eo:bands` entry; common name and wavelength for the Sentinel-2 band names."""
        entry: dict[str, Any] = {"name": self.name}
        if self.name in SENTINEL2_BANDS:
            common_name, wavelength = SENTINEL2_BANDS[self.name]
            entry |= {"common_name": common_name, "center_wavelength": wavelength}
        return entry

    def raster_band(self) -> dict[str, Any]:
        """The `raster:bands` entry."""
        entry: dict[str, Any] = {"data_type": self.data_type, "scale": self.scale}
        entry["offset"] = self.offset
        if self.nodata is not None:
            entry["nodata"] = _json_number(self.nodata)
        if self.resolution is not None:
            entry["spatial_resolution"] = self.resolution
        return entry


@dataclass(frozen=True)
class Asset:
    """One band of one item: where the file is and on which grid its pixels lie."""

    band: Band
    href: str
    epsg: int
    transform: Transform
    shape: tuple[int, int]
    media_type: str = COG_MEDIA_TYPE

    @property
    def native_bounds(self) -> Bounds:
        """minx, miny, maxx, maxy in the asset's CRS."""
        return grid_bounds(self.transform, self.shape)


def grid_bounds(transform: Transform, shape: tuple[int, int]) -> Bounds:
    """minx, miny, maxx, maxy of a grid of `shape` (rows, cols) placed by an affine `transform`."""
    a, b, c, d, e, f = transform
    rows, cols = shape
    xs = (c, c + a * cols, c + b * rows, c + a * cols + b * rows)
    ys = (f, f + d * cols, f + e * rows, f + d * cols + e * rows)
    return min(xs), min(ys), max(xs), max(ys)


def _json_number(value: float) -> float | int | str:
    # JSON has no NaN: the raster extension spells it "nan".
    if value != value:
        return "nan"
    return int(value) if float(value).is_integer() else value


def rfc3339(instant: datetime) -> str:
    """`2022-05-01T00:00:00Z` (UTC, second precision)."""
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def wgs84_footprint(bounds: Bounds, epsg: int) -> Polygon:
    """The outline of `bounds` (in EPSG:`epsg`) in WGS84 longitude/latitude, densified."""
    minx, miny, maxx, maxy = bounds
    outline = box(minx, miny, maxx, maxy).exterior
    points = [
        outline.interpolate(step / (4 * FOOTPRINT_EDGE_POINTS), normalized=True)
        for step in range(4 * FOOTPRINT_EDGE_POINTS)
    ]
    transformer = Transformer.from_crs(epsg, 4326, always_xy=True)
    lons, lats = transformer.transform([p.x for p in points], [p.y for p in points])
    return Polygon(zip(lons, lats, strict=True))


def _rounded(values: Iterable[float], digits: int = 7) -> list[float]:
    return [round(value, digits) for value in values]


def build_item(
    *,
    collection_id: str,
    item_id: str,
    instant: datetime,
    assets: Sequence[Asset],
    properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A STAC Item: WGS84 bbox and footprint, datetime, projection info and one asset per band.

    The item's `proj:*` properties describe its first asset's grid; assets on another
    grid carry their own `proj:shape`/`proj:transform` (and `proj:epsg` if it differs).
    """
    main = assets[0]
    footprint = unary_union([wgs84_footprint(a.native_bounds, a.epsg) for a in assets])
    if not isinstance(footprint, Polygon):
        footprint = footprint.convex_hull
    # GeoJSON wants counter-clockwise outer rings (RFC 7946, 3.1.6); ~1 cm is precise enough.
    footprint = orient(set_precision(footprint, 1e-7), sign=1.0)
    item_properties: dict[str, Any] = {
        "datetime": rfc3339(instant),
        "proj:epsg": main.epsg,
        "proj:code": f"EPSG:{main.epsg}",
        "proj:transform": list(main.transform),
        "proj:shape": list(main.shape),
        **(properties or {}),
    }
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": list(EXTENSIONS.values())[:3],
        "id": item_id,
        "collection": collection_id,
        "bbox": _rounded(footprint.bounds),
        "geometry": {
            "type": "Polygon",
            "coordinates": [[list(point) for point in footprint.exterior.coords]],
        },
        "properties": item_properties,
        "assets": {asset.band.name: _item_asset(asset, main) for asset in assets},
        "links": [],
    }


def _item_asset(asset: Asset, main: Asset) -> dict[str, Any]:
    document: dict[str, Any] = {
        "href": asset.href,
        "type": asset.media_type,
        "title": asset.band.name,
        "roles": ["data"],
        "eo:bands": [asset.band.eo_band()],
        "raster:bands": [asset.band.raster_band()],
    }
    if asset.epsg != main.epsg:
        document |= {"proj:epsg": asset.epsg, "proj:code": f"EPSG:{asset.epsg}"}
    if (asset.epsg, asset.transform, asset.shape) != (main.epsg, main.transform, main.shape):
        document |= {"proj:shape": list(asset.shape), "proj:transform": list(asset.transform)}
    return document


@dataclass(frozen=True)
class CollectionMetadata:
    """What an operator says about a collection (title, description, license, ...)."""

    collection_id: str
    title: str
    description: str
    license: str = "proprietary"
    keywords: tuple[str, ...] = ()
    providers: tuple[dict[str, Any], ...] = ()
    platform: str | None = None
    constellation: str | None = None


def build_collection(
    *,
    metadata: CollectionMetadata,
    bands: Sequence[Band],
    epsg: int,
    native_bounds: Bounds,
    step: float,
    wgs84_bbox: Bounds,
    interval: tuple[datetime, datetime],
    extra_summaries: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A STAC Collection with the datacube, eo and raster information openEO clients read.

    `native_bounds` and `step` describe the x/y dimensions in EPSG:`epsg`;
    `wgs84_bbox` is the spatial extent; `interval` the first and last item datetime.
    """
    minx, miny, maxx, maxy = native_bounds
    start, end = rfc3339(interval[0]), rfc3339(interval[1])
    summaries: dict[str, Any] = {
        "eo:bands": [band.eo_band() for band in bands],
        "raster:bands": [band.raster_band() for band in bands],
        "proj:epsg": [epsg],
        **(extra_summaries or {}),
    }
    if metadata.platform:
        summaries["platform"] = [metadata.platform]
    if metadata.constellation:
        summaries["constellation"] = [metadata.constellation]
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": list(EXTENSIONS.values()),
        "id": metadata.collection_id,
        "title": metadata.title,
        "description": metadata.description,
        "license": metadata.license,
        "keywords": list(metadata.keywords),
        "providers": list(metadata.providers),
        "extent": {
            "spatial": {"bbox": [_rounded(wgs84_bbox)]},
            "temporal": {"interval": [[start, end]]},
        },
        "cube:dimensions": {
            "x": {
                "type": "spatial",
                "axis": "x",
                "extent": [minx, maxx],
                "step": step,
                "reference_system": epsg,
            },
            "y": {
                "type": "spatial",
                "axis": "y",
                "extent": [miny, maxy],
                "step": step,
                "reference_system": epsg,
            },
            "t": {"type": "temporal", "extent": [start, end]},
            "bands": {"type": "bands", "values": [band.name for band in bands]},
        },
        "summaries": summaries,
        "links": [],
    }
