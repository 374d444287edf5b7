"""The pure STAC builders, compared with expected documents."""

from datetime import UTC, datetime

import pytest
from shapely.geometry import shape

from eoplex_ingest.stac import (
    COG_MEDIA_TYPE,
    EXTENSIONS,
    Asset,
    Band,
    CollectionMetadata,
    build_collection,
    build_item,
)
from tests.stac_validation import validate_stac_collection, validate_stac_item

B04 = Band(name="B04", data_type="uint16", nodata=0, scale=0.0001, resolution=10.0)
SCL = Band(name="SCL", data_type="uint8", nodata=0, resolution=20.0)
GRID_10M = (10.0, 0.0, 675000.0, 0.0, -10.0, 5155000.0)
GRID_20M = (20.0, 0.0, 675000.0, 0.0, -20.0, 5155000.0)


def test_bands_describe_themselves_for_eo_and_raster() -> None:
    assert B04.eo_band() == {"name": "B04", "common_name": "red", "center_wavelength": 0.665}
    assert SCL.eo_band() == {"name": "SCL"}
    assert B04.raster_band() == {
        "data_type": "uint16",
        "scale": 0.0001,
        "offset": 0.0,
        "nodata": 0,
        "spatial_resolution": 10.0,
    }
    assert Band(name="x", data_type="float32", nodata=float("nan")).raster_band() == {
        "data_type": "float32",
        "scale": 1.0,
        "offset": 0.0,
        "nodata": "nan",
    }


def test_an_item_has_a_wgs84_footprint_projection_and_one_asset_per_band() -> None:
    assets = [
        Asset(B04, "s3://b/C/i/B04.tif", 32632, GRID_10M, (1000, 1000)),
        Asset(SCL, "s3://b/C/i/SCL.tif", 32632, GRID_20M, (500, 500)),
    ]

    item = build_item(
        collection_id="C",
        item_id="C_20220501",
        instant=datetime(2022, 5, 1, tzinfo=UTC),
        assets=assets,
        properties={"eo:cloud_cover": 12.5},
    )

    footprint = shape(item["geometry"])
    assert footprint.exterior.is_ccw
    assert item["bbox"] == pytest.approx([11.278021, 46.433213, 11.412052, 46.525804], abs=1e-6)
    assert list(footprint.bounds) == pytest.approx(item["bbox"], abs=1e-7)
    assert {key: value for key, value in item.items() if key not in ("geometry", "bbox")} == {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [EXTENSIONS["eo"], EXTENSIONS["raster"], EXTENSIONS["projection"]],
        "id": "C_20220501",
        "collection": "C",
        "properties": {
            "datetime": "2022-05-01T00:00:00Z",
            "proj:epsg": 32632,
            "proj:code": "EPSG:32632",
            "proj:transform": list(GRID_10M),
            "proj:shape": [1000, 1000],
            "eo:cloud_cover": 12.5,
        },
        "assets": {
            "B04": {
                "href": "s3://b/C/i/B04.tif",
                "type": COG_MEDIA_TYPE,
                "title": "B04",
                "roles": ["data"],
                "eo:bands": [B04.eo_band()],
                "raster:bands": [B04.raster_band()],
            },
            "SCL": {
                "href": "s3://b/C/i/SCL.tif",
                "type": COG_MEDIA_TYPE,
                "title": "SCL",
                "roles": ["data"],
                "eo:bands": [SCL.eo_band()],
                "raster:bands": [SCL.raster_band()],
                "proj:shape": [500, 500],
                "proj:transform": list(GRID_20M),
            },
        },
        "links": [],
    }


def test_a_collection_carries_datacube_dimensions_bands_and_extents() -> None:
    metadata = CollectionMetadata(
        collection_id="C",
        title="T",
        description="D",
        license="CC0-1.0",
        keywords=("k",),
        providers=({"name": "p", "roles": ["host"]},),
        platform="sentinel-2a",
    )

    collection = build_collection(
        metadata=metadata,
        bands=[B04, SCL],
        epsg=32632,
        native_bounds=(675000.0, 5145000.0, 685000.0, 5155000.0),
        step=10.0,
        wgs84_bbox=(11.27802134, 46.4332, 11.4120524, 46.5258),
        interval=(datetime(2022, 5, 1, tzinfo=UTC), datetime(2022, 8, 29, tzinfo=UTC)),
    )

    assert collection == {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": list(EXTENSIONS.values()),
        "id": "C",
        "title": "T",
        "description": "D",
        "license": "CC0-1.0",
        "keywords": ["k"],
        "providers": [{"name": "p", "roles": ["host"]}],
        "extent": {
            "spatial": {"bbox": [[11.2780213, 46.4332, 11.4120524, 46.5258]]},
            "temporal": {"interval": [["2022-05-01T00:00:00Z", "2022-08-29T00:00:00Z"]]},
        },
        "cube:dimensions": {
            "x": {
                "type": "spatial",
                "axis": "x",
                "extent": [675000.0, 685000.0],
                "step": 10.0,
                "reference_system": 32632,
            },
            "y": {
                "type": "spatial",
                "axis": "y",
                "extent": [5145000.0, 5155000.0],
                "step": 10.0,
                "reference_system": 32632,
            },
            "t": {"type": "temporal", "extent": ["2022-05-01T00:00:00Z", "2022-08-29T00:00:00Z"]},
            "bands": {"type": "bands", "values": ["B04", "SCL"]},
        },
        "summaries": {
            "eo:bands": [B04.eo_band(), SCL.eo_band()],
            "raster:bands": [B04.raster_band(), SCL.raster_band()],
            "proj:epsg": [32632],
            "platform": ["sentinel-2a"],
        },
        "links": [],
    }


def test_the_built_documents_are_valid_stac() -> None:
    item = build_item(
        collection_id="C",
        item_id="C_1",
        instant=datetime(2022, 5, 1, tzinfo=UTC),
        assets=[Asset(B04, "/data/B04.tif", 32632, GRID_10M, (10, 10))],
    )
    collection = build_collection(
        metadata=CollectionMetadata(collection_id="C", title="T", description="D"),
        bands=[B04],
        epsg=32632,
        native_bounds=(675000.0, 5154900.0, 675100.0, 5155000.0),
        step=10.0,
        wgs84_bbox=tuple(item["bbox"]),
        interval=(datetime(2022, 5, 1, tzinfo=UTC), datetime(2022, 5, 1, tzinfo=UTC)),
    )

    validate_stac_collection(collection)
    # The gateway adds links; STAC wants one to the collection an item names.
    validate_stac_item({**item, "links": [{"rel": "collection", "href": "http://x/C"}]})
