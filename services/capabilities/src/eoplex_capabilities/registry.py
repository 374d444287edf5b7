"""What the back-end can really do: file formats, UDF runtimes, service types, conformance.

Nothing is listed here that the back-end cannot do. Which file formats the executor
reads (`load_collection`, `load_uploaded_files`) and writes (`save_result`), with which
options, and its UDF runtime's libraries come from the executor's manifest
(`eoplex_common.manifest`); their descriptions for users live here, keyed by name, and
a test checks that they describe exactly the manifest's formats and options.
"""

from typing import Any

OPENEO_API_CONFORMANCE = "https://api.openeo.org/1.2.0"

_GTIFF_LINKS = [
    {
        "href": "https://gdal.org/drivers/raster/cog.html",
        "rel": "about",
        "title": "GDAL on the Cloud-Optimized GeoTIFF format",
    },
    {
        "href": "https://gdal.org/drivers/raster/gtiff.html",
        "rel": "about",
        "title": "GDAL on the GeoTIFF format",
    },
]

_GEOJSON_LINK = {
    "href": "https://www.rfc-editor.org/rfc/rfc7946",
    "rel": "about",
    "title": "RFC 7946: The GeoJSON Format",
}

# Vector data cubes (e.g. of aggregate_spatial) in a table: how columns are named.
_VECTOR_COLUMNS = (
    "Every combination of the labels of the cube's dimensions besides `geometry` (e.g. date "
    "and band) is a column named by those labels joined by spaces (`2022-06-01T00:00:00Z "
    "B04`), or `value` for a cube without other dimensions; no-data is null."
)

# GDAL-named formats the executor can read from (`input`) and write to (`output`).
INPUT_FILE_FORMATS: dict[str, dict[str, Any]] = {
    "GTiff": {
        "title": "GeoTIFF",
        "description": (
            "The assets of collections: Cloud-Optimized GeoTIFFs and plain GeoTIFFs, which "
            "`load_collection` reads window by window. Each band of the data cube is a band "
            "of an asset; each date is the datetime of a STAC item. `load_uploaded_files` reads "
            "one north-up GeoTIFF with a CRS from the user's workspace as a cube (`bands`, "
            "`y`, `x`), bands labelled by their descriptions (else 1, 2, ...), integer values "
            "as floating point and the file's no-data value as no-data."
        ),
        "gis_data_types": ["raster"],
        "parameters": {},
        "links": _GTIFF_LINKS,
    },
    "GeoJSON": {
        "title": "GeoJSON",
        "description": (
            "GeoJSON (RFC 7946, WGS 84) files of the user's workspace, read by "
            "`load_uploaded_files` as one vector data cube: one geometry per Feature (or per "
            "Geometry), Feature ids and properties kept, the files' features in order. Empty "
            "and unlocated features keep their place and aggregate to no-data."
        ),
        "gis_data_types": ["vector"],
        "parameters": {},
        "links": [_GEOJSON_LINK],
    },
}

