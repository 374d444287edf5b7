"""Reading folders of GeoTIFFs into items: dates, bands, tiles, and every refusal."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from eoplex_ingest.errors import IngestError
from eoplex_ingest.folder import NamingRules, plan_folder

from .conftest import WriteTiff

S2_RULES = NamingRules(
    datetime_pattern=r"_(?P<datetime>\d{8})_", band_pattern=r"_(?P<band>B\d\d|SCL)\.tif$"
)


def test_files_are_grouped_into_one_item_per_date_with_bands_from_names(
    tmp_path: Path, tiff: WriteTiff
) -> None:
    for day in ("20220510", "20220501"):
        for band in ("B04", "B08"):
            tiff(tmp_path / f"S2_{day}_{band}.tif")
        tiff(tmp_path / f"S2_{day}_SCL.tif", resolution=20.0, size=32, dtype="uint8")

    plans = plan_folder(tmp_path, S2_RULES)

    assert [plan.instant for plan in plans] == [
        datetime(2022, 5, 1, tzinfo=UTC),
        datetime(2022, 5, 10, tzinfo=UTC),
    ]
    assert [list(plan.bands) for plan in plans] == [["B04", "B08", "SCL"]] * 2
    assert plans[0].item_id("MY") == "MY_20220501"
    assert plans[0].bands["SCL"].raster.resolution == (20.0, 20.0)


def test_dates_come_from_year_month_day_groups_and_tiles_keep_items_apart(
    tmp_path: Path, tiff: WriteTiff
) -> None:
    tiff(tmp_path / "2022" / "05" / "03" / "T32TPS_2022-05-03.tif")
    tiff(tmp_path / "T32TQS_2022-05-03.tif", origin=(685000.0, 5155000.0))
    rules = NamingRules(
        datetime_pattern=r"^(?P<tile>T\w{5})_(?P<year>\d{4})-(?P<month>\d\d)-(?P<day>\d\d)"
    )

    plans = plan_folder(tmp_path, rules)

    assert [(plan.tile, plan.item_id("C")) for plan in plans] == [
        ("T32TPS", "C_20220503_T32TPS"),
        ("T32TQS", "C_20220503_T32TQS"),
    ]
    assert all(list(plan.bands) == ["band1"] for plan in plans)


def test_dates_come_from_tiff_tags_and_bands_from_descriptions(
    tmp_path: Path, tiff: WriteTiff
) -> None:
    tiff(
        tmp_path / "scene.tif",
        count=2,
        descriptions=("red", "nir"),
        tags={"TIFFTAG_DATETIME": "2022:06:01 10:30:00"},
    )
    tiff(tmp_path / "other.tif", tags={"datetime": "2022-06-02T00:00:00Z"})

    plans = plan_folder(tmp_path, NamingRules())

    assert [(plan.instant, list(plan.bands)) for plan in plans] == [
        (datetime(2022, 6, 1, 10, 30, tzinfo=UTC), ["red", "nir"]),
        (datetime(2022, 6, 2, tzinfo=UTC), ["band1"]),
    ]
    assert plans[0].item_id("C") == "C_20220601T103000"
    assert plans[0].bands["nir"].index == 2


def test_an_unreadable_file_is_named(tmp_path: Path, tiff: WriteTiff) -> None:
    tiff(tmp_path / "S2_20220501_B04.tif")
    broken = tmp_path / "S2_20220501_B08.tif"
    broken.write_bytes(b"not a tiff")

    with pytest.raises(IngestError, match="not a readable raster") as raised:
        plan_folder(tmp_path, S2_RULES)
    assert raised.value.path == str(broken)


def test_one_band_in_two_crss_is_refused(tmp_path: Path, tiff: WriteTiff) -> None:
    tiff(tmp_path / "S2_20220501_B04.tif")
    tiff(tmp_path / "S2_20220506_B04.tif", epsg=32633, origin=(280000.0, 5160000.0))

    with pytest.raises(IngestError, match="B04 is in EPSG:32633 here but in EPSG:32632"):
        plan_folder(tmp_path, S2_RULES)


def test_a_file_without_a_date_is_refused(tmp_path: Path, tiff: WriteTiff) -> None:
    tiff(tmp_path / "S2_20220501_B04.tif")
    undated = tiff(tmp_path / "S2_latest_B08.tif")

    with pytest.raises(IngestError, match="no date") as raised:
        plan_folder(tmp_path, S2_RULES)
    assert raised.value.path == str(undated)


def test_an_empty_folder_and_a_missing_folder_are_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no rasters here")
    with pytest.raises(IngestError, match="no GeoTIFF files"):
        plan_folder(tmp_path, S2_RULES)
    with pytest.raises(IngestError, match="not a folder"):
        plan_folder(tmp_path / "missing", S2_RULES)


def test_two_files_with_the_same_band_and_date_are_refused(tmp_path: Path, tiff: WriteTiff) -> None:
    tiff(tmp_path / "a_20220501_.tif")
    tiff(tmp_path / "b_20220501_.tif")

    with pytest.raises(IngestError, match="band band1 of 2022-05-01T00:00:00\\+00:00 is also"):
        plan_folder(tmp_path, NamingRules(datetime_pattern=r"_(?P<datetime>\d{8})_"))
