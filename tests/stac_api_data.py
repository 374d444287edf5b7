"""A small Sentinel-2 L2A archive for the test STAC API (`tests.stac_api_server`).

`make_sentinel2_archive(folder)` writes real COGs and, for each API the server offers,
the collection document and its items (JSON) into `folder`:

- `files/<tile>/<date>/<band>.tif`: one COG per tile, date and band: `red` and `nir`
  (uint16, 10 m, `size` x `size` pixels), `scl` (uint8, 20 m, half the pixels each way);
  DEFLATE, tiled, with overviews;
- `collections/<api>/<collection>.json`: `{"collection": {...}, "items": [...]}`, or for
  the generated collection `many` `{"collection": {...}, "copies": {"of": id, "count": n}}`
  (see `copies`); asset hrefs without a scheme are relative to the server's base URL.

Two tiles side by side across 12°E at 46.5°N: `32` in EPSG:32632 (its east edge at 12°E)
and `33` in EPSG:32633 (its west edge at 12°E), both snapped to 60 m; each UTM grid is
tilted against the meridian, so their WGS84 boxes overlap by a few metres. Every tile has an
item per date; the dates before 2022-01-25 have processing baseline 03.01, the later
ones 04.00.

Pixel values, constant over an item's asset so tests can compute what a cube holds:

- reflectance (`reflectance(band, tile_index, date_index)`): red 0.05, nir 0.30, plus
  0.01 per date index and 0.02 for the second tile;
- digital numbers (`digital_number`): reflectance * 10000, plus 1000 for baseline 04.00;
  the assets' `raster:bands` say `scale` 0.0001 and `offset` 0 (03.01) or -0.1 (04.00),
  so `DN * scale + offset` is the reflectance for both baselines;
- `scl`: 9 (cloud, high probability) in the top `round(rows * eo:cloud_cover / 100)`
  rows, 4 (vegetation) below; `eo:cloud_cover` from `cloud_cover(tile_index, date_index)`;
- `noise_seed` (for benchmarks) adds a seeded uniform 0..199 to the reflectance DNs, so
  the files compress like real ones; the values are then no longer constant.

The APIs: `earth-search` (Earth Search v1 item layout: asset keys `red`, `nir`, `scl`,
`proj:epsg` in the properties, `proj:shape`/`proj:transform` and `raster:bands` on each
asset), `pc` (Planetary Computer layout: keys `B04`, `B08`, `SCL`, hrefs under
`blob/sentinel2-l2a/` that need a SAS token, `proj:code` instead of `proj:epsg` on the
EPSG:32633 items; unlike the real Planetary Computer, each asset carries `raster:bands`
with the baseline's offset) and `plain` (the Earth Search layout again).
"""

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from minio import Minio
from pyproj import Transformer
from rasterio.transform import Affine

from eoplex_common.s3 import ensure_bucket
from tests.stac_catalog import write_cog

DATES = ("2022-01-10", "2022-01-20", "2022-01-30", "2022-02-09")
BASELINE_04_FROM = "2022-01-25"
LATITUDE, MERIDIAN = 46.5, 12.0
RESOLUTION = 10.0
SNAP = 60.0
COLLECTION = "sentinel-2-l2a"
MANY = "many"
MANY_COUNT = 10_000
PC_CONTAINER = "sentinel2-l2a"
COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
SCL_CLOUD, SCL_VEGETATION = 9, 4
SCALE = 0.0001


@dataclass(frozen=True)
class Band:
    """One Sentinel-2 L2A asset as both archives name and describe it."""

    key: str
    pc_key: str
    title: str
    common_name: str | None
    center_wavelength: float | None
    full_width_half_max: float | None
    resolution: float
    data_type: str
    reflectance: float | None  # the first date's value on the first tile; None: not reflectance


