"""Raster metadata read with rasterio: what a STAC item and collection need from a GeoTIFF."""

from dataclasses import dataclass
from pathlib import Path

import rasterio
from rasterio.errors import RasterioError

from eoplex_ingest.errors import IngestError


@dataclass(frozen=True)
class BandInfo:
    """One band of a raster file: its data type, nodata, scale/offset, description and tags."""

    data_type: str
    nodata: float | None
    scale: float
    offset: float
    description: str | None


@dataclass(frozen=True)
class RasterInfo:
    """One raster file: grid (EPSG code, affine transform, shape) and its bands."""

    path: Path
    epsg: int
    transform: tuple[float, float, float, float, float, float]
    shape: tuple[int, int]
    bands: tuple[BandInfo, ...]
    tags: dict[str, str]
    cloud_optimized: bool = False

    @property
    def resolution(self) -> tuple[float, float]:
        """Pixel size along x and y (positive numbers)."""
        return abs(self.transform[0]), abs(self.transform[4])


def read_raster_info(path: Path) -> RasterInfo:
    """The metadata of one raster file; `IngestError` naming the file if it cannot be used."""
    try:
        with rasterio.open(path) as dataset:
            if dataset.crs is None:
                raise IngestError("the file has no coordinate reference system", path=path)
            epsg = dataset.crs.to_epsg()
            if epsg is None:
                raise IngestError(f"the CRS {dataset.crs} has no EPSG code", path=path)
            transform = dataset.transform
            bands = tuple(
                BandInfo(
                    data_type=dataset.dtypes[index],
                    nodata=dataset.nodatavals[index],
                    scale=dataset.scales[index],
                    offset=dataset.offsets[index],
                    description=dataset.descriptions[index],
                )
                for index in range(dataset.count)
            )
            return RasterInfo(
                path=path.resolve(),
                epsg=epsg,
                transform=(
                    transform.a,
                    transform.b,
                    transform.c,
                    transform.d,
                    transform.e,
                    transform.f,
                ),
                shape=(dataset.height, dataset.width),
                bands=bands,
                tags=dict(dataset.tags()),
                # GDAL's COG driver marks its files; other layouts may not be cloud-optimized.
                cloud_optimized=dataset.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG",
            )
    except RasterioError as error:
        raise IngestError(f"not a readable raster ({error})", path=path) from error
