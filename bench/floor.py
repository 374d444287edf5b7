"""The floor: max-over-time NDVI as a competent engineer writes it with rasterio and numpy.

Date by date, read the whole red (B04) and NIR (B08) arrays, compute NDVI in float32
with no-data as NaN, and fold it into a running NaN-skipping maximum, so memory stays
the same whatever the number of dates; then write one float32 GeoTIFF (tiled,
deflate with the floating-point predictor, NaN as no-data).

`python -m bench.floor FOLDER OUTPUT [--dates N]` prints a `bench.measure` report.
"""

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from bench.measure import measure, print_report

BLOCK = 512


def read_band(path: Path) -> tuple[np.ndarray, Any, dict[str, Any]]:
    """The band's values, its no-data value and its profile."""
    with rasterio.open(path) as dataset:
        return dataset.read(1), dataset.nodata, dataset.profile


def date_ndvi(red_path: Path, nir_path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """NDVI of one date in float32, NaN where either band has no data."""
    red, red_nodata, profile = read_band(red_path)
    nir, nir_nodata, _ = read_band(nir_path)
    missing = (red == red_nodata) | (nir == nir_nodata)
    red32, nir32 = red.astype(np.float32), nir.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 only where both are missing
        ndvi = (nir32 - red32) / (nir32 + red32)
    ndvi[missing] = np.nan
    return ndvi, profile


def ndvi_max(folder: Path, output: Path, dates: int) -> None:
    """Write the maximum NDVI over the first `dates` dates of `folder` to `output`."""
    reds = sorted(folder.glob("*_B04.tif"))[:dates]
    nirs = sorted(folder.glob("*_B08.tif"))[:dates]
    maximum, profile = date_ndvi(reds[0], nirs[0])
    for red_path, nir_path in zip(reds[1:], nirs[1:], strict=True):
        ndvi, _ = date_ndvi(red_path, nir_path)
        np.fmax(maximum, ndvi, out=maximum)  # fmax skips NaN unless both are NaN
    profile.update(
        driver="GTiff",
        dtype="float32",
        nodata=np.nan,
        tiled=True,
        blockxsize=BLOCK,
        blockysize=BLOCK,
        compress="deflate",
        predictor=3,
    )
    with rasterio.open(output, "w", **profile) as dataset:
        dataset.write(maximum, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description="The rasterio+numpy floor of the benchmark.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--dates", type=int, default=12)
    args = parser.parse_args()
    print_report(measure(lambda: ndvi_max(args.folder, args.output, args.dates)))


if __name__ == "__main__":
    main()
