"""save_result and the output file formats: GTiff (COG), netCDF (CF), JSON and PNG for raster
cubes; GeoJSON, CSV, Parquet (GeoParquet) and JSON for vector cubes (`vector_formats`).

Clients learn the formats and their options from `GET /file_formats`, which the
capabilities service builds from `eoplex_capabilities.registry.OUTPUT_FILE_FORMATS`;
a test keeps that map and `OUTPUT_FORMATS` here equal. Format names are matched
case-insensitively; the openEO API forbids aliases (`GeoTIFF` for `GTiff`), so none
are accepted. Files are written into the environment's scratch directory and listed
in `env.outputs`.

A cube is computed once per `save_result`: GTiff streams every band plane of every
file through one `dask.array.store` into uncompressed tiled drafts (memory stays at
a few chunks) that GDAL's COG driver then compresses; netCDF lets xarray stream its
variables the same way; JSON and PNG hold small results, computed in memory.
"""

import json
import math
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask.array
import numpy as np
import pyproj
import rasterio
import rasterio.shutil
import xarray as xr
from rasterio.io import DatasetWriter, MemoryFile
from rasterio.transform import Affine
from rasterio.windows import Window

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.cube import (
    BANDS,
    DIMENSION_ORDER,
    OTHER,
    SPATIAL,
    TEMPORAL,
    RasterCube,
    format_datetime,
    label_values,
)
from eoplex_executor.environment import Environment, ResultFile
from eoplex_executor.registry import process
from eoplex_executor.vector import VectorCube
from eoplex_executor.vector_formats import (
    vector_document,
    write_csv,
    write_geojson,
    write_parquet,
)

GTIFF_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
NETCDF_MEDIA_TYPE = "application/x-netcdf"
JSON_MEDIA_TYPE = "application/json"
PNG_MEDIA_TYPE = "image/png"
GEOJSON_MEDIA_TYPE = "application/geo+json"
CSV_MEDIA_TYPE = "text/csv"
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"

# The pixel types the GTiff option `datatype` offers.
GTIFF_DATATYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64")
# More values than this make a JSON document too large to be useful: GTiff or netCDF then.
JSON_MAX_VALUES = 1_000_000
# The variable holding a cube without bands dimension in netCDF.
NETCDF_SINGLE_VARIABLE = "data"
PNG_PERCENTILES = (2.0, 98.0)
BLOCK_SIZE = 512

# The dimension types of a bare DataArray, guessed from the conventional names.
CONVENTIONAL_TYPES = {"t": TEMPORAL, "bands": BANDS, "y": SPATIAL, "x": SPATIAL}


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
    option or an option value of the wrong type (`options`), and for data the format cannot
    hold (`format`, saying which format or process to use instead).
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
    if format_name in VECTOR_FORMATS or (format_name == "JSON" and isinstance(data, VectorCube)):
        # Values and geometries (counted as one value each), 8 bytes a value.
        vectors = _vector_cube(data, format_name)
        values = len(vectors) + (0 if vectors.values is None else int(vectors.values.size))
        size = 8 * values
    elif format_name == "JSON" and not isinstance(data, RasterCube | xr.DataArray):
        values, size = 0, len(json.dumps(_jsonable(data)))
    elif format_name == "GTiff":
        planes = _planes(_raster_cube(data, format_name), format_name)
        dtype = _gtiff_datatype(np.dtype(planes.data.dtype), options["datatype"])
        values, size = int(planes.data.size), int(planes.data.size) * dtype.itemsize
        if planes.time is not None and not env.limits.single_file:
            files = planes.data.sizes[planes.time]
    elif format_name == "PNG":
        planes = _png_planes(_raster_cube(data, format_name))
        values = size = int(planes.data.size)
    else:
        cube = _raster_cube(data, format_name)
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
        raise _invalid_options("options must be an object.")
    known = ", ".join(output_format.options) or "none"
    for name, value in given.items():
        option = output_format.options.get(name)
        if option is None:
            raise _invalid_options(
                f"{output_format.name} has no option {name!r}; its options: {known}."
            )
        if not option.accepts(value):
            raise _invalid_options(
                f"option {name!r} of {output_format.name} must be {option.expected}, got {value!r}."
            )
    return {name: given.get(name, option.default) for name, option in output_format.options.items()}


