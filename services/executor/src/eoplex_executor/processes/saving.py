"""save_result: the output file formats, their options, and writing `data` as one of them.

Clients learn the formats and their options from `GET /file_formats`, which the
capabilities service builds from `eoplex_capabilities.registry.OUTPUT_FILE_FORMATS`;
a test keeps that map and `OUTPUT_FORMATS` here equal. Format names are matched
case-insensitively; the openEO API forbids aliases (`GeoTIFF` for `GTiff`), so none
are accepted. Files are written into the environment's scratch directory and listed
in `env.outputs` by the writers of `eoplex_executor.io`: `raster_formats` (GTiff, netCDF,
JSON, PNG) and `vector_formats` (GeoJSON, CSV, Parquet).
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import RasterCube, VectorCube
from eoplex_executor.engine.environment import Environment, ResultFile
from eoplex_executor.engine.registry import process
from eoplex_executor.io.raster_formats import (
    GTIFF_DATATYPES,
    JSON_LAYOUTS,
    as_raster_cube,
    as_vector_cube,
    free_path,
    gtiff_datatype,
    image_planes,
    invalid_options,
    json_layout,
    jsonable,
    netcdf_variable_names,
    png_planes,
    write_gtiff,
    write_json,
    write_netcdf,
    write_png,
)
from eoplex_executor.io.vector_formats import write_csv, write_geojson, write_parquet
from eoplex_executor.processes._checks import is_finite_number

GEOJSON_MEDIA_TYPE = "application/geo+json"
CSV_MEDIA_TYPE = "text/csv"
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"


@dataclass(frozen=True)
class Option:
    """One option of an output format: its default and the values it accepts."""

    default: Any
    accepts: Callable[[Any], bool]
    expected: str


Writer = Callable[[Any, Mapping[str, Any], Environment], list[ResultFile]]


@dataclass(frozen=True)
class OutputFormat:
    """An output file format: its name as clients spell it, its writer and its options."""

    name: str
    write: Writer
    options: Mapping[str, Option] = field(default_factory=dict)


@process("save_result", environment=True)
def save_result(data: Any, format: str, options: Any, env: Environment) -> bool:
    """openEO `save_result`: write `data` as `format` into the scratch directory.

    Raises ProcessParameterInvalid for an unknown format (parameter `format`), an unknown
    option or an option value of the wrong type (`options`); FormatUnsuitable for data the
    format cannot hold (saying which format or process to use instead).
    """
    output_format = _output_format(format)
    chosen = _checked_options(output_format, options)
    if env.estimate is not None:
        _tally_output(output_format.name, data, chosen, env)
        return True
    env.outputs.extend(output_format.write(data, chosen, env))
    return True


def _tally_output(
    format_name: str, data: Any, options: Mapping[str, Any], env: Environment
) -> None:
    """Estimate mode: count the values, bytes (output data type, uncompressed) and files the
    format would write, after the checks its writer makes before computing anything."""
    assert env.estimate is not None
    files = 1
    if format_name == "JSON":
        json_layout(data, options)
    if format_name in VECTOR_FORMATS or (format_name == "JSON" and isinstance(data, VectorCube)):
        # Values and geometries (counted as one value each), 8 bytes a value.
        vectors = as_vector_cube(data, format_name)
        values = len(vectors) + (0 if vectors.values is None else int(vectors.values.size))
        size = 8 * values
    elif format_name == "JSON" and not isinstance(data, RasterCube | xr.DataArray):
        values, size = 0, len(json.dumps(jsonable(data)))
    elif format_name == "GTiff":
        planes = image_planes(as_raster_cube(data, format_name), format_name)
        dtype = gtiff_datatype(np.dtype(planes.data.dtype), options["datatype"])
        values, size = int(planes.data.size), int(planes.data.size) * dtype.itemsize
        if planes.time is not None and not env.limits.single_file:
            files = planes.data.sizes[planes.time]
    elif format_name == "PNG":
        planes = png_planes(as_raster_cube(data, format_name))
        values = size = int(planes.data.size)
    else:
        cube = as_raster_cube(data, format_name)
        if format_name == "netCDF":
            netcdf_variable_names(cube)
        values, size = cube.pixel_count, cube.pixel_count * cube.data.dtype.itemsize
    env.estimate.pixels_written += values
    env.estimate.bytes_written += size
    env.estimate.files_written += files


def _output_format(name: Any) -> OutputFormat:
    """The output format called `name`, in any letter case; ProcessParameterInvalid if none."""
    found = _FORMATS_BY_LOWER_NAME.get(name.lower()) if isinstance(name, str) else None
    if found is None:
        supported = ", ".join(OUTPUT_FORMATS)
        raise ProcessParameterInvalid(
            process="save_result",
            parameter="format",
            reason=f"{name!r} is not an output format; supported: {supported}.",
        )
    return found


def _checked_options(output_format: OutputFormat, options: Any) -> dict[str, Any]:
    """Every option of the format: the given value, or its default."""
    given = {} if options is None else options
    if not isinstance(given, Mapping):
        raise invalid_options("options must be an object.")
    known = ", ".join(output_format.options) or "none"
    for name, value in given.items():
        option = output_format.options.get(name)
        if option is None:
            raise invalid_options(
                f"{output_format.name} has no option {name!r}; its options: {known}."
            )
        if not option.accepts(value):
            raise invalid_options(
                f"option {name!r} of {output_format.name} must be {option.expected}, got {value!r}."
            )
    return {name: given.get(name, option.default) for name, option in output_format.options.items()}


def _vector_writer(
    format_name: str, suffix: str, media_type: str, write: Callable[[VectorCube, Path], None]
) -> Writer:
    def write_vector(data: Any, options: Mapping[str, Any], env: Environment) -> list[ResultFile]:
        path = free_path(env, "result", suffix)
        write(as_vector_cube(data, format_name), path)
        return [ResultFile(path, media_type)]

    return write_vector


# ---------------------------------------------------------------- the formats


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _is_number_or_null(value: Any) -> bool:
    return value is None or is_finite_number(value)


def _is_json_layout_or_null(value: Any) -> bool:
    return value is None or value in JSON_LAYOUTS


def _is_datatype_or_null(value: Any) -> bool:
    return value is None or value in GTIFF_DATATYPES


OUTPUT_FORMATS: dict[str, OutputFormat] = {
    output_format.name: output_format
    for output_format in (
        OutputFormat(
            "GTiff",
            write_gtiff,
            {
                "datatype": Option(None, _is_datatype_or_null, f"one of {GTIFF_DATATYPES}"),
                "overviews": Option(True, _is_boolean, "true or false"),
            },
        ),
        OutputFormat("netCDF", write_netcdf),
        OutputFormat(
            "JSON",
            write_json,
            {"layout": Option(None, _is_json_layout_or_null, f"one of {JSON_LAYOUTS} or null")},
        ),
        OutputFormat(
            "PNG",
            write_png,
            {
                "min": Option(None, _is_number_or_null, "a number or null"),
                "max": Option(None, _is_number_or_null, "a number or null"),
            },
        ),
        OutputFormat(
            "GeoJSON", _vector_writer("GeoJSON", ".geojson", GEOJSON_MEDIA_TYPE, write_geojson)
        ),
        OutputFormat("CSV", _vector_writer("CSV", ".csv", CSV_MEDIA_TYPE, write_csv)),
        OutputFormat(
            "Parquet", _vector_writer("Parquet", ".parquet", PARQUET_MEDIA_TYPE, write_parquet)
        ),
    )
}
# The formats that hold vector data cubes only.
VECTOR_FORMATS = ("GeoJSON", "CSV", "Parquet")
_FORMATS_BY_LOWER_NAME = {
    name.lower(): output_format for name, output_format in OUTPUT_FORMATS.items()
}