OUTPUT_FILE_FORMATS: dict[str, dict[str, Any]] = {
    "GTiff": {
        "title": "Cloud-Optimized GeoTIFF",
        "description": (
            "Cloud-Optimized GeoTIFFs (deflate-compressed tiles of 512 by 512 pixels) of a "
            "raster data cube with the spatial dimensions `x` and `y` and, optionally, a "
            "temporal dimension `t` and a bands dimension `bands`; other dimensions must be "
            "reduced first. Every band "
            "is a band of the file, described by its label; no-data is the file's no-data "
            "value (NaN for floating-point data). Every band carries the statistics of its "
            "valid values (GDAL's `STATISTICS_MINIMUM`, `_MAXIMUM`, `_MEAN`, `_STDDEV`, "
            "`_VALID_PERCENT`), which viewers stretch it by; a batch job's results describe "
            "them as `raster:bands` of each asset. With a temporal dimension, a synchronous "
            "request writes one file whose bands are every date and band, date by date, "
            "described as `<date> <band>` and tagged with their `datetime`; a batch job writes "
            "one file per date, `result_<date>.tif`, whose asset has that `datetime`."
        ),
        "gis_data_types": ["raster"],
        "parameters": {
            "datatype": {
                "type": ["string", "null"],
                "enum": [
                    "uint8",
                    "int8",
                    "uint16",
                    "int16",
                    "uint32",
                    "int32",
                    "float32",
                    "float64",
                    None,
                ],
                "default": None,
                "description": (
                    "The pixel type of the file; by default the data's (booleans as uint8). "
                    "Floating-point values written as integers are rounded to the nearest "
                    "integer (halves to even) and clipped to the type's range; their no-data is "
                    "then the type's largest value (unsigned types) or smallest (signed), which "
                    "no valid value takes."
                ),
            },
            "overviews": {
                "type": "boolean",
                "default": True,
                "description": (
                    "Whether to add overviews (reduced-resolution copies for fast display): "
                    "averages of floating-point data, nearest neighbours of integers."
                ),
            },
        },
        "links": _GTIFF_LINKS,
    },
    "netCDF": {
        "title": "netCDF",
        "description": (
            "A netCDF-4 file following the CF-1.8 conventions: one variable per band, named "
            "by the band's label (`data` for a cube without bands dimension), over the other "
            "dimensions of the cube (`t`, `y`, `x`, ...). `t` is a CF time coordinate; `x` and "
            "`y` hold pixel centres with the standard names and units of the CRS's axes; the "
            "grid-mapping variable `crs` holds the CRS (`crs_wkt`, `spatial_ref`). No-data is "
            "NaN (`_FillValue`); variables are deflate-compressed."
        ),
        "gis_data_types": ["raster"],
        "parameters": {},
        "links": [
            {
                "href": "https://gdal.org/drivers/raster/netcdf.html",
                "rel": "about",
                "title": "GDAL on the netCDF format",
            },
            {
                "href": "https://cfconventions.org/",
                "rel": "about",
                "title": "The CF metadata conventions",
            },
        ],
    },
    "JSON": {
        "title": "JSON",
        "description": (
            "Numbers, strings, booleans, arrays and objects as JSON; no-data (NaN) and "
            "infinite numbers as `null`. A raster data cube of at most 1,000,000 values is an "
            "object: `dimensions` maps each dimension's name to its `type` (`spatial`, "
            "`temporal`, `bands` or `other`) and `labels` (dates as RFC 3339 strings, x and "
            "y as pixel centres), in the order in which `data` nests them; `crs` is the CRS "
            "of the spatial dimensions; `data` holds the values as nested arrays. Larger "
            "cubes: GTiff or netCDF. A vector data cube is the same object whose first "
            "dimension is `geometry` (type `geometry`, labelled 0, 1, ...), plus "
            "`geometries`: a GeoJSON FeatureCollection of the geometries in WGS 84 "
            "(longitude, latitude) with their ids and properties, in label order; its `crs` "
            "is `EPSG:4326`, the CRS of those coordinates. A vector data cube that is a time "
            "series (a temporal dimension and at most one other besides `geometry`, e.g. "
            "`aggregate_spatial` of a cube with `t` and `bands`) is by default written as the "
            "openEO clients read time series (`timeseries_json_to_pandas` of the Python "
            "client): an object mapping each date to a list with one entry per geometry, "
            "each a list of the values of the other dimension's labels (one value without "
            "it); the option `layout` chooses."
        ),
        "gis_data_types": ["raster", "vector", "other"],
        "parameters": {
            "layout": {
                "type": ["string", "null"],
                "enum": ["cube", "timeseries", None],
                "default": None,
                "description": (
                    "How a vector data cube is written: `cube` (dimensions, crs, geometries "
                    "and data, like a raster cube) or `timeseries` (`{date: [[value per "
                    "band] per geometry]}`, for vector cubes with a temporal dimension and at "
                    "most one other). By default `timeseries` where it applies, else `cube`."
                ),
            },
        },
    },
    "GeoJSON": {
        "title": "GeoJSON",
        "description": (
            "A vector data cube (e.g. of `aggregate_spatial`) as a GeoJSON FeatureCollection "
            "in WGS 84 (RFC 7946): one Feature per geometry with its id and properties, its "
            "values added as properties (a value wins over a property of the same name). "
            + _VECTOR_COLUMNS
        ),
        "gis_data_types": ["vector"],
        "parameters": {},
        "links": [_GEOJSON_LINK],
    },
    "CSV": {
        "title": "Comma-separated values",
        "description": (
            "A vector data cube as a long table (RFC 4180, UTF-8, with a header): one row per "
            "geometry and combination of the labels of its other dimensions. Columns: "
            "`feature` (the Feature's id, else the geometry's position counted from 0), one "
            "column per other dimension named after it holding the label (dates as RFC 3339), "
            "`value` (empty for no-data), `geometry` as WKT in the cube's CRS and `crs` "
            "naming that CRS (`EPSG:<code>`, else its WKT). Feature "
            "properties are not repeated here; GeoJSON and Parquet hold them."
        ),
        "gis_data_types": ["vector"],
        "parameters": {},
        "links": [
            {
                "href": "https://www.rfc-editor.org/rfc/rfc4180",
                "rel": "about",
                "title": "RFC 4180: Comma-Separated Values",
            }
        ],
    },
    "Parquet": {
        "title": "GeoParquet",
        "description": (
            "A vector data cube as a GeoParquet 1.1 file: one row per geometry with the "
            "Feature ids (`id`), the properties, the values and `geometry` (WKB in the "
            "cube's CRS, given as PROJJSON in the `geo` metadata). " + _VECTOR_COLUMNS
        ),
        "gis_data_types": ["vector"],
        "parameters": {},
        "links": [
            {
                "href": "https://geoparquet.org/releases/v1.1.0/",
                "rel": "about",
                "title": "GeoParquet 1.1",
            }
        ],
    },
    "PNG": {
        "title": "PNG",
        "description": (
            "An 8-bit preview image, without georeferencing, of a raster data cube with the "
            "spatial dimensions `x` and `y`, at most one date, and one band (grayscale) or "
            "three (RGB, in the order of the bands dimension). Values that are bytes already "
            "(a uint8 cube, or values all within 0 to 255 with some above 1, e.g. of "
            "`linear_scale_range` onto 0 to 255) are written as they are, rounded, when "
            "neither `min` nor `max` is given; other values are stretched linearly from `min` "
            "to `max` onto 1 to 255. A pixel that is no-data in any band is 0 in every band, "
            "the value the file declares transparent (a valid 0 is then written as 1)."
        ),
        "gis_data_types": ["raster"],
        "parameters": {
            "min": {
                "type": ["number", "null"],
                "default": None,
                "description": (
                    "The value shown as 1, the darkest; by default the 2nd percentile of the "
                    "values of all bands."
                ),
            },
            "max": {
                "type": ["number", "null"],
                "default": None,
                "description": (
                    "The value shown as 255, the brightest; by default the 98th percentile of "
                    "the values of all bands. Must be greater than `min`."
                ),
            },
        },
        "links": [
            {
                "href": "https://gdal.org/drivers/raster/png.html",
                "rel": "about",
                "title": "GDAL on the PNG format",
            },
        ],
    },
}