def _invalid_options(reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process="save_result", parameter="options", reason=reason)


def _unsuitable(reason: str) -> ProcessParameterInvalid:
    """The openEO `FormatUnsuitable` case, which has no error code of its own in the API."""
    return ProcessParameterInvalid(process="save_result", parameter="format", reason=reason)


# ---------------------------------------------------------------- raster cubes


@dataclass(frozen=True)
class Planes:
    """A cube arranged as 2-D planes for image files: `data` has the dims (time?, bands?, y, x)."""

    cube: RasterCube
    data: xr.DataArray
    time: str | None
    bands: str | None

    def labels(self, dimension: str | None) -> list[Any]:
        """The labels of `dimension`, or one None label when the cube lacks it."""
        return [None] if dimension is None else _labels(self.data, dimension)

    def stack(self) -> dask.array.Array:
        """The values as a 4-D (time, bands, y, x) dask array, missing dimensions of size 1."""
        values = dask.array.asarray(self.data.data)
        if self.time is None:
            values = values[None]
        if self.bands is None:
            values = values[:, None]
        return values


def _raster_cube(data: Any, format_name: str) -> RasterCube:
    """`data` as a RasterCube (a bare DataArray wrapped, without CRS)."""
    if isinstance(data, RasterCube):
        return data
    if isinstance(data, xr.DataArray):
        types = {str(dim): CONVENTIONAL_TYPES.get(str(dim), OTHER) for dim in data.dims}
        return RasterCube(data=data, crs=None, dimension_types=types)
    if isinstance(data, VectorCube):
        raise _unsuitable(
            f"{format_name} holds raster data cubes, not vector data cubes; use GeoJSON, CSV, "
            "Parquet or JSON."
        )
    raise _unsuitable(f"{format_name} holds raster data cubes, not {_kind(data)}; use JSON.")


def _planes(cube: RasterCube, format_name: str) -> Planes:
    """`cube` as (time?, bands?, y, x) planes; ProcessParameterInvalid for other dimensions."""
    time = cube.dimension_of_type(TEMPORAL)
    bands = cube.dimension_of_type(BANDS)
    if not {"x", "y"} <= set(cube.dims):
        raise _unsuitable(
            f"{format_name} needs the spatial dimensions x and y; use JSON or netCDF."
        )
    order = [dim for dim in (time, bands, "y", "x") if dim is not None]
    extra = [dim for dim in cube.dims if dim not in order]
    if extra:
        raise _unsuitable(
            f"{format_name} holds the dimensions {', '.join(DIMENSION_ORDER)}; reduce or "
            f"drop {', '.join(extra)} first (e.g. reduce_dimension), or use netCDF."
        )
    return Planes(cube, cube.data.transpose(*order), time, bands)


def _geotransform(data: xr.DataArray, format_name: str) -> Affine:
    """The affine transform of the pixel corners, from the x/y labels (pixel centres)."""
    x = np.asarray(_labels(data, "x"), dtype=np.float64)
    y = np.asarray(_labels(data, "y"), dtype=np.float64)
    dx, dy = _spacing(x, format_name), _spacing(y, format_name)
    if dx is None and dy is None:
        raise _unsuitable(
            f"a single pixel has no resolution for {format_name} to georeference; use JSON."
        )
    # Square pixels when one axis has a single label; y labels run north to south.
    dx = dx if dx is not None else abs(dy or 0.0)
    dy = dy if dy is not None else -abs(dx)
    return Affine(dx, 0.0, x[0] - dx / 2, 0.0, dy, y[0] - dy / 2)


def _spacing(labels: np.ndarray, format_name: str) -> float | None:
    """The regular distance between labels; None for a single label."""
    if labels.size < 2:
        return None
    steps = np.diff(labels)
    if not np.allclose(steps, steps[0]):
        raise _unsuitable(f"{format_name} needs a regular grid; resample_spatial first.")
    return float(steps[0])


def _labels(data: xr.DataArray, dimension: str) -> list[Any]:
    """The labels of `dimension` as JSON-friendly values; indices when it has no coordinate."""
    if dimension in data.coords:
        return label_values(data.coords[dimension].values)
    return list(range(data.sizes[dimension]))


