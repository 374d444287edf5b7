"""The pure builders of the jobs service: the STAC results document and the estimate."""

from datetime import UTC, datetime
from typing import Any

import pytest

from eoplex_jobs.estimate import (
    MAX_PIXEL_COUNT,
    ExecutorFigures,
    estimate_document,
    iso8601_duration,
    paid_pixels,
)
from eoplex_jobs.results import results_document
from tests.stac_validation import StacSchemaError, validate_stac_item

CREATED = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
FINISHED = datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
EXPIRES = datetime(2024, 5, 8, 10, 5, tzinfo=UTC)


def finished_job(assets: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "_id": "j-0123456789abcdef01234567",
        "status": "finished",
        "created": CREATED,
        "updated": FINISHED,
        "finished_at": FINISHED,
        "assets": assets,
        **fields,
    }


def asset(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "key": f"jobs/j-0123456789abcdef01234567/{name}",
        "type": "image/tiff; application=geotiff",
        "roles": ["data"],
        "file:size": 1234,
        **fields,
    }


CANONICAL = "https://openeo.example/jobs/j-0123456789abcdef01234567/results/signed?signature=abc"


def sign(key: str) -> str:
    return f"https://s3.example/results/{key}?X-Amz-Signature=abc"


def href(asset: dict[str, Any]) -> str:
    return sign(asset["key"])


def test_assets_with_footprints_and_dates_make_a_located_time_series_item() -> None:
    assets = [
        asset(
            "2024-01-01.tif",
            bbox=[10.0, 40.0, 11.0, 41.0],
            datetime="2024-01-01T00:00:00Z",
            **{
                "proj:epsg": 4326,
                "proj:shape": [100, 100],
                "raster:bands": [{"data_type": "uint16"}],
            },
        ),
        asset("2024-02-01.tif", bbox=[10.5, 39.5, 12.0, 40.5], datetime="2024-02-01T00:00:00Z"),
    ]
    document = results_document(
        finished_job(assets, title="ndvi"), href=href, canonical=CANONICAL, expires=EXPIRES
    )
    validate_stac_item(document)
    assert document["bbox"] == [10.0, 39.5, 12.0, 41.0]
    assert document["geometry"]["coordinates"][0][0] == [10.0, 39.5]
    assert document["properties"] == {
        "datetime": None,
        "start_datetime": "2024-01-01T00:00:00Z",
        "end_datetime": "2024-02-01T00:00:00Z",
        "created": "2024-05-01T10:00:00Z",
        "updated": "2024-05-01T10:05:00Z",
        "expires": "2024-05-08T10:05:00Z",
        "openeo:status": "finished",
        "title": "ndvi",
    }
    assert document["assets"]["2024-01-01.tif"] == {
        "href": sign("jobs/j-0123456789abcdef01234567/2024-01-01.tif"),
        "type": "image/tiff; application=geotiff",
        "roles": ["data"],
        "file:size": 1234,
        "proj:epsg": 4326,
        "proj:shape": [100, 100],
        "raster:bands": [{"data_type": "uint16"}],
    }
    assert document["links"] == [
        {"rel": "canonical", "href": CANONICAL, "type": "application/geo+json"}
    ]
    assert sorted(document["stac_extensions"]) == [
        "https://stac-extensions.github.io/file/v2.1.0/schema.json",
        "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
        "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    ]


def test_a_file_computed_from_a_time_range_gives_the_item_that_range() -> None:
    reduced = asset(
        "result.tif",
        bbox=[10.0, 40.0, 11.0, 41.0],
        start_datetime="2024-01-01T00:00:00Z",
        end_datetime="2024-01-21T00:00:00Z",
    )
    document = results_document(
        finished_job([reduced]), href=href, canonical=CANONICAL, expires=EXPIRES
    )
    validate_stac_item(document)
    times = {name: document["properties"][name] for name in ("datetime", "start_datetime")}
    assert times == {"datetime": None, "start_datetime": "2024-01-01T00:00:00Z"}
    assert document["properties"]["end_datetime"] == "2024-01-21T00:00:00Z"
    assert "start_datetime" not in document["assets"]["result.tif"]


def test_data_of_a_single_date_gives_the_item_that_datetime() -> None:
    one_day = {"start_datetime": "2024-01-01T00:00:00Z", "end_datetime": "2024-01-01T00:00:00Z"}
    document = results_document(
        finished_job([asset("result.tif", **one_day)]),
        href=href,
        canonical=CANONICAL,
        expires=EXPIRES,
    )
    validate_stac_item(document)
    assert document["properties"]["datetime"] == "2024-01-01T00:00:00Z"
    assert "start_datetime" not in document["properties"]


def test_unlocated_results_have_no_geometry_and_the_end_of_the_job_as_datetime() -> None:
    document = results_document(
        finished_job([asset("result.json", type="application/json")]),
        href=href,
        canonical=CANONICAL,
        expires=EXPIRES,
    )
    validate_stac_item(document)
    assert document["geometry"] is None
    assert "bbox" not in document
    assert document["properties"]["datetime"] == "2024-05-01T10:05:00Z"
    assert document["stac_extensions"] == [
        "https://stac-extensions.github.io/file/v2.1.0/schema.json"
    ]


def test_the_validator_would_catch_a_broken_document() -> None:
    document = results_document(
        finished_job([asset("a.tif")]), href=href, canonical=CANONICAL, expires=EXPIRES
    )
    del document["properties"]["datetime"]
    with pytest.raises(StacSchemaError):
        validate_stac_item(document)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "PT0S"),
        (5, "PT5S"),
        (0.25, "PT0.2S"),
        (59.96, "PT1M"),
        (3725.5, "PT1H2M5.5S"),
        (7200, "PT2H"),
    ],
)
def test_durations_are_iso_8601(seconds: float, expected: str) -> None:
    assert iso8601_duration(seconds) == expected


def test_the_estimate_prices_pixels_read_and_produced_and_times_the_larger_count() -> None:
    figures = ExecutorFigures(
        pixels_read=2_000_000_000,
        bytes_read=4_000_000_000,
        pixels_produced=1_000_000_000,
        pixels_written=4_500_000_000,
        bytes_written=18_000_000_000,
        files_written=12,
    )
    estimate = estimate_document(figures, cost_per_megapixel=0.02, megapixels_per_second=50)
    assert estimate == {
        "costs": 60.0,
        "duration": "PT1M30S",
        "size": 18_000_000_000,
        "downloads_included": None,
    }
    produced = ExecutorFigures(**{**figures.__dict__, "pixels_produced": 5_000_000_000})
    assert estimate_document(produced, cost_per_megapixel=0.02, megapixels_per_second=50) == {
        **estimate,
        "costs": 140.0,
        "duration": "PT2M20S",
    }


@pytest.mark.parametrize(
    ("budget", "cost_per_megapixel", "pixels"),
    [
        (None, 0.01, 0),
        (0.0, 0.01, 0),
        (5.0, 0.0, 0),
        (5.0, 0.01, 500_000_000),
        (1e-12, 0.01, 1),
        (1e300, 0.01, MAX_PIXEL_COUNT),
    ],
)
def test_what_a_budget_pays_for(
    budget: float | None, cost_per_megapixel: float, pixels: int
) -> None:
    assert paid_pixels(budget, cost_per_megapixel=cost_per_megapixel) == pixels