BANDS = {
    "red": Band("red", "B04", "Red (band 4) - 10m", "red", 0.665, 0.038, 10.0, "uint16", 0.05),
    "nir": Band("nir", "B08", "NIR 1 (band 8) - 10m", "nir", 0.842, 0.145, 10.0, "uint16", 0.30),
    "scl": Band(
        "scl", "SCL", "Scene classification map (SCL)", None, None, None, 20.0, "uint8", None
    ),
}


@dataclass(frozen=True)
class Tile:
    """A tile of the archive: its UTM zone, grid and MGRS name."""

    name: str
    epsg: int
    mgrs: str
    west: float
    north: float


@dataclass(frozen=True)
class ArchiveItem:
    """What an item of the archive holds (both APIs describe the same files)."""

    tile: Tile
    tile_index: int
    date: str
    date_index: int
    datetime: str
    baseline: str
    cloud_cover: float
    paths: dict[str, str]  # band key -> path of its COG under `files/`


@dataclass(frozen=True)
class Sentinel2Archive:
    """Where `make_sentinel2_archive` wrote the archive and what it holds."""

    folder: Path
    size: int
    tiles: tuple[Tile, ...]
    dates: tuple[str, ...]
    bands: tuple[str, ...]
    items: list[ArchiveItem] = field(default_factory=list)

    def item(self, tile: str, date: str) -> ArchiveItem:
        """The item of `tile` ("32" or "33") on `date`."""
        return next(i for i in self.items if i.tile.name == tile and i.date == date)


def baseline(date: str) -> str:
    """The processing baseline of the items of `date` (YYYY-MM-DD)."""
    return "04.00" if date >= BASELINE_04_FROM else "03.01"


def offset(processing_baseline: str) -> float:
    """The `raster:bands` offset of the reflectance assets of a processing baseline."""
    return -0.1 if processing_baseline >= "04.00" else 0.0


def reflectance(band: str, tile_index: int, date_index: int) -> float:
    """The reflectance every pixel of the band's asset holds (see the module)."""
    first = BANDS[band].reflectance
    assert first is not None, f"{band} is no reflectance band"
    return round(first + 0.01 * date_index + 0.02 * tile_index, 4)


def digital_number(band: str, tile_index: int, date_index: int, date: str) -> int:
    """The value in the file: reflectance * 10000, plus 1000 from baseline 04.00 on."""
    shift = 1000 if baseline(date) >= "04.00" else 0
    return round(reflectance(band, tile_index, date_index) * 10000) + shift


def cloud_cover(tile_index: int, date_index: int) -> float:
    """The item's `eo:cloud_cover`: distinct, spread over 0..90 (first tile 5, 40, 12, 70,
    ...; second tile 30, 8, 60, 3, ...)."""
    first = (5.0, 40.0, 12.0, 70.0)
    second = (30.0, 8.0, 60.0, 3.0)
    table = first if tile_index == 0 else second
    if date_index < len(table):
        return table[date_index]
    return float((17 * date_index + 29 * tile_index) % 91)


def tiles(size: int) -> tuple[Tile, Tile]:
    """The two tiles of `size` 10 m pixels, meeting at 12°E."""
    west_zone = Transformer.from_crs(4326, 32632, always_xy=True)
    east_zone = Transformer.from_crs(4326, 32633, always_xy=True)
    x32, y = west_zone.transform(MERIDIAN, LATITUDE)
    x33, _ = east_zone.transform(MERIDIAN, LATITUDE)
    east32 = math.floor(x32 / SNAP) * SNAP
    north = math.floor(y / SNAP) * SNAP + SNAP * math.ceil(size * RESOLUTION / 2 / SNAP)
    return (
        Tile("32", 32632, "32TQR", east32 - size * RESOLUTION, north),
        Tile("33", 32633, "33TUL", math.ceil(x33 / SNAP) * SNAP, north),
    )