def _free_path(env: Environment, stem: str, suffix: str) -> Path:
    """`stem + suffix` in the scratch directory, numbered when an earlier save_result took it."""
    path, number = env.scratch_dir / f"{stem}{suffix}", 1
    while path.exists():
        number += 1
        path = env.scratch_dir / f"{stem}_{number}{suffix}"
    return path


# ---------------------------------------------------------------- GTiff


@dataclass(frozen=True)
class GTiffBand:
    """One band of a GeoTIFF: a 2-D plane with its description and tags."""

    plane: dask.array.Array
    description: str
    tags: dict[str, str]


@dataclass(frozen=True)
class GTiffFile:
    """One GeoTIFF to write, its bands and the properties of its result asset."""

    path: Path
    bands: list[GTiffBand]
    properties: dict[str, Any]


class BandTarget:
    """A `dask.array.store` target writing the 2-D blocks it receives into one band."""

    def __init__(self, dataset: DatasetWriter, band: int) -> None:
        self.dataset = dataset
        self.band = band

    def __setitem__(self, key: tuple[slice, slice], block: np.ndarray) -> None:
        rows, cols = key
        self.dataset.write(block, self.band, window=Window.from_slices(rows, cols))


def write_gtiff(data: Any, options: Mapping[str, Any], env: Environment) -> list[ResultFile]:
    """GTiff: Cloud-Optimized GeoTIFFs; one per date unless `env.limits.single_file`."""
    planes = _planes(_raster_cube(data, "GTiff"), "GTiff")
    source = np.dtype(planes.data.dtype)
    target = _gtiff_datatype(source, options["datatype"])
    nodata = _gtiff_nodata(source, target)
    values = dask.array.map_blocks(
        _cast, planes.stack(), target=target, nodata=nodata, dtype=target
    )
    if planes.time is None or env.limits.single_file:
        files = [_single_gtiff(planes, values, env)]
    else:
        files = _gtiff_per_date(planes, values, env)
    profile = {
        "driver": "GTiff",
        "width": planes.data.sizes["x"],
        "height": planes.data.sizes["y"],
        "dtype": target.name,
        "crs": planes.cube.crs,
        "transform": _geotransform(planes.data, "GTiff"),
        "nodata": nodata,
    }
    _write_cogs(files, profile, overviews=options["overviews"])
    return [ResultFile(file.path, GTIFF_MEDIA_TYPE, properties=file.properties) for file in files]


def _single_gtiff(planes: Planes, values: dask.array.Array, env: Environment) -> GTiffFile:
    """One file whose bands are every (date, band) pair, date-major."""
    bands = [
        _gtiff_band(values[i, j], date, band, with_date=True)
        for i, date in enumerate(planes.labels(planes.time))
        for j, band in enumerate(planes.labels(planes.bands))
    ]
    return GTiffFile(_free_path(env, "result", ".tif"), bands, {})


def _gtiff_per_date(planes: Planes, values: dask.array.Array, env: Environment) -> list[GTiffFile]:
    """One file per date, named and described by it."""
    files = []
    for i, date in enumerate(planes.labels(planes.time)):
        bands = [
            _gtiff_band(values[i, j], date, band, with_date=False)
            for j, band in enumerate(planes.labels(planes.bands))
        ]
        path = _free_path(env, f"result_{str(date).replace(':', '-')}", ".tif")
        files.append(GTiffFile(path, bands, {"datetime": date}))
    return files


def _gtiff_band(
    plane: dask.array.Array, date: str | None, band: Any, *, with_date: bool
) -> GTiffBand:
    words = [date] if with_date and date is not None else []
    words += [] if band is None else [str(band)]
    return GTiffBand(plane, " ".join(words), {} if date is None else {"datetime": date})


