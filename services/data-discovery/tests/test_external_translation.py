"""Translation of upstream STAC documents into the catalog's collections and items."""

from typing import Any

import pytest

from eoplex_common.errors import BadRequest
from eoplex_data_discovery.external import (
    StacApiSource,
    check_source,
    collection_bands,
    translate_collection,
    translate_item,
)
from tests.stac_validation import validate_stac_collection

REFLECTANCE = {"data_type": "uint16", "nodata": 0, "scale": 0.0001, "offset": -0.1}


def reflectance(name: str, common_name: str, wavelength: float) -> dict[str, Any]:
    return {
        "type": "image/tiff; application=geotiff; profile=cloud-optimized",
        "roles": ["data", "reflectance"],
        "eo:bands": [{"name": name, "common_name": common_name, "center_wavelength": wavelength}],
        "raster:bands": [{**REFLECTANCE, "spatial_resolution": 10}],
    }


def upstream_collection(**extra: Any) -> dict[str, Any]:
    """An Earth Search-like `sentinel-2-l2a` collection."""
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": "sentinel-2-l2a",
        "title": "Sentinel-2 Level-2A",
        "description": "Global Sentinel-2 data.",
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [["2015-06-27T10:25:31Z", None]]},
        },
        "stac_extensions": ["https://stac-extensions.github.io/item-assets/v1.0.0/schema.json"],
        "summaries": {"platform": ["sentinel-2a", "sentinel-2b"]},
        "item_assets": {
            "red": reflectance("B04", "red", 0.665),
            "nir": reflectance("B08", "nir", 0.842),
            "scl": {"roles": ["data"], "raster:bands": [{"data_type": "uint8", "nodata": 0}]},
            "visual": {
                "roles": ["visual"],
                "raster:bands": [{"data_type": "uint8"}] * 3,
            },
            "thumbnail": {"roles": ["thumbnail"]},
        },
        "links": [{"rel": "self", "href": "https://upstream.example/v1/collections/s2"}],
        **extra,
    }


SOURCE = StacApiSource(url="https://upstream.example/v1", upstream_collection="sentinel-2-l2a")


def test_a_collection_gets_bands_summaries_and_dimensions_from_item_assets() -> None:
    source = StacApiSource(
        **{**SOURCE.__dict__, "overrides": {"title": "S2", "bands": {"red": "B04"}}}
    )
    document = translate_collection(upstream_collection(), collection_id="S2", source=source)
    assert document["id"] == "S2" and document["title"] == "S2"
    assert document["description"] == "Global Sentinel-2 data."
    assert document["cube:dimensions"]["bands"]["values"] == ["B04", "nir", "scl"]
    assert document["summaries"]["eo:bands"] == [
        {"name": "B04", "common_name": "red", "center_wavelength": 0.665},
        {"name": "nir", "common_name": "nir", "center_wavelength": 0.842},
        {"name": "scl"},
    ]
    assert document["summaries"]["raster:bands"] == [
        REFLECTANCE,
        REFLECTANCE,
        {"data_type": "uint8", "nodata": 0},
    ]
    assert document["summaries"]["platform"] == ["sentinel-2a", "sentinel-2b"]
    assert document["cube:dimensions"]["x"] == {
        "type": "spatial",
        "axis": "x",
        "extent": [-180.0, 180.0],
        "reference_system": 4326,
    }
    assert document["cube:dimensions"]["t"]["extent"] == ["2015-06-27T10:25:31Z", None]
    assert document["links"] == [
        {
            "rel": "via",
            "href": "https://upstream.example/v1/collections/sentinel-2-l2a",
            "type": "application/json",
        }
    ]
    assert "item_assets" not in document
    assert document["stac_extensions"] == [
        "https://stac-extensions.github.io/datacube/v2.2.0/schema.json",
        "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
        "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    ]
    validate_stac_collection(document)


def test_a_declared_grid_and_eo_bands_only_upstreams() -> None:
    grid = {"reference_system": 32632, "step": 10}
    dimensions = {
        "x": {**grid, "extent": [600000, 700000]},
        "y": {**grid, "extent": [5000000, 5100000]},
    }
    source = StacApiSource(**{**SOURCE.__dict__, "overrides": {"cube:dimensions": dimensions}})
    pc_like = upstream_collection(
        item_assets={
            "B04": {"roles": ["data"], "eo:bands": [{"name": "B04", "common_name": "red"}]},
            "SCL": {"roles": ["data"]},
        }
    )
    document = translate_collection(pc_like, collection_id="PC", source=source)
    assert document["cube:dimensions"]["bands"]["values"] == ["B04"]
    assert document["cube:dimensions"]["x"]["step"] == 10
    assert document["cube:dimensions"]["y"]["reference_system"] == 32632
    assert document["summaries"]["raster:bands"] == [{}]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"colour": "red"}, "unknown overrides"),
        ({"bands": {"blue": "B02"}}, "not band assets"),
        ({"bands": {"red": "nir"}}, "more than one asset"),
        ({"cube:dimensions": {"x": {"reference_system": 32632, "step": 10}}}, "both x and y"),
        (
            {"cube:dimensions": {a: {"reference_system": 0, "step": 10} for a in "xy"}},
            "EPSG code",
        ),
        ({"mosaic": "random"}, "overrides.mosaic"),
    ],
)
def test_bad_overrides_are_refused_with_a_reason(overrides: dict[str, Any], reason: str) -> None:
    source = StacApiSource(**{**SOURCE.__dict__, "overrides": overrides})
    with pytest.raises(BadRequest, match=reason):
        check_source(source, has_credentials=False)
        translate_collection(upstream_collection(), collection_id="S2", source=source)