def make_sentinel2_archive(
    folder: Path,
    *,
    size: int = 128,
    dates: Sequence[str] = DATES,
    bands: Sequence[str] = ("red", "nir", "scl"),
    tile_names: Sequence[str] = ("32", "33"),
    noise_seed: int | None = None,
    many: int = MANY_COUNT,
) -> Sentinel2Archive:
    """Write the archive (see the module) into `folder`; `many` items in the collection
    `many` of each API (0: no such collection)."""
    chosen = tuple(tile for tile in tiles(size) if tile.name in tile_names)
    archive = Sentinel2Archive(folder, size, chosen, tuple(dates), tuple(bands))
    rng = np.random.default_rng(noise_seed) if noise_seed is not None else None
    for date_index, date in enumerate(dates):
        for tile in chosen:
            tile_index = 0 if tile.name == "32" else 1
            paths = {}
            for band in bands:
                path = f"files/{tile.name}/{date}/{band}.tif"
                (folder / path).parent.mkdir(parents=True, exist_ok=True)
                values = _pixels(band, tile_index, date_index, date, size, rng)
                scale = BANDS[band].resolution / RESOLUTION
                transform = Affine(
                    BANDS[band].resolution, 0.0, tile.west, 0.0, -BANDS[band].resolution, tile.north
                )
                blocksize = 64 if size <= 256 else 512
                write_cog(
                    folder / path,
                    values,
                    transform=transform,
                    epsg=tile.epsg,
                    blocksize=max(16, int(blocksize / scale)),
                    compress="DEFLATE",
                )
                paths[band] = path
            archive.items.append(
                ArchiveItem(
                    tile=tile,
                    tile_index=tile_index,
                    date=date,
                    date_index=date_index,
                    datetime=f"{date}T10:{20 + tile_index}:{7 * tile_index:02d}.024000Z",
                    baseline=baseline(date),
                    cloud_cover=cloud_cover(tile_index, date_index),
                    paths=paths,
                )
            )
    write_api_documents(archive, many=many)
    return archive


def _pixels(
    band: str,
    tile_index: int,
    date_index: int,
    date: str,
    size: int,
    rng: np.random.Generator | None,
) -> np.ndarray:
    if band == "scl":
        rows = size // 2
        values = np.full((rows, rows), SCL_VEGETATION, dtype=np.uint8)
        values[: round(rows * cloud_cover(tile_index, date_index) / 100)] = SCL_CLOUD
        return values
    number = digital_number(band, tile_index, date_index, date)
    values = np.full((size, size), number, dtype=np.uint16)
    if rng is not None:
        values += rng.integers(0, 200, size=(size, size), dtype=np.uint16)
    return values


def write_api_documents(archive: Sentinel2Archive, *, many: int = MANY_COUNT) -> None:
    """The collection files of the three APIs (see the module)."""
    layouts = {"earth-search": "earth-search", "pc": "pc", "plain": "earth-search"}
    for api, layout in layouts.items():
        items = [stac_item(archive, item, layout=layout) for item in archive.items]
        collection = stac_collection(archive, COLLECTION, layout=layout)
        write_collection_file(archive.folder, api, collection, items)
        if many:
            generated = stac_collection(archive, MANY, layout=layout)
            write_collection_file(archive.folder, api, generated, copies_of=(COLLECTION, many))


def write_collection_file(
    folder: Path,
    api: str,
    collection: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    copies_of: tuple[str, int] | None = None,
) -> None:
    """`collections/<api>/<id>.json` for the server (it rereads a file that changed): the
    collection with its `items`, or with `copies_of=(collection id, count)` generated
    items (see `copies`)."""
    path = folder / "collections" / api / f"{collection['id']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {"collection": collection, "items": items or []}
    if copies_of is not None:
        document = {"collection": collection, "copies": {"of": copies_of[0], "count": copies_of[1]}}
    # Whole or not at all: the server may be reading the folder.
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(document))
    partial.replace(path)


