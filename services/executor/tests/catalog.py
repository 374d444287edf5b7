"""A catalog of documents in memory, for load_collection tests without servers.

Built from a folder of GeoTIFFs by the real ingest code (`eoplex_ingest`), with
local paths as hrefs; searches filter like the data-discovery service does (WGS84
bbox intersection, half-open time interval, bands, property comparisons).
"""

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.transform import Affine

from eoplex_common.errors import CollectionNotFound
from eoplex_executor.engine.environment import CollectionAccess, ItemSearch
from eoplex_ingest.folder import NamingRules
from eoplex_ingest.ingest import FolderOptions, ingest_folder
from eoplex_ingest.stac import CollectionMetadata
from eoplex_ingest.storage import LocalReference
from services.executor.tests.cubes import CRS, NORTH, RESOLUTION, WEST

# Sentinel-2-like file names: S2_<yyyymmdd>_<band>.tif.
S2_RULES = NamingRules(
    datetime_pattern=r"_(?P<datetime>\d{8})_", band_pattern=r"_(?P<band>B\d\d)\.tif$"
)

COMPARISONS = {
    "eq": operator.eq,
    "neq": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


def _meets(properties: Mapping[str, Any], conditions: Mapping[str, Mapping[str, float]]) -> bool:
    """MongoDB's rules for numbers: a missing property meets only `neq`."""
    for name, condition in conditions.items():
        value = properties.get(name)
        for op, literal in condition.items():
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not (COMPARISONS[op](value, literal) if number else op == "neq"):
                return False
    return True


@dataclass
class LocalCatalog:
    """`Catalog` over collections and items held in memory; a collection is ingested
    unless `accesses` says otherwise, and `upstream_urls` are the registered STAC APIs."""

    collections: dict[str, dict[str, Any]]
    items: dict[str, list[dict[str, Any]]]
    accesses: dict[str, CollectionAccess] = field(default_factory=dict)
    upstream_urls: list[str] = field(default_factory=list)

    @classmethod
    def from_folder(cls, folder: Path, *, collection_id: str, rules: NamingRules) -> "LocalCatalog":
        metadata = CollectionMetadata(
            collection_id=collection_id, title=collection_id, description="test"
        )
        options = FolderOptions(rules=rules, reference=True, cog=False)
        documents = ingest_folder(
            folder, metadata=metadata, options=options, store=LocalReference()
        )
        return cls({collection_id: documents.collection}, {collection_id: documents.items})

    def collection(self, collection_id: str) -> dict[str, Any]:
        if collection_id not in self.collections:
            raise CollectionNotFound()
        return self.collections[collection_id]

    def access(self, collection_id: str) -> CollectionAccess:
        self.collection(collection_id)
        return self.accesses.get(collection_id, CollectionAccess())

    def upstreams(self) -> list[str]:
        return list(self.upstream_urls)

    def search_items(self, search: ItemSearch) -> list[dict[str, Any]]:
        collection_id, bbox, bbox_crs = search.collection_id, search.bbox, search.bbox_crs
        start, end, bands = search.start, search.end, search.bands
        self.collection(collection_id)
        found = []
        box = None
        if bbox:
            to_wgs84 = Transformer.from_crs(bbox_crs or "EPSG:4326", "EPSG:4326", always_xy=True)
            minx, miny, maxx, maxy = bbox
            box = to_wgs84.transform_bounds(minx, miny, maxx, maxy, densify_pts=21)
        for item in self.items[collection_id]:
            west, south, east, north = item["bbox"]
            if box and (east < box[0] or west > box[2] or north < box[1] or south > box[3]):
                continue
            instant = item["properties"]["datetime"]
            if (start and instant < start) or (end and instant >= end):
                continue
            if bands and not any(band in item["assets"] for band in bands):
                continue
            if not _meets(item["properties"], search.property_filter):
                continue
            found.append(item)
        return found


@dataclass
class CatalogInFront:
    """A catalog in front of another: collections pass through, and so do searches unless a
    subclass changes what they return."""

    catalog: Any

    def collection(self, collection_id: str) -> dict[str, Any]:
        return self.catalog.collection(collection_id)

    def search_items(self, search: ItemSearch) -> list[dict[str, Any]]:
        return self.catalog.search_items(search)

    def access(self, collection_id: str) -> CollectionAccess:
        return self.catalog.access(collection_id)

    def upstreams(self) -> list[str]:
        return list(self.catalog.upstreams())


def write_geotiff(
    path: Path,
    values: np.ndarray,
    *,
    crs: str = CRS,
    transform: Affine | None = None,
    nodata: float | None = 0,
    tags: Mapping[str, str] | None = None,
    **creation: Any,
) -> None:
    """A one-band GeoTIFF of `values`, by default on the grid of `make_cube` (EPSG:32632, 10 m,
    top left at WEST, NORTH) with no-data 0; `creation` adds creation options (tiling)."""
    profile = {
        "driver": "GTiff",
        "width": values.shape[1],
        "height": values.shape[0],
        "count": 1,
        "dtype": values.dtype.name,
        "crs": crs,
        "transform": transform or Affine(RESOLUTION, 0.0, WEST, 0.0, -RESOLUTION, NORTH),
        "nodata": nodata,
        **creation,
    }
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(values, 1)
        if tags:
            dataset.update_tags(**tags)


def write_s2(folder: Path, rasters: Mapping[tuple[str, str], np.ndarray]) -> LocalCatalog:
    """One `write_geotiff` file `S2_<date>_<band>.tif` per `(date, band)` of `rasters`; the
    catalog of the folder as the collection "S2"."""
    for (date, band), values in rasters.items():
        write_geotiff(folder / f"S2_{date}_{band}.tif", values)
    return LocalCatalog.from_folder(folder, collection_id="S2", rules=S2_RULES)