def _write_cogs(files: list[GTiffFile], profile: dict[str, Any], *, overviews: bool) -> None:
    """Stream every band of every file into tiled drafts at once, then make them COGs."""
    drafts = [file.path.with_name(f".{file.path.name}.draft") for file in files]
    try:
        with ExitStack() as stack:
            sources: list[dask.array.Array] = []
            targets: list[Any] = []  # dask types its targets as arrays, not as item setters
            for file, draft in zip(files, drafts, strict=True):
                dataset = stack.enter_context(_open_draft(draft, profile, file.bands))
                for index, band in enumerate(file.bands, start=1):
                    sources.append(band.plane)
                    targets.append(BandTarget(dataset, index))
            # One store: what the planes share upstream (a loaded band) is computed once.
            dask.array.store(sources, targets, lock=True, scheduler="threads")
        integer = np.issubdtype(np.dtype(profile["dtype"]), np.integer)
        for file, draft in zip(files, drafts, strict=True):
            rasterio.shutil.copy(
                draft,
                file.path,
                driver="COG",
                COMPRESS="DEFLATE",
                PREDICTOR="YES",
                BLOCKSIZE=BLOCK_SIZE,
                BIGTIFF="IF_SAFER",
                NUM_THREADS="ALL_CPUS",
                OVERVIEWS="AUTO" if overviews else "NONE",
                # Averages blur class codes; integers keep their values.
                OVERVIEW_RESAMPLING="NEAREST" if integer else "AVERAGE",
            )
    finally:
        for draft in drafts:
            draft.unlink(missing_ok=True)


def _open_draft(path: Path, profile: dict[str, Any], bands: list[GTiffBand]) -> DatasetWriter:
    # Uncompressed, so blocks that do not match the tiles can be written in any order;
    # band-interleaved, so writing one band's block never reads the other bands' tiles.
    dataset = rasterio.open(
        path,
        "w",
        count=len(bands),
        tiled=True,
        blockxsize=BLOCK_SIZE,
        blockysize=BLOCK_SIZE,
        interleave="band",
        BIGTIFF="IF_SAFER",
        **profile,
    )
    for index, band in enumerate(bands, start=1):
        if band.description:
            dataset.set_band_description(index, band.description)
        if band.tags:
            dataset.update_tags(index, **band.tags)
    return dataset


def _gtiff_datatype(source: np.dtype, chosen: str | None) -> np.dtype:
    """The pixel type: the option's, else the data's (booleans as uint8)."""
    if chosen is not None:
        return np.dtype(chosen)
    if source == np.bool_:
        return np.dtype(np.uint8)
    if source == np.float16:
        return np.dtype(np.float32)
    return source


def _gtiff_nodata(source: np.dtype, target: np.dtype) -> float | None:
    """NaN for floats; for floats written as integers, a value of the type no value takes."""
    if np.issubdtype(target, np.floating):
        return math.nan
    if not np.issubdtype(source, np.floating):
        return None
    info = np.iinfo(target)
    return float(info.max if info.min == 0 else info.min)


def _cast(block: np.ndarray, *, target: np.dtype, nodata: float | None) -> np.ndarray:
    """`block` as `target`: rounded and clipped to its range (except `nodata`) for integers."""
    if block.dtype == target:
        return block
    if not np.issubdtype(target, np.integer) or block.dtype == np.bool_:
        return block.astype(target)
    info = np.iinfo(target)
    low = info.min + 1 if nodata == info.min else info.min
    high = info.max - 1 if nodata == info.max else info.max
    # float64 holds every 32-bit integer bound exactly, so clipped values cannot overflow.
    values = np.clip(
        np.rint(block.astype(np.float64)) if block.dtype.kind == "f" else block, low, high
    )
    if nodata is not None:
        values = np.where(np.isnan(block), nodata, values)
    return values.astype(target)


# ---------------------------------------------------------------- netCDF


def write_netcdf(data: Any, options: Mapping[str, Any], env: Environment) -> list[ResultFile]:
    """netCDF: a CF-1.8 netCDF-4 file, one variable per band."""
    dataset = _cf_dataset(_raster_cube(data, "netCDF"))
    path = _free_path(env, "result", ".nc")
    with dask.config.set(scheduler="threads"):
        dataset.to_netcdf(path, engine="netcdf4", encoding=_netcdf_encoding(dataset))
    return [ResultFile(path, NETCDF_MEDIA_TYPE)]


def _netcdf_encoding(dataset: xr.Dataset) -> dict[Any, dict[str, Any]]:
    """Compressed band variables with NaN as fill value; coordinates without fill value."""
    encoding: dict[Any, dict[str, Any]] = {}
    for name, variable in dataset.data_vars.items():
        if name != "crs":
            fill = {"_FillValue": np.nan} if variable.dtype.kind == "f" else {}
            encoding[name] = {"zlib": True, "complevel": 4, **fill}
    # CF coordinates have no missing values, so no fill value either.
    for name in ("x", "y"):
        if name in dataset.coords:
            encoding[name] = {"_FillValue": None}
    return encoding