def publish_to_s3(
    archive: Sentinel2Archive,
    s3: Minio,
    bucket: str,
    *,
    api: str = "earth-search",
    collection_id: str = f"{COLLECTION}-s3",
) -> dict[str, str]:
    """Upload the archive's COGs to `bucket` (keys `sentinel-2-l2a/<tile>/<date>/<band>.tif`)
    and add the collection `collection_id` to `api`: the archive's items (Earth Search
    layout) with `s3://<bucket>/<key>` hrefs. The server serves it from its next request
    on. Returns each `files/...` path's `s3://` URL."""
    ensure_bucket(s3, bucket)
    urls = {}
    for item in archive.items:
        for path in item.paths.values():
            key = path.replace("files/", f"{COLLECTION}/", 1)
            s3.fput_object(bucket, key, str(archive.folder / path), content_type="image/tiff")
            urls[path] = f"s3://{bucket}/{key}"
    items = []
    for item in archive.items:
        document = stac_item(archive, item, layout="earth-search")
        for asset in document["assets"].values():
            asset["href"] = urls[asset["href"]]
        items.append(document | {"id": document["id"] + "-s3", "collection": collection_id})
    collection = stac_collection(archive, collection_id, layout="earth-search")
    write_collection_file(archive.folder, api, collection, items)
    return urls


def copies(items: list[dict[str, Any]], count: int, collection: str) -> list[dict[str, Any]]:
    """`count` items for a paging test, cycling through `items`' assets: item k is named
    `<collection>-<k:05d>`, its datetime is its original's plus k // len(items) days
    (whole days, same time of day), and its `eo:cloud_cover` is k % 100."""
    made = []
    for index in range(count):
        original = items[index % len(items)]
        when = datetime.fromisoformat(original["properties"]["datetime"].replace("Z", "+00:00"))
        shifted = when + timedelta(days=index // len(items))
        properties = {
            **original["properties"],
            "datetime": shifted.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "eo:cloud_cover": float(index % 100),
        }
        made.append(
            {
                **original,
                "id": f"{collection}-{index:05d}",
                "collection": collection,
                "properties": properties,
            }
        )
    return made


def stac_item(archive: Sentinel2Archive, item: ArchiveItem, *, layout: str) -> dict[str, Any]:
    """The item as Earth Search (`layout="earth-search"`) or the Planetary Computer
    (`"pc"`) publishes one (hrefs relative to the server)."""
    tile = item.tile
    day = item.date.replace("-", "")
    zone, band_letter, square = tile.mgrs[:2], tile.mgrs[2], tile.mgrs[3:]
    footprint = _footprint(tile, archive.size)
    properties: dict[str, Any] = {
        "datetime": item.datetime,
        "platform": "sentinel-2b" if layout == "earth-search" else "Sentinel-2B",
        "constellation": "sentinel-2" if layout == "earth-search" else "Sentinel 2",
        "instruments": ["msi"],
        "eo:cloud_cover": item.cloud_cover,
        "s2:processing_baseline": item.baseline,
        "s2:product_type": "S2MSI2A",
        "mgrs:utm_zone": int(zone),
        "mgrs:latitude_band": band_letter,
        "mgrs:grid_square": square,
    }
    if layout == "pc" and tile.epsg == 32633:
        properties["proj:code"] = f"EPSG:{tile.epsg}"
    else:
        properties["proj:epsg"] = tile.epsg
    if layout == "earth-search":
        item_id = f"S2B_{tile.mgrs}_{day}_0_L2A"
        properties |= {"grid:code": f"MGRS-{tile.mgrs}", "created": f"{item.date}T14:00:00Z"}
    else:
        item_id = f"S2B_MSIL2A_{day}T102019_R065_T{tile.mgrs}_{day}T140000"
        properties |= {"s2:mgrs_tile": tile.mgrs, "sat:orbit_state": "descending"}
    assets = {}
    for band in archive.bands:
        description = BANDS[band]
        key = description.key if layout == "earth-search" else description.pc_key
        href = item.paths[band]
        if layout == "pc":
            href = href.replace("files/", f"blob/{PC_CONTAINER}/", 1)
        asset = asset_description(description, layout=layout, processing_baseline=item.baseline)
        pixels = round(archive.size * RESOLUTION / description.resolution)
        asset |= {
            "href": href,
            "proj:shape": [pixels, pixels],
            "proj:transform": [
                description.resolution,
                0.0,
                tile.west,
                0.0,
                -description.resolution,
                tile.north,
            ],
        }
        assets[key] = asset
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
        ],
        "id": item_id,
        "collection": COLLECTION,
        "bbox": footprint["bbox"],
        "geometry": footprint["geometry"],
        "properties": properties,
        "assets": assets,
        "links": [],
    }