def test_an_upstream_without_extent_is_refused() -> None:
    with pytest.raises(BadRequest, match="extent"):
        translate_collection(upstream_collection(extent={}), collection_id="S2", source=SOURCE)


@pytest.mark.parametrize(
    ("s3_access", "has_credentials", "outcome"),
    [
        ("", False, "anonymous"),
        ("", True, "credentials"),
        ("requester-pays", False, "needs credentials"),
        ("anonymous", True, "takes no credentials"),
    ],
)
def test_s3_access_and_credentials_go_together(
    s3_access: str, has_credentials: bool, outcome: str
) -> None:
    source = StacApiSource(**{**SOURCE.__dict__, "s3_access": s3_access})
    if " " in outcome:
        with pytest.raises(BadRequest, match=outcome):
            check_source(source, has_credentials=has_credentials)
    else:
        assert check_source(source, has_credentials=has_credentials).s3_access == outcome


def test_an_item_gets_band_assets_under_band_names_with_raster_and_projection() -> None:
    source = StacApiSource(**{**SOURCE.__dict__, "overrides": {"bands": {"red": "B04"}}})
    document = translate_collection(upstream_collection(), collection_id="S2", source=source)
    bands = collection_bands(document, source)
    own_raster = {"data_type": "uint16", "nodata": 0, "scale": 0.0001, "offset": 0}
    item = {
        "type": "Feature",
        "id": "S2A_32TMT_20230601_0_L2A",
        "collection": "sentinel-2-l2a",
        "properties": {"datetime": "2023-06-01T10:00:00Z", "proj:code": "EPSG:32632"},
        "assets": {
            "red": {"href": "https://bucket.example/red.tif", "raster:bands": [own_raster]},
            "nir": {"href": "https://bucket.example/nir.tif", "proj:shape": [10980, 10980]},
            "thumbnail": {"href": "https://bucket.example/thumb.jpg"},
        },
        "links": [{"rel": "self", "href": "https://upstream.example/v1/items/x"}],
    }
    translated = translate_item(item, collection_id="S2", bands=bands)
    assert translated["collection"] == "S2" and translated["links"] == []
    assert translated["properties"] == item["properties"]
    assert set(translated["assets"]) == {"B04", "nir", "thumbnail"}
    assert translated["assets"]["B04"] == {
        "href": "https://bucket.example/red.tif",
        "raster:bands": [own_raster],
        "proj:epsg": 32632,
    }
    assert translated["assets"]["nir"]["raster:bands"] == [REFLECTANCE]
    assert translated["assets"]["nir"]["proj:shape"] == [10980, 10980]
    assert translated["assets"]["thumbnail"] == {"href": "https://bucket.example/thumb.jpg"}


def test_an_upstream_url_with_credentials_is_refused_without_showing_them() -> None:
    source = StacApiSource(**{**SOURCE.__dict__, "url": "https://user:hunter2@upstream.example/"})
    with pytest.raises(BadRequest, match="must not carry credentials") as refused:
        check_source(source, has_credentials=False)
    assert "hunter2" not in str(refused.value)
