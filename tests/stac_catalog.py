"""A static STAC catalog of COGs written by a test (served by `tests.stac_server`).

`write_catalog` writes `catalog.json` -> `collection.json` -> one item per date, whose
assets are Cloud-Optimized GeoTIFFs (uint16, no-data 0) with relative hrefs, and
returns the arrays it wrote.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.transform import Affine

EPSG = 32632
WEST, NORTH, RESOLUTION, SIZE = 675000.0, 5155000.0, 10.0, 64
DATES = ["2022-06-01", "2022-06-06", "2022-06-11"]
BANDS = ["B04", "B08"]
CLOUD_COVER = [5.0, 40.0, 12.0]


@dataclass(frozen=True)
class WrittenCatalog:
    """Where the catalog is and what its files hold: (date, band) -> uint16 array."""

    folder: Path
    arrays: dict[tuple[str, str], np.ndarray]

    def expected(self, date: str, band: str) -> np.ndarray:
        """The band as a cube holds it: float, no-data (0) as NaN."""
        values = self.arrays[(date, band)].astype(np.float64)
        values[values == 0] = np.nan
        return values


def write_cog(
    path: Path,
    values: np.ndarray,
    *,
    transform: Affine | None = None,
    epsg: int = EPSG,
    blocksize: int = 32,
    compress: str | None = None,
) -> None:
    """A single- or multi-band (bands first) COG of `values`' data type in `epsg`
    (default EPSG:32632), no-data 0."""
    stack = values if values.ndim == 3 else values[np.newaxis]
    profile = {
        "driver": "COG",
        "width": stack.shape[2],
        "height": stack.shape[1],
        "count": stack.shape[0],
        "dtype": stack.dtype.name,
        "crs": f"EPSG:{epsg}",
        "transform": transform or Affine(RESOLUTION, 0.0, WEST, 0.0, -RESOLUTION, NORTH),
        "nodata": 0,
        "blocksize": blocksize,
    }
    if compress is not None:
        profile |= {"compress": compress, "predictor": 2}
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(stack)


def write_catalog(folder: Path, *, projection: bool = True, seed: int = 7) -> WrittenCatalog:
    """The catalog in `folder`; without `projection` the items lack `proj:*` fields, so
    the grid must be read from the files."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays: dict[tuple[str, str], np.ndarray] = {}
    item_links = []
    for index, date in enumerate(DATES):
        item_id = f"S2_{date.replace('-', '')}"
        (folder / item_id).mkdir(exist_ok=True)
        assets = {}
        for band in BANDS:
            values = rng.integers(1, 10000, size=(SIZE, SIZE), dtype=np.uint16)
            values[index * 3 : index * 3 + 4, :7] = 0  # some no-data
            arrays[(date, band)] = values
            write_cog(folder / item_id / f"{band}.tif", values)
            assets[band] = {
                "href": f"./{band}.tif",
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "roles": ["data"],
                "eo:bands": [{"name": band}],
                "raster:bands": [{"data_type": "uint16", "nodata": 0}],
            }
        properties: dict[str, Any] = {
            "datetime": f"{date}T10:00:00Z",
            "eo:cloud_cover": CLOUD_COVER[index],
        }
        if projection:
            properties |= {
                "proj:epsg": EPSG,
                "proj:shape": [SIZE, SIZE],
                "proj:transform": [RESOLUTION, 0.0, WEST, 0.0, -RESOLUTION, NORTH],
            }
        item = {
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": item_id,
            "collection": "TEST_S2",
            "bbox": wgs84_bbox(),
            "geometry": _polygon(wgs84_bbox()),
            "properties": properties,
            "assets": assets,
            "links": [{"rel": "collection", "href": "../collection.json"}],
        }
        (folder / item_id / f"{item_id}.json").write_text(json.dumps(item))
        item_links.append({"rel": "item", "href": f"./{item_id}/{item_id}.json"})
    collection = {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": "TEST_S2",
        "description": "test",
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [wgs84_bbox()]},
            "temporal": {"interval": [[f"{DATES[0]}T00:00:00Z", f"{DATES[-1]}T23:59:59Z"]]},
        },
        "links": [{"rel": "root", "href": "./catalog.json"}, *item_links],
    }
    catalog = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": "test-catalog",
        "description": "test",
        "links": [{"rel": "child", "href": "./collection.json"}],
    }
    (folder / "collection.json").write_text(json.dumps(collection))
    (folder / "catalog.json").write_text(json.dumps(catalog))
    return WrittenCatalog(folder, arrays)


def wgs84_bbox() -> list[float]:
    from pyproj import Transformer

    to_wgs84 = Transformer.from_crs(f"EPSG:{EPSG}", "EPSG:4326", always_xy=True)
    east, south = WEST + SIZE * RESOLUTION, NORTH - SIZE * RESOLUTION
    return [round(v, 7) for v in to_wgs84.transform_bounds(WEST, south, east, NORTH)]


def _polygon(bbox: list[float]) -> dict[str, Any]:
    west, south, east, north = bbox
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}