def _cf_dataset(cube: RasterCube) -> xr.Dataset:
    """The cube as a CF dataset: variables per band, CF coordinates, a `crs` grid mapping."""
    array = cube.data.reset_coords(drop=True).drop_attrs()
    bands = cube.dimension_of_type(BANDS)
    georeferenced = cube.crs is not None and {"x", "y"} <= set(cube.dims)
    attrs = {"grid_mapping": "crs"} if georeferenced else {}
    if bands is None:
        variables = {NETCDF_SINGLE_VARIABLE: array.assign_attrs(attrs)}
    else:
        variables = {
            str(label): array.isel({bands: index}, drop=True).assign_attrs(attrs)
            for index, label in enumerate(_labels(array, bands))
        }
    dataset = xr.Dataset(variables, attrs={"Conventions": "CF-1.8"})
    time = cube.dimension_of_type(TEMPORAL)
    if time is not None:
        dataset = _with_coordinate_attrs(dataset, time, {"standard_name": "time", "axis": "T"})
    if georeferenced:
        crs = pyproj.CRS(cube.crs)
        for axis in crs.cs_to_cf():
            dataset = _with_coordinate_attrs(dataset, axis["axis"].lower(), axis)
        dataset["crs"] = xr.DataArray(
            np.int32(0), attrs=crs.to_cf() | {"spatial_ref": crs.to_wkt()}
        )
    return dataset


def _with_coordinate_attrs(dataset: xr.Dataset, name: str, attrs: dict[str, Any]) -> xr.Dataset:
    # A new coordinate, since the dataset may share its variables with the saved cube.
    return dataset.assign_coords({name: dataset[name].assign_attrs(attrs)})


# ---------------------------------------------------------------- JSON


def write_json(data: Any, options: Mapping[str, Any], env: Environment) -> list[ResultFile]:
    """JSON: plain values as they are; a small raster cube as dimensions, CRS and nested data."""
    document = _jsonable(data)
    path = _free_path(env, "result", ".json")
    path.write_text(json.dumps(document, allow_nan=False))
    return [ResultFile(path, JSON_MEDIA_TYPE)]


def _jsonable(value: Any) -> Any:
    """`value` as JSON values: NaN and infinities as null, numpy values as Python values."""
    if isinstance(value, RasterCube | xr.DataArray):
        return _cube_document(_raster_cube(value, "JSON"))
    if isinstance(value, VectorCube):
        return vector_document(value)
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return _json_values(value)
    if isinstance(value, np.datetime64):
        return format_datetime(value)
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int):
        return value
    raise _unsuitable(f"JSON cannot hold {_kind(value)}.")


def _cube_document(cube: RasterCube) -> dict[str, Any]:
    """`{"dimensions": {name: {"type", "labels"}}, "crs", "data"}`, data nested as listed."""
    if cube.pixel_count > JSON_MAX_VALUES:
        raise _unsuitable(
            f"the cube has {cube.pixel_count} values, JSON at most {JSON_MAX_VALUES}; "
            "use GTiff or netCDF, or reduce the cube first."
        )
    dimensions = {
        dim: {"type": cube.dimension_types.get(dim, OTHER), "labels": _labels(cube.data, dim)}
        for dim in cube.dims
    }
    values = cube.data.compute(scheduler="threads").values
    return {"dimensions": dimensions, "crs": cube.crs, "data": _json_values(values)}


def _json_values(values: np.ndarray) -> Any:
    """Nested lists of Python values; non-finite floats as None."""
    if values.dtype.kind == "M":
        return np.vectorize(format_datetime, otypes=[object])(values).tolist()
    if values.dtype.kind != "f":
        return values.tolist()
    objects = values.astype(object)
    objects[~np.isfinite(values)] = None
    return objects.tolist()


# ---------------------------------------------------------------- PNG


