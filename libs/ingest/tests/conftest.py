"""Fixtures of the ingest tests: small GeoTIFFs written with rasterio, the catalog in-process."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

WriteTiff = Callable[..., Path]


def write_tiff(
    path: Path,
    *,
    epsg: int = 32632,
    origin: tuple[float, float] = (675000.0, 5155000.0),
    resolution: float = 10.0,
    size: int = 64,
    count: int = 1,
    dtype: str = "uint16",
    nodata: float | None = 0,
    scale: float = 1.0,
    descriptions: tuple[str, ...] = (),
    tags: dict[str, Any] | None = None,
) -> Path:
    """A small GeoTIFF with a ramp of values (so it is never all nodata)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (np.arange(size * size * count).reshape(count, size, size) % 200 + 1).astype(dtype)
    profile = {
        "driver": "GTiff",
        "height": size,
        "width": size,
        "count": count,
        "dtype": dtype,
        "crs": f"EPSG:{epsg}",
        "transform": Affine(resolution, 0, origin[0], 0, -resolution, origin[1]),
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(data)
        dataset.scales = (scale,) * count
        for index, description in enumerate(descriptions, 1):
            dataset.set_band_description(index, description)
        dataset.update_tags(**(tags or {}))
    return path


@pytest.fixture
def tiff() -> WriteTiff:
    """`tiff(path, epsg=..., size=..., tags=...)` writes a GeoTIFF and returns its path."""
    return write_tiff