# The UDF runtime of `run_udf` (the executor's `eoplex_executor.processes.udf`): Python code
# written against the openeo UDF API, run by the executor's own interpreter. Its version and
# libraries come from the executor's manifest (`build_udf_runtimes`).
PYTHON_UDF_RUNTIME: dict[str, Any] = {
    "title": "Python",
    "description": (
        "Python UDFs written against the openeo UDF API (`openeo.udf`): define "
        "`apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray`, "
        "`apply_timeseries(series: pandas.Series, context: dict) -> pandas.Series` or a "
        "function taking one `UdfData`. As the child process of `apply` the UDF sees every "
        "chunk of the cube; of `apply_dimension` and `reduce_dimension` chunks holding the "
        "whole dimension; called on a cube, spatial chunks holding every date and band. The "
        "code is given inline or as a path in the user's workspace; URLs are refused."
    ),
    "type": "language",
    "links": [
        {
            "href": "https://open-eo.github.io/openeo-python-client/udf.html",
            "rel": "about",
            "title": "User-defined functions in the openeo Python client",
        }
    ],
}

# Secondary web services (WMTS, XYZ, ...) are not offered.
SERVICE_TYPES: dict[str, dict[str, Any]] = {}

# `GET /collections` and `GET /collections/{collection_id}` (served by data discovery).
STAC_API_COLLECTIONS_CONFORMANCE = "https://api.stacspec.org/v1.0.0/collections"

CONFORMANCE_CLASSES: tuple[str, ...] = (OPENEO_API_CONFORMANCE, STAC_API_COLLECTIONS_CONFORMANCE)
