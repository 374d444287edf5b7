"""The demo data: deterministic and plausible (seasonal fields, a dark lake, clouds in SCL)."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
import rasterio

from eoplex_ingest.demo import (
    CLOUDY_DATES,
    FOREST,
    LATE_CROP,
    SCALE,
    SCL_CLOUD_HIGH,
    SCL_CLOUD_MEDIUM,
    SCL_WATER,
    WATER,
    Scene,
    cloud_cover,
    make_scene,
    render_date,
    s2_dates,
    write_dem_demo,
    write_sentinel2_date,
)

MAY_1, JULY_15 = 0, 15  # clear dates
CLOUDIEST = max(CLOUDY_DATES, key=CLOUDY_DATES.__getitem__)


@pytest.fixture(scope="module")
def scene() -> Scene:
    return make_scene()


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def ndvi(bands: dict[str, np.ndarray]) -> np.ndarray:
    red, nir = bands["B04"].astype(np.float32), bands["B08"].astype(np.float32)
    return (nir - red) / (nir + red)


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    for run in ("a", "b"):
        write_sentinel2_date(tmp_path / run, make_scene(seed=7), CLOUDIEST)
        write_dem_demo(tmp_path / run, seed=7)
    write_sentinel2_date(tmp_path / "other", make_scene(seed=8), CLOUDIEST)

    assert len(digests(tmp_path / "a")) == 6
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert (
        digests(tmp_path / "a")["S2_20220725_B04.tif"]
        != digests(tmp_path / "other")["S2_20220725_B04.tif"]
    )


def test_the_files_carry_grid_scale_nodata_and_cloud_cover(tmp_path: Path, scene: Scene) -> None:
    write_sentinel2_date(tmp_path, scene, CLOUDIEST)

    with rasterio.open(tmp_path / "S2_20220725_B08.tif") as b08:
        assert (b08.crs.to_epsg(), b08.shape, b08.dtypes[0]) == (32632, (1000, 1000), "uint16")
        assert tuple(b08.bounds) == (675000.0, 5145000.0, 685000.0, 5155000.0)
        assert (b08.scales[0], b08.nodata) == (SCALE, 0)
    with rasterio.open(tmp_path / "S2_20220725_SCL.tif") as scl:
        assert (scl.shape, scl.res, scl.dtypes[0]) == ((500, 500), (20.0, 20.0), "uint8")
        assert float(scl.tags()["CLOUD_COVER"]) == cloud_cover(scl.read(1)) > 30


def test_fields_are_greener_in_july_than_in_may(scene: Scene) -> None:
    fields = scene.landcover == LATE_CROP
    may, july = ndvi(render_date(scene, MAY_1)), ndvi(render_date(scene, JULY_15))

    assert july[fields].mean() > may[fields].mean() + 0.3
    assert ndvi(render_date(scene, JULY_15))[scene.landcover == FOREST].mean() > 0.7


def test_the_lake_is_dark_in_the_near_infrared_and_water_in_scl(scene: Scene) -> None:
    bands = render_date(scene, MAY_1)
    lake = scene.landcover == WATER

    assert lake.mean() > 0.02
    assert bands["B08"][lake].mean() * SCALE < 0.03
    assert (bands["SCL"][lake[::2, ::2]] == SCL_WATER).all()


def test_clouds_are_in_scl_and_bright_in_the_reflectances_on_cloudy_dates_only(
    scene: Scene,
) -> None:
    assert s2_dates()[CLOUDIEST].isoformat() == "2022-07-25T00:00:00+00:00"
    clear, cloudy = render_date(scene, MAY_1), render_date(scene, CLOUDIEST)
    clouds = np.isin(cloudy["SCL"], (SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH))

    assert cloud_cover(clear["SCL"]) == 0
    assert clouds.mean() > 0.3
    assert cloudy["B02"][::2, ::2][clouds].mean() * SCALE > 0.3
    assert clear["B02"].mean() * SCALE < 0.1
    assert cloudy["B02"].min() >= 1  # 0 is nodata