def write_png(data: Any, options: Mapping[str, Any], env: Environment) -> list[ResultFile]:
    """PNG: an 8-bit grayscale (1 band) or RGB (3 bands) preview, 0 transparent for no-data."""
    planes = _png_planes(_raster_cube(data, "PNG"))
    low, high = options["min"], options["max"]
    if low is not None and high is not None and low >= high:
        raise _invalid_options("the PNG option min must be less than max.")
    values = planes.data.compute(scheduler="threads").values.astype(np.float64)
    if planes.bands is None:
        values = values[None]
    low, high = _stretch_range(values, low, high)
    pixels = _stretch(values, low, high)
    path = _free_path(env, "result", ".png")
    profile = {
        "driver": "GTiff",
        "width": pixels.shape[2],
        "height": pixels.shape[1],
        "count": pixels.shape[0],
        "dtype": "uint8",
        "nodata": 0,
        "crs": planes.cube.crs,
        "transform": _geotransform(planes.data, "PNG"),
    }
    # PNG cannot hold georeferencing; without PAM, GDAL writes no .aux.xml beside it.
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), MemoryFile() as memory:
        with memory.open(**profile) as draft:
            draft.write(pixels)
            rasterio.shutil.copy(draft, path, driver="PNG")
    return [ResultFile(path, PNG_MEDIA_TYPE)]


def _png_planes(cube: RasterCube) -> Planes:
    """The cube as one image of 1 or 3 bands; ProcessParameterInvalid otherwise."""
    planes = _planes(cube, "PNG")
    data = planes.data
    if planes.time is not None:
        if data.sizes[planes.time] > 1:
            raise _unsuitable(
                f"PNG holds one image, the cube has {data.sizes[planes.time]} dates; reduce "
                "the temporal dimension first (reduce_dimension) or use GTiff."
            )
        data = data.isel({planes.time: 0}, drop=True)
    count = 1 if planes.bands is None else data.sizes[planes.bands]
    if count not in (1, 3):
        raise _unsuitable(
            f"PNG holds 1 band (grayscale) or 3 (RGB), the cube has {count}; "
            "filter_bands to 1 or 3 bands, or use GTiff."
        )
    return Planes(cube, data, None, planes.bands)


def _stretch_range(
    values: np.ndarray, low: float | None, high: float | None
) -> tuple[float, float]:
    """The options' range, else the 2nd and 98th percentile of the finite values."""
    if low is not None and high is not None:
        return low, high
    finite = values[np.isfinite(values)]
    # Without a finite value every pixel is transparent, whatever the range.
    percentiles = np.percentile(finite, PNG_PERCENTILES) if finite.size else (0.0, 1.0)
    return (
        float(percentiles[0]) if low is None else low,
        float(percentiles[1]) if high is None else high,
    )


def _stretch(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """(bands, y, x) values mapped linearly from [low, high] onto 1..255; 0 where any is missing."""
    span = high - low if high > low else 1.0
    pixels = 1 + np.clip((values - low) / span, 0.0, 1.0) * 254
    # tRNS marks one colour transparent, so a pixel is no-data in every band or in none.
    missing = ~np.isfinite(values).all(axis=0)
    pixels[:, missing] = 0
    return np.rint(pixels).astype(np.uint8)


# ---------------------------------------------------------------- vector cubes


def _vector_cube(data: Any, format_name: str) -> VectorCube:
    """`data` as a VectorCube; FormatUnsuitable (ProcessParameterInvalid) for anything else."""
    if isinstance(data, VectorCube):
        return data
    raise _unsuitable(
        f"{format_name} holds vector data cubes (e.g. of aggregate_spatial), not "
        f"{'raster data cubes' if isinstance(data, RasterCube | xr.DataArray) else _kind(data)}; "
        "use GTiff, netCDF or JSON."
    )


def _vector_writer(
    format_name: str, suffix: str, media_type: str, write: Callable[[VectorCube, Path], None]
) -> Writer:
    def write_vector(data: Any, options: Mapping[str, Any], env: Environment) -> list[ResultFile]:
        path = _free_path(env, "result", suffix)
        write(_vector_cube(data, format_name), path)
        return [ResultFile(path, media_type)]

    return write_vector


# ---------------------------------------------------------------- the formats


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _is_number_or_null(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_datatype_or_null(value: Any) -> bool:
    return value is None or value in GTIFF_DATATYPES


def _kind(value: Any) -> str:
    return "a callback" if callable(value) else f"a {type(value).__name__}"


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
        OutputFormat("JSON", write_json),
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
