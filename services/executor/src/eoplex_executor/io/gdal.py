"""GDAL's environment in an executor process: how it reads rasters and what it caches."""

import ctypes
from collections.abc import Mapping
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


# A provider's `s3://` assets are read from AWS, anonymously, unless its collection's
# options say otherwise: the back-end's own S3 endpoint and credentials (the process
# environment of `gdal_environment`) must never reach another party's storage.
PROVIDER_S3_DEFAULTS = {
    "AWS_S3_ENDPOINT": "s3.amazonaws.com",
    "AWS_HTTPS": "YES",
    "AWS_VIRTUAL_HOSTING": "TRUE",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_SESSION_TOKEN": "",
}


def provider_options(options: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The GDAL options to read an external collection's assets with (`Source.gdal_options`,
    set for the reading thread only): its own `options` (endpoint, credentials,
    `AWS_REQUEST_PAYER`, ...) over `PROVIDER_S3_DEFAULTS`; anonymous
    (`AWS_NO_SIGN_REQUEST=YES`) unless they hold credentials."""
    signed = bool(options.get("AWS_SECRET_ACCESS_KEY"))
    merged = {**PROVIDER_S3_DEFAULTS, "AWS_NO_SIGN_REQUEST": "NO" if signed else "YES", **options}
    return tuple(sorted(merged.items()))


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
