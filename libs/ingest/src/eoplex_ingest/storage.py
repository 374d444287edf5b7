"""Where asset files end up: converted to Cloud-Optimized GeoTIFF, uploaded to S3 or referenced."""

from pathlib import Path
from typing import Protocol

import rasterio
import rasterio.shutil
from minio import Minio
from minio.error import MinioException
from urllib3.exceptions import HTTPError

from eoplex_common.s3 import ensure_bucket
from eoplex_ingest.errors import IngestError
from eoplex_ingest.folder import BandSource

DEFAULT_BUCKET = "eoplex-collections"
COG_OPTIONS = {"compress": "deflate", "blocksize": 512, "overview_resampling": "nearest"}


class AssetStore(Protocol):
    """Keeps one asset file and returns its `href`."""

    def put(self, local: Path, key: str) -> str:
        """Store `local` under `key` (`<collection>/<item>/<band>.tif`); the asset's href."""
        ...


class S3AssetStore:
    """Uploads to `s3://<bucket>/<key>`; the same key is overwritten by a re-ingest."""

    def __init__(self, *, client: Minio, bucket: str = DEFAULT_BUCKET) -> None:
        self.client = client
        self.bucket = bucket
        ensure_bucket(client, bucket)

    def put(self, local: Path, key: str) -> str:
        """Upload `local` as `key`; `s3://bucket/key`."""
        try:
            self.client.fput_object(self.bucket, key, str(local), content_type="image/tiff")
        except (MinioException, HTTPError) as error:
            raise IngestError(
                f"cannot upload to s3://{self.bucket}/{key}: {error}", path=local
            ) from error
        return f"s3://{self.bucket}/{key}"


class LocalReference:
    """Keeps files where they are (`--reference`): the href is the absolute local path."""

    def put(self, local: Path, key: str) -> str:
        """The absolute path of `local`."""
        return str(local.resolve())


def write_cog(source: BandSource, destination: Path) -> Path:
    """One band of `source` as a deflate-compressed Cloud-Optimized GeoTIFF at `destination`."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if len(source.raster.bands) == 1:
        rasterio.shutil.copy(source.raster.path, destination, driver="COG", **COG_OPTIONS)
        return destination
    # A multi-band file is split: the catalog's assets hold one band each.
    with rasterio.open(source.raster.path) as dataset:
        profile = dataset.profile | {"count": 1, "driver": "GTiff"}
        band = dataset.read(source.index)
        nodata = dataset.nodatavals[source.index - 1]
        scale, offset = dataset.scales[source.index - 1], dataset.offsets[source.index - 1]
        tags = dataset.tags()
    profile["nodata"] = nodata
    with rasterio.MemoryFile() as memory, memory.open(**profile) as single:
        single.write(band, 1)
        single.scales, single.offsets = (scale,), (offset,)
        single.set_band_description(1, source.name)
        single.update_tags(**tags)
        rasterio.shutil.copy(single, destination, driver="COG", **COG_OPTIONS)
    return destination