def asset_description(
    band: Band, *, layout: str, processing_baseline: str | None
) -> dict[str, Any]:
    """The asset's fields besides href and `proj:*`: in an item (`processing_baseline`
    given) or in the collection's `item_assets` (None: the offset of baseline 04.00)."""
    name = band.key if layout == "earth-search" else band.pc_key
    eo_band: dict[str, Any] = {"name": name}
    if band.common_name is not None:
        eo_band |= {
            "common_name": band.common_name,
            "center_wavelength": band.center_wavelength,
            "full_width_half_max": band.full_width_half_max,
        }
    raster_band: dict[str, Any] = {
        "nodata": 0,
        "data_type": band.data_type,
        "spatial_resolution": band.resolution,
    }
    if band.reflectance is not None:
        raster_band |= {
            "bits_per_sample": 15,
            "scale": SCALE,
            "offset": offset(processing_baseline or "04.00"),
        }
    roles = ["data", "reflectance"] if band.reflectance is not None else ["data"]
    if layout == "pc":
        roles = ["data"]
    return {
        "type": COG_TYPE,
        "title": band.title,
        "roles": roles,
        "gsd": band.resolution,
        "eo:bands": [eo_band],
        "raster:bands": [raster_band],
    }


def stac_collection(
    archive: Sentinel2Archive, collection_id: str, *, layout: str
) -> dict[str, Any]:
    """The collection document, with `item_assets` as Earth Search or the Planetary
    Computer publish them (the links are the server's)."""
    boxes = [_footprint(tile, archive.size)["bbox"] for tile in archive.tiles]
    bbox = [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]
    item_assets = {}
    for band in archive.bands:
        description = BANDS[band]
        key = description.key if layout == "earth-search" else description.pc_key
        item_assets[key] = asset_description(description, layout=layout, processing_baseline=None)
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": ["https://stac-extensions.github.io/item-assets/v1.0.0/schema.json"],
        "id": collection_id,
        "title": "Sentinel-2 Level-2A",
        "description": "Sentinel-2 L2A surface reflectance, a small test archive.",
        "license": "proprietary",
        "keywords": ["sentinel", "earth observation", "esa"],
        "providers": [
            {"name": "ESA", "roles": ["producer"], "url": "https://earth.esa.int/web/guest/home"}
        ],
        "extent": {
            "spatial": {"bbox": [bbox]},
            "temporal": {
                "interval": [[f"{archive.dates[0]}T00:00:00Z", f"{archive.dates[-1]}T23:59:59Z"]]
            },
        },
        "summaries": {
            "platform": ["sentinel-2a", "sentinel-2b"],
            "constellation": ["sentinel-2"],
            "instruments": ["msi"],
            "gsd": [10, 20, 60],
        },
        "item_assets": item_assets,
        "links": [],
    }


def _footprint(tile: Tile, size: int) -> dict[str, Any]:
    to_wgs84 = Transformer.from_crs(tile.epsg, 4326, always_xy=True)
    east, south = tile.west + size * RESOLUTION, tile.north - size * RESOLUTION
    corners = [(tile.west, south), (east, south), (east, tile.north), (tile.west, tile.north)]
    ring = [[round(v, 7) for v in to_wgs84.transform(x, y)] for x, y in corners]
    bbox = [round(v, 7) for v in to_wgs84.transform_bounds(tile.west, south, east, tile.north)]
    return {"bbox": bbox, "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}}
