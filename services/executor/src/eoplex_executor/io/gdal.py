"""GDAL's environment in an executor process: how it reads rasters and what it caches."""

import ctypes
from pathlib import Path
from urllib.parse import urlsplit

from eoplex_common.settings import InfrastructureSettings


def gdal_environment(infrastructure: InfrastructureSettings, *, cachemax_mb: int) -> dict[str, str]:
    """The environment GDAL reads in a worker: a bounded block cache, no directory
    listings when opening remote files, and `/vsis3/` on the back-end's S3 server."""
    endpoint = urlsplit(infrastructure.s3_endpoint)
    return {
        # GDAL reads a number below 100000 as megabytes.
        "GDAL_CACHEMAX": str(cachemax_mb),
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff",
        "AWS_S3_ENDPOINT": endpoint.netloc,
        "AWS_HTTPS": "NO" if endpoint.scheme == "http" else "YES",
        "AWS_VIRTUAL_HOSTING": "FALSE",
        "AWS_ACCESS_KEY_ID": infrastructure.s3_access_key,
        "AWS_SECRET_ACCESS_KEY": infrastructure.s3_secret_key,
        "AWS_REGION": infrastructure.s3_region,
    }


def forget_remote_files() -> None:
    """Drop what GDAL caches of remote files in this process (`/vsis3/`, `/vsicurl/`:
    sizes, headers, blocks), which it otherwise keeps for the life of the process, while
    a re-ingest overwrites a collection's assets under the same keys.

    rasterio has no binding for `VSICurlClearCache`: it is called in the GDAL library
    that rasterio loaded (none loaded, nothing cached)."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 6 and Path(fields[5]).name.startswith("libgdal"):
            ctypes.CDLL(fields[5]).VSICurlClearCache()
            return
