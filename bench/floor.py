"""The floor: max-over-time NDVI as a competent engineer writes it with rasterio and numpy.

The image is cut into one horizontal strip per thread (`--threads`, as many as the
executor's dask threads in `bench.run`, so both sides use the same number of threads).
Each thread, date by date, reads its strip of the red (B04) and NIR (B08) bands,
computes NDVI in float32 with no-data as NaN, and folds it into a running NaN-skipping
maximum, so memory stays the same whatever the number of dates; rasterio and numpy
release the GIL while they read and compute. Then one float32 GeoTIFF is written (tiled,
deflate with the floating-point predictor, NaN as no-data).

`python -m bench.floor SOURCE OUTPUT [--dates N] [--threads N]` prints a `bench.measure`
report. SOURCE is the folder of COGs, or a JSON file listing `[red, nir]` paths per date
(e.g. `/vsicurl/` URLs of a STAC API's assets, read with the GDAL settings of the process
environment).
"""

import argparse
import itertools
import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

from bench.measure import measure, print_report

BLOCK = 512


def read_strip(path: Path | str, window: Window) -> tuple[np.ndarray, Any]:
    """The band's values in `window` and its no-data value (each thread opens its own
    dataset: a rasterio dataset is not shared between threads)."""
    with rasterio.open(path) as dataset:
        return dataset.read(1, window=window), dataset.nodata


def strip_ndvi(red_path: Path | str, nir_path: Path | str, window: Window) -> np.ndarray:
    """NDVI of one date's strip in float32, NaN where either band has no data."""
    red, red_nodata = read_strip(red_path, window)
    nir, nir_nodata = read_strip(nir_path, window)
    missing = (red == red_nodata) | (nir == nir_nodata)
    red32, nir32 = red.astype(np.float32), nir.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 only where both are missing
        ndvi = (nir32 - red32) / (nir32 + red32)
    ndvi[missing] = np.nan
    return ndvi


def strips(height: int, width: int, count: int) -> list[Window]:
    """`count` horizontal strips covering the image (fewer if it has fewer rows)."""
    edges = np.linspace(0, height, min(count, height) + 1).astype(int)
    return [Window(0, top, width, bottom - top) for top, bottom in itertools.pairwise(edges)]


def fold_strip(
    reds: Sequence[Path | str], nirs: Sequence[Path | str], window: Window, maximum: np.ndarray
) -> None:
    """The maximum NDVI over every date of one strip, written into its rows of `maximum`."""
    rows = maximum[window.row_off : window.row_off + window.height]
    rows[:] = strip_ndvi(reds[0], nirs[0], window)
    for red_path, nir_path in zip(reds[1:], nirs[1:], strict=True):
        np.fmax(rows, strip_ndvi(red_path, nir_path, window), out=rows)  # skips NaN


def inputs(source: Path, dates: int) -> tuple[Sequence[Path | str], Sequence[Path | str]]:
    """The red and NIR files of the first `dates` dates: a folder's, or a JSON list's."""
    if source.is_file():
        pairs = json.loads(source.read_text())[:dates]
        return [red for red, _ in pairs], [nir for _, nir in pairs]
    return sorted(source.glob("*_B04.tif"))[:dates], sorted(source.glob("*_B08.tif"))[:dates]


def ndvi_max(source: Path, output: Path, dates: int, threads: int) -> None:
    """Write the maximum NDVI over the first `dates` dates of `source` to `output`."""
    reds, nirs = inputs(source, dates)
    with rasterio.open(reds[0]) as first:
        profile = first.profile
    maximum = np.empty((profile["height"], profile["width"]), dtype=np.float32)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        windows = strips(profile["height"], profile["width"], threads)
        for done in [pool.submit(fold_strip, reds, nirs, w, maximum) for w in windows]:
            done.result()
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
    parser.add_argument("source", type=Path, help="a folder of COGs, or a JSON list of paths")
    parser.add_argument("output", type=Path)
    parser.add_argument("--dates", type=int, default=12)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    work = lambda: ndvi_max(args.source, args.output, args.dates, args.threads)  # noqa: E731
    print_report(measure(work))


if __name__ == "__main__":
    main()
