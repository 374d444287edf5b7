"""GDAL's environment in an executor process: how it reads rasters and what it caches.

Set in the process environment of a synchronous worker and of `run-job` (the back-end's
own S3 and the tuning for remote COGs, `REMOTE_COG_OPTIONS`); what is a collection's
own (a provider's endpoint and credentials) is set for the reading thread only
(`provider_options`, through `eoplex_executor.io.cog.Source.gdal_options`).
"""

import ctypes
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from eoplex_common.settings import InfrastructureSettings

# How GDAL reads remote COGs (`/vsicurl/`, `/vsis3/`): every chunk task opens its file,
# reads its window (a few tile ranges) and closes it, many at once per worker.
REMOTE_COG_OPTIONS = {
    # No directory listing to look for sidecar files (.aux.xml, .ovr) at each open.
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    # Nor a probe of each sidecar name: only these files are asked for over HTTP.
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff",
    # HTTP/2 where TLS offers it (plain http stays 1.1: no upgrade round trip) ...
    "GDAL_HTTP_VERSION": "2TLS",
    # ... so that a worker's concurrent range requests share one connection per host.
    "GDAL_HTTP_MULTIPLEX": "YES",
    # Adjacent tiles of one window in one range request.
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    # Per open file (one per chunk task at a time): what a window reads twice (the tile
    # index while it reads tiles) is fetched once.
    "VSI_CACHE": "TRUE",
    "VSI_CACHE_SIZE": str(8 * 1024 * 1024),
    # Per worker process, across the files it opens: the file sizes, headers, tile indexes
    # and overviews every chunk task of an asset reads again are fetched once.
    "CPL_VSIL_CURL_CACHE_SIZE": str(128 * 1024 * 1024),
    # A provider under load (429, 5xx, dropped connections) is retried, the delay doubling.
    "GDAL_HTTP_MAX_RETRY": "4",
    "GDAL_HTTP_RETRY_DELAY": "1",
    # A host that stops answering fails the read instead of holding the worker.
    "GDAL_HTTP_CONNECTTIMEOUT": "15",
    "GDAL_HTTP_TIMEOUT": "60",
}


def gdal_environment(infrastructure: InfrastructureSettings, *, cachemax_mb: int) -> dict[str, str]:
    """The environment GDAL reads in a worker: a bounded block cache, the remote-COG
    tuning of `REMOTE_COG_OPTIONS`, and `/vsis3/` on the back-end's S3 server."""
    endpoint = urlsplit(infrastructure.s3_endpoint)
    return {
        # GDAL reads a number below 100000 as megabytes.
        "GDAL_CACHEMAX": str(cachemax_mb),
        **REMOTE_COG_OPTIONS,
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
    `AWS_REQUEST_PAYER`, ...) over `PROVIDER_S3_DEFAULTS`. Requests are signed with the
    collection's own credentials or not at all (`AWS_NO_SIGN_REQUEST=YES`), never with
    credentials GDAL would find elsewhere (the node's role, files): a requester-pays
    bucket without credentials refuses the read."""
    merged = {**PROVIDER_S3_DEFAULTS, **options}
    if not options.get("AWS_SECRET_ACCESS_KEY"):
        merged["AWS_NO_SIGN_REQUEST"] = "YES"
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
