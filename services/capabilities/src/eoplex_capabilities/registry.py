"""What the back-end can really do: file formats, UDF runtimes, service types, conformance.

Nothing is listed here that the back-end cannot do. The raster executor does not
exist yet, so the file format maps are empty; the issue that adds the executor
registers its formats here, and `GET /file_formats` follows.
"""

from typing import Any

OPENEO_API_CONFORMANCE = "https://api.openeo.org/1.2.0"

# GDAL-named formats the executor can read from (`input`) and write to (`output`).
INPUT_FILE_FORMATS: dict[str, dict[str, Any]] = {}
OUTPUT_FILE_FORMATS: dict[str, dict[str, Any]] = {}

# UDFs run only once the executor supports them.
UDF_RUNTIMES: dict[str, dict[str, Any]] = {}

# Secondary web services (WMTS, XYZ, ...) are not offered.
SERVICE_TYPES: dict[str, dict[str, Any]] = {}

# `GET /collections` and `GET /collections/{collection_id}` (served by data discovery).
STAC_API_COLLECTIONS_CONFORMANCE = "https://api.stacspec.org/v1.0.0/collections"

CONFORMANCE_CLASSES: tuple[str, ...] = (OPENEO_API_CONFORMANCE, STAC_API_COLLECTIONS_CONFORMANCE)
