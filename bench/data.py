"""The benchmark's input: deterministic (seeded) Sentinel-2-like uint16 COGs, cached on disk.

12 dates x 2 bands (B04 red, B08 NIR), 2048 x 2048 pixels at 10 m in EPSG:32632,
deflate-compressed COGs with 512-pixel blocks written by the project's own
`eoplex_ingest.demo.write_cog`, named `S2_<YYYYMMDD>_<band>.tif`. The values are
chosen to catch the usual bugs of an NDVI maximum:

- a lake whose red exceeds its NIR (negative NDVI: an unsigned subtraction wraps);
- no-data (0) along a swath edge that moves from date to date, so the maximum of a
  pixel comes from fewer dates near the edge;
- a corner with no data on any date, so the result has no-data too;
- isolated no-data pixels in one band only, so NDVI must be no-data where either is.

`python -m bench.data [folder]` writes them (only when some file is missing).
"""

import argparse
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from rasterio.transform import Affine

from eoplex_ingest.demo import write_cog
from eoplex_ingest.folder import NamingRules

SEED = 20240612
SIZE = 2048
DATES = 12
BANDS = ("B04", "B08")
EPSG = 32632
RESOLUTION = 10.0
WEST, NORTH = 600000.0, 5200000.0
FIRST_DATE = datetime(2022, 4, 1, tzinfo=UTC)
DATE_STEP = timedelta(days=10)
PARCEL = 32  # pixels per side of a field
EMPTY_CORNER = 64  # pixels per side of the top-left square without data on any date
SPECKS = 0.001  # share of pixels with no data in one band only
NODATA = 0
COLLECTION_ID = "BENCH_S2"  # as the executor's catalog and the stack register the folder
DEFAULT_FOLDER = Path(".state/bench/data")
RULES = NamingRules(
    datetime_pattern=r"_(?P<datetime>\d{8})_", band_pattern=r"_(?P<band>B\d\d)\.tif$"
)

# Land-cover classes.
CROP, GRASS, SOIL, WATER = range(4)


@dataclass(frozen=True)
class Scene:
    """What stays the same from date to date: land cover and a texture around 1."""

    landcover: np.ndarray  # uint8 classes, SIZE x SIZE
    texture: np.ndarray  # float32


def dates(count: int = DATES) -> list[datetime]:
    """The acquisition dates, every 10 days from 2022-04-01."""
    return [FIRST_DATE + index * DATE_STEP for index in range(count)]


def file_name(instant: datetime, band: str) -> str:
    """`S2_<YYYYMMDD>_<band>.tif`."""
    return f"S2_{instant:%Y%m%d}_{band}.tif"


def expected_files(folder: Path, count: int = DATES) -> list[Path]:
    """Every file of the data set, date by date."""
    return [folder / file_name(instant, band) for instant in dates(count) for band in BANDS]


def transform() -> Affine:
    """The north-up 10 m grid (built directly: `from_origin` warns with this affine version)."""
    return Affine(RESOLUTION, 0.0, WEST, 0.0, -RESOLUTION, NORTH)


def make_scene() -> Scene:
    """Fields of crops, grass and bare soil, with a lake across the middle."""
    rng = np.random.default_rng(SEED)
    parcels = rng.choice([CROP, GRASS, SOIL], size=(SIZE // PARCEL,) * 2, p=[0.5, 0.3, 0.2])
    landcover = np.kron(parcels, np.ones((PARCEL, PARCEL), dtype=np.uint8)).astype(np.uint8)
    rows, cols = np.ogrid[0:SIZE, 0:SIZE]
    lake = ((rows - 0.55 * SIZE) / (0.12 * SIZE)) ** 2 + ((cols - 0.4 * SIZE) / (0.2 * SIZE)) ** 2
    landcover[lake < 1] = WATER
    texture = (1 + 0.05 * rng.standard_normal((SIZE, SIZE), dtype=np.float32)).astype(np.float32)
    return Scene(landcover=landcover, texture=texture)


def class_reflectances(index: int) -> np.ndarray:
    """Red and NIR reflectance (2 x 4 classes) on date `index`: crops green up, water is dark."""
    season = np.exp(-(((index - 7) / 3.5) ** 2))
    ndvi = np.array([0.2 + 0.65 * season, 0.5 + 0.15 * season, 0.1, 0.0], dtype=np.float32)
    red = 0.12 - 0.1 * ndvi
    nir = red * (1 + ndvi) / (1 - ndvi)
    red[WATER], nir[WATER] = 0.04, 0.015  # red above NIR
    return np.stack([red, nir]).astype(np.float32)


def render_date(scene: Scene, index: int) -> dict[str, np.ndarray]:
    """B04 and B08 of date `index` as uint16 digital numbers, no-data 0."""
    rng = np.random.default_rng([SEED, index])
    reflectance = class_reflectances(index)[:, scene.landcover] * scene.texture
    reflectance *= 1 + 0.02 * rng.standard_normal(reflectance.shape, dtype=np.float32)
    digital = np.clip(np.rint(reflectance / 0.0001), 1, 10000).astype(np.uint16)
    rows, cols = np.ogrid[0:SIZE, 0:SIZE]
    # The swath edge: a slanted line that moves with the date; even dates cover everything.
    if index % 2:
        edge = SIZE * (0.5 + 0.1 * index / DATES)
        digital[:, cols + 0.3 * rows > edge] = NODATA
    digital[:, :EMPTY_CORNER, :EMPTY_CORNER] = NODATA
    for band in range(len(BANDS)):
        digital[band][rng.random((SIZE, SIZE)) < SPECKS] = NODATA
    return dict(zip(BANDS, digital, strict=True))


def write_date(folder: Path, scene: Scene, index: int) -> None:
    """The two COGs of date number `index`, tagged with their date."""
    instant = dates()[index]
    tags = {"TIFFTAG_DATETIME": instant.strftime("%Y:%m:%d %H:%M:%S")}
    for band, data in render_date(scene, index).items():
        write_cog(
            folder / file_name(instant, band),
            data,
            epsg=EPSG,
            transform=transform(),
            nodata=NODATA,
            description=band,
            tags=tags,
        )


def ensure_data(folder: Path = DEFAULT_FOLDER) -> Path:
    """The folder of COGs, written first if any file is missing (aside, then renamed, so an
    interrupted run never leaves half a data set)."""
    if all(path.exists() for path in expected_files(folder)):
        return folder
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    scene = make_scene()
    # GDAL compresses without the GIL, so dates are written in parallel.
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda index: write_date(partial, scene, index), range(DATES)))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the benchmark's COGs if missing.")
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    print(ensure_data(parser.parse_args().folder))


if __name__ == "__main__":
    main()
