"""The files of raster data cubes: GTiff (COG), netCDF (CF), JSON and PNG.

A cube is computed once per file set: GTiff streams every band plane of every file
through one `dask.array.store` into uncompressed tiled drafts (memory stays at a few
chunks), gathering each band's statistics on the way, that GDAL's COG driver then
compresses; netCDF lets xarray stream its variables
the same way; JSON and PNG hold small results, computed in memory. Each writer takes
`save_result`'s data and checked options (`eoplex_executor.processes.saving`), writes into
the environment's scratch directory and returns the files it wrote; data a format cannot
hold is `FormatUnsuitable` (save_result's exception, parameter `format`).

Labels need not be band names and dates: apply_dimension enumerates them (0..n-1) when a
process changes their number, rename_labels sets numbers or any strings. Every format writes
them: GTiff band descriptions and per-date file names hold them as text (file names without
path separators), netCDF names a variable after each band label and refuses only the labels
netCDF cannot take as a name, JSON keeps them as JSON values. Temporal labels that are date
strings are read as instants; only instants give a file a `datetime` or netCDF a CF time axis.
"""

import json
import math
import re
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
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

from eoplex_common.errors import FormatUnsuitable, ProcessParameterInvalid
from eoplex_executor.engine.cube import (
    BANDS,
    DIMENSION_ORDER,
    OTHER,
    SPATIAL,
    TEMPORAL,
    RasterCube,
    VectorCube,
    format_datetime,
    label_values,
    parse_datetime,
)
from eoplex_executor.engine.environment import Environment, ResultFile
from eoplex_executor.io.vector_formats import (
    timeseries_dimensions,
    timeseries_document,
    vector_document,
)

GTIFF_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
NETCDF_MEDIA_TYPE = "application/x-netcdf"
JSON_MEDIA_TYPE = "application/json"
PNG_MEDIA_TYPE = "image/png"

# The pixel types the GTiff option `datatype` offers.
GTIFF_DATATYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64")
# The layouts of JSON documents (option `layout`): see `json_layout`.
JSON_LAYOUTS = ("cube", "timeseries")
# More values than this make a JSON document too large to be useful: GTiff or netCDF then.
JSON_MAX_VALUES = 1_000_000
# The variable holding a cube without bands dimension in netCDF.
NETCDF_SINGLE_VARIABLE = "data"
PNG_PERCENTILES = (2.0, 98.0)
BLOCK_SIZE = 512
# netCDF names (NC_MAX_NAME, in UTF-8 bytes): a first character that is a letter, digit, "_" or
# beyond ASCII, then anything but "/" and control characters, no trailing white space.
NETCDF_MAX_NAME = 256
NETCDF_NAME = re.compile(r"[A-Za-z0-9_\x80-\U0010ffff][^/\x00-\x1f\x7f]*(?<!\s)")
# A temporal label given as a string (rename_labels) that is an RFC 3339 date or date-time.
DATE_LABEL = re.compile(
    r"\d{4}-\d{2}(-\d{2}([Tt]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})?)?)?"
)
# The longest part of a file name taken from a temporal label.
FILE_LABEL_MAX = 64

# The dimension types of a bare DataArray, guessed from the conventional names.
CONVENTIONAL_TYPES = {"t": TEMPORAL, "bands": BANDS, "y": SPATIAL, "x": SPATIAL}


def invalid_options(reason: str) -> ProcessParameterInvalid:
    """An option value of save_result that its format refuses."""
    return ProcessParameterInvalid(process="save_result", parameter="options", reason=reason)


def _unsuitable(reason: str) -> FormatUnsuitable:
    """Data the format cannot hold: `FormatUnsuitable`, the exception save_result's
    specification declares, with its message."""
    return FormatUnsuitable(process="save_result", parameter="format", reason=reason)


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


def as_raster_cube(data: Any, format_name: str) -> RasterCube:
    """`data` as a RasterCube (a bare DataArray wrapped, without CRS), its temporal labels
    that are date strings as instants."""
    if isinstance(data, RasterCube):
        return _with_instants(data)
    if isinstance(data, xr.DataArray):
        types = {str(dim): CONVENTIONAL_TYPES.get(str(dim), OTHER) for dim in data.dims}
        return _with_instants(RasterCube(data=data, crs=None, dimension_types=types))
    if isinstance(data, VectorCube):
        raise _unsuitable(
            f"{format_name} holds raster data cubes, not vector data cubes; use GeoJSON, CSV, "
            "Parquet or JSON."
        )
    raise _unsuitable(f"{format_name} holds raster data cubes, not {_kind(data)}; use JSON.")


def _with_instants(cube: RasterCube) -> RasterCube:
    """`cube` with the labels of its temporal dimensions as instants when every label is a
    date (rename_labels of enumerated labels gives strings), so files date them."""
    for dimension in cube.dimensions_of_type(TEMPORAL):
        if dimension not in cube.data.coords or _is_dated(cube.data, dimension):
            continue
        instants = [_instant(label) for label in _labels(cube.data, dimension)]
        if instants and all(instant is not None for instant in instants):
            labels = np.array(instants, dtype="datetime64[ns]")
            cube = cube.with_data(cube.data.assign_coords({dimension: labels}))
    return cube


def _instant(label: Any) -> np.datetime64 | None:
    """A label that is an RFC 3339 date or date-time string as an instant, else None."""
    if not isinstance(label, str) or not DATE_LABEL.fullmatch(label):
        return None
    try:
        instant = parse_datetime(label)
    except ValueError:
        return None
    # datetime64[ns] wraps around beyond the years 1677-2262 instead of failing.
    year = instant.astype("datetime64[Y]").astype(int) + 1970
    return instant if abs(year - int(label[:4])) <= 1 else None


def _is_dated(data: xr.DataArray | xr.Dataset, dimension: str | None) -> bool:
    """Whether the labels of `dimension` are instants."""
    return dimension in data.coords and np.issubdtype(data.coords[dimension].dtype, np.datetime64)


def image_planes(cube: RasterCube, format_name: str) -> Planes:
    """`cube` as (time?, bands?, y, x) planes; FormatUnsuitable for other dimensions
    and for x or y labels that are no coordinates."""
    time = cube.dimension_of_type(TEMPORAL)
    bands = cube.dimension_of_type(BANDS)
    if not {"x", "y"} <= set(cube.dims):
        raise _unsuitable(
            f"{format_name} needs the spatial dimensions x and y; use JSON or netCDF."
        )
    for axis in ("x", "y"):
        if axis in cube.data.coords and cube.data.coords[axis].dtype.kind not in "iuf":
            raise _unsuitable(
                f"{format_name} places pixels by the labels of {axis}, which are no numbers "
                f"({_labels(cube.data, axis)[0]!r:.40}); use netCDF or JSON."
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


def free_path(env: Environment, stem: str, suffix: str) -> Path:
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


@dataclass
class BandStatistics:
    """Minimum, maximum, mean and standard deviation of a band's valid values, gathered
    block by block as they are written (Chan's parallel variance), so no second read is
    needed. Valid values are finite and not the no-data value."""

    pixels: int = 0
    count: int = 0
    mean: float = 0.0
    squares: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf

    def add(self, block: np.ndarray, nodata: float | None) -> None:
        """Take the values of one more block into account."""
        self.pixels += block.size
        values = block.astype(np.float64, copy=False)
        valid = np.isfinite(values)
        if nodata is not None and not math.isnan(nodata):
            valid &= values != nodata
        values = values[valid]
        if not values.size:
            return
        mean = float(values.mean())
        squares = float(np.square(values - mean).sum())
        count = self.count + values.size
        delta = mean - self.mean
        self.squares += squares + delta * delta * self.count * values.size / count
        self.mean += delta * values.size / count
        self.count = count
        self.minimum = min(self.minimum, float(values.min()))
        self.maximum = max(self.maximum, float(values.max()))

    def stac_statistics(self) -> dict[str, Any]:
        """`{"statistics": {...}}` as the STAC raster extension spells it; empty without a
        valid value."""
        if not self.count:
            return {}
        return {
            "statistics": {
                "minimum": self.minimum,
                "maximum": self.maximum,
                "mean": self.mean,
                "stddev": math.sqrt(self.squares / self.count),
                "valid_percent": round(100 * self.count / self.pixels, 6),
            }
        }

    def gdal_tags(self) -> dict[str, str]:
        """The band metadata GDAL and viewers read (`gdalinfo -stats` writes the same); none
        without a valid value."""
        described = self.stac_statistics().get("statistics", {})
        return {f"STATISTICS_{name.upper()}": repr(value) for name, value in described.items()}


class BandTarget:
    """A `dask.array.store` target writing the 2-D blocks it receives into one band, and
    gathering the band's statistics on the way."""

    def __init__(self, dataset: DatasetWriter, band: int) -> None:
        self.dataset = dataset
        self.band = band
        self.statistics = BandStatistics()

    def __setitem__(self, key: tuple[slice, slice], block: np.ndarray) -> None:
        rows, cols = key
        self.dataset.write(block, self.band, window=Window.from_slices(rows, cols))
        self.statistics.add(block, self.dataset.nodata)


def write_gtiff(data: Any, options: Mapping[str, Any], env: Environment) -> list[ResultFile]:
    """GTiff: Cloud-Optimized GeoTIFFs; one per date unless `env.limits.single_file`. Every
    band carries its statistics (`STATISTICS_MINIMUM`, ...), so viewers stretch its values."""
    planes = image_planes(as_raster_cube(data, "GTiff"), "GTiff")
    source = np.dtype(planes.data.dtype)
    target = gtiff_datatype(source, options["datatype"])
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
    statistics = _write_cogs(files, profile, overviews=options["overviews"])
    return [
        ResultFile(
            file.path,
            GTIFF_MEDIA_TYPE,
            properties={**file.properties, "raster:bands": _raster_bands(bands, target, nodata)},
        )
        for file, bands in zip(files, statistics, strict=True)
    ]


def _raster_bands(
    statistics: list[BandStatistics], target: np.dtype, nodata: float | None
) -> list[dict[str, Any]]:
    """The STAC raster extension's `raster:bands` of a file: each band's data type, no-data
    (NaN spelt "nan", since JSON has no NaN) and statistics (none without a valid value)."""
    described = {} if nodata is None else {"nodata": "nan" if math.isnan(nodata) else nodata}
    return [
        {"data_type": target.name, **described, **band.stac_statistics()} for band in statistics
    ]


def _single_gtiff(planes: Planes, values: dask.array.Array, env: Environment) -> GTiffFile:
    """One file whose bands are every (date, band) pair, date-major."""
    dated = _is_dated(planes.data, planes.time)
    bands = [
        _gtiff_band(values[i, j], time, band, dated=dated, with_time=True)
        for i, time in enumerate(planes.labels(planes.time))
        for j, band in enumerate(planes.labels(planes.bands))
    ]
    return GTiffFile(free_path(env, "result", ".tif"), bands, {})


def _gtiff_per_date(planes: Planes, values: dask.array.Array, env: Environment) -> list[GTiffFile]:
    """One file per temporal label, named by it; dated by it when it is a date."""
    dated = _is_dated(planes.data, planes.time)
    files = []
    for i, time in enumerate(planes.labels(planes.time)):
        bands = [
            _gtiff_band(values[i, j], time, band, dated=dated, with_time=False)
            for j, band in enumerate(planes.labels(planes.bands))
        ]
        path = free_path(env, f"result_{_file_label(time)}", ".tif")
        files.append(GTiffFile(path, bands, {"datetime": time} if dated else {}))
    return files


def _gtiff_band(
    plane: dask.array.Array, time: Any, band: Any, *, dated: bool, with_time: bool
) -> GTiffBand:
    """A band described by its labels (any type, as text), tagged with its date if it has one."""
    words = [str(label) for label in (time if with_time else None, band) if label is not None]
    tags = {"datetime": time} if dated else {}
    return GTiffBand(plane, " ".join(words), tags)


def _file_label(label: Any) -> str:
    """A temporal label as part of a file name: no path separators (rename_labels lets users
    choose any string), ":" as "-", bounded in length."""
    text = re.sub(r"[^\w.-]+", "_", str(label).replace(":", "-"), flags=re.ASCII)
    return text[:FILE_LABEL_MAX]


def _write_cogs(
    files: list[GTiffFile], profile: dict[str, Any], *, overviews: bool
) -> list[list[BandStatistics]]:
    """Stream every band of every file into tiled drafts at once, then make them COGs; the
    statistics of each file's bands."""
    drafts = [file.path.with_name(f".{file.path.name}.draft") for file in files]
    try:
        with ExitStack() as stack:
            sources: list[dask.array.Array] = []
            targets: list[Any] = []  # dask types its targets as arrays, not as item setters
            statistics: list[list[BandStatistics]] = []
            for file, draft in zip(files, drafts, strict=True):
                dataset = stack.enter_context(_open_draft(draft, profile, file.bands))
                file_targets = [
                    BandTarget(dataset, index) for index in range(1, len(file.bands) + 1)
                ]
                sources.extend(band.plane for band in file.bands)
                targets.extend(file_targets)
                statistics.append([target.statistics for target in file_targets])
            # One store: what the planes share upstream (a loaded band) is computed once.
            # The lock also serialises the targets' statistics.
            dask.array.store(sources, targets, lock=True, scheduler="threads")
            for target in targets:
                target.dataset.update_tags(target.band, **target.statistics.gdal_tags())
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
    return statistics


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


def gtiff_datatype(source: np.dtype, chosen: str | None) -> np.dtype:
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
    dataset = _cf_dataset(as_raster_cube(data, "netCDF"))
    path = free_path(env, "result", ".nc")
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
    array = _with_typed_labels(cube.data.reset_coords(drop=True).drop_attrs())
    bands = cube.dimension_of_type(BANDS)
    georeferenced = _netcdf_georeferenced(cube)
    attrs = {"grid_mapping": "crs"} if georeferenced else {}
    names = netcdf_variable_names(cube)
    if bands is None:
        variables = {NETCDF_SINGLE_VARIABLE: array.assign_attrs(attrs)}
    else:
        variables = {
            name: array.isel({bands: index}, drop=True).assign_attrs(attrs)
            for index, name in enumerate(names)
        }
    dataset = xr.Dataset(variables, attrs={"Conventions": "CF-1.8"})
    time = cube.dimension_of_type(TEMPORAL)
    # Without dates (apply_dimension enumerates labels), the dimension is no CF time axis.
    if time is not None and _is_dated(dataset, time):
        dataset = _with_coordinate_attrs(dataset, time, {"standard_name": "time", "axis": "T"})
    if georeferenced:
        crs = pyproj.CRS(cube.crs)
        for axis in crs.cs_to_cf():
            dataset = _with_coordinate_attrs(dataset, axis["axis"].lower(), axis)
        dataset["crs"] = xr.DataArray(
            np.int32(0), attrs=crs.to_cf() | {"spatial_ref": crs.to_wkt()}
        )
    return dataset


def _netcdf_georeferenced(cube: RasterCube) -> bool:
    return cube.crs is not None and {"x", "y"} <= set(cube.dims)


def netcdf_variable_names(cube: RasterCube) -> list[str]:
    """The data variable names: each band's label as text, or `data` without bands.
    FormatUnsuitable for a label or dimension name that netCDF cannot take, or a name
    two variables would have (a band called like a dimension or the `crs` grid mapping would
    replace it)."""
    bands = cube.dimension_of_type(BANDS)
    dimensions = [str(dim) for dim in cube.dims if dim != bands]
    for dimension in dimensions:
        _check_netcdf_name(dimension, "dimension")
    if bands is None:
        names = [NETCDF_SINGLE_VARIABLE]
    else:
        names = [str(label) for label in _labels(cube.data, bands)]
    taken = set(dimensions)
    for name in [*(["crs"] if _netcdf_georeferenced(cube) else []), *names]:
        _check_netcdf_name(name, "band label")
        if name in taken:
            raise _unsuitable(
                f"netCDF names a variable after each band label (`data` without bands) and "
                f"the grid mapping `crs`; {name!r} names two of them or a dimension: "
                "rename_labels or rename_dimension first, or use GTiff."
            )
        taken.add(name)
    return names


def _check_netcdf_name(name: str, what: str) -> None:
    if len(name.encode()) > NETCDF_MAX_NAME:
        raise _unsuitable(
            f"netCDF names are at most {NETCDF_MAX_NAME} bytes long, the {what} {name!r:.40}... "
            "is longer; rename_labels or rename_dimension first, or use GTiff."
        )
    if not NETCDF_NAME.fullmatch(name):
        raise _unsuitable(
            f"netCDF cannot name a variable or dimension {name!r} (the {what}): a name starts "
            "with a letter, digit or _, has no / or control characters and does not end in "
            "white space; rename_labels or rename_dimension first, or use GTiff."
        )


def _with_typed_labels(array: xr.DataArray) -> xr.DataArray:
    """`array` with labels of mixed types (numbers and strings) as strings, which netCDF can
    store."""
    mixed = {
        dim: [str(label) for label in _labels(array, str(dim))]
        for dim in array.dims
        if dim in array.coords and array.coords[dim].dtype == object
    }
    return array.assign_coords(mixed) if mixed else array


def _with_coordinate_attrs(dataset: xr.Dataset, name: str, attrs: dict[str, Any]) -> xr.Dataset:
    # A new coordinate, since the dataset may share its variables with the saved cube.
    return dataset.assign_coords({name: dataset[name].assign_attrs(attrs)})


# ---------------------------------------------------------------- JSON


def write_json(data: Any, options: Mapping[str, Any], env: Environment) -> list[ResultFile]:
    """JSON: plain values as they are; a small raster cube as dimensions, CRS and nested data;
    a vector cube the same way, or as a time series (`json_layout`)."""
    document = timeseries_document(data) if json_layout(data, options) == "timeseries" else None
    document = jsonable(data) if document is None else document
    path = free_path(env, "result", ".json")
    path.write_text(json.dumps(document, allow_nan=False))
    return [ResultFile(path, JSON_MEDIA_TYPE)]


def json_layout(data: Any, options: Mapping[str, Any]) -> str:
    """The JSON option `layout`: `timeseries` for a vector cube that is a time series
    (`timeseries_dimensions`) unless `cube` is chosen, else `cube`. ProcessParameterInvalid
    (`options`) when `timeseries` is chosen for other data."""
    chosen = options["layout"]
    series = isinstance(data, VectorCube) and timeseries_dimensions(data) is not None
    if chosen == "timeseries" and not series:
        raise invalid_options(
            "the JSON layout timeseries holds vector data cubes with a temporal dimension and "
            "at most one other besides geometry (e.g. aggregate_spatial of a cube with t and "
            "bands); use the layout cube."
        )
    return chosen or ("timeseries" if series else "cube")


def jsonable(value: Any) -> Any:
    """`value` as JSON values: NaN and infinities as null, numpy values as Python values."""
    if isinstance(value, RasterCube | xr.DataArray):
        return _cube_document(as_raster_cube(value, "JSON"))
    if isinstance(value, VectorCube):
        return vector_document(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return _json_values(value)
    if isinstance(value, np.datetime64):
        return format_datetime(value)
    if isinstance(value, np.generic):
        return jsonable(value.item())
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
        dim: {
            "type": cube.dimension_types.get(dim, OTHER),
            "labels": jsonable(_labels(cube.data, dim)),
        }
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
    """PNG: an 8-bit grayscale (1 band) or RGB (3 bands) preview, 0 transparent for no-data.
    Values that are bytes already (`_are_bytes`) are written as they are; others, or any
    with the option `min` or `max`, are stretched onto 1..255."""
    planes = png_planes(as_raster_cube(data, "PNG"))
    low, high = options["min"], options["max"]
    if low is not None and high is not None and low >= high:
        raise invalid_options("the PNG option min must be less than max.")
    source = np.dtype(planes.data.dtype)
    values = planes.data.compute(scheduler="threads").values.astype(np.float64)
    if planes.bands is None:
        values = values[None]
    # tRNS marks one colour transparent, so a pixel is no-data in every band or in none.
    missing = np.asarray(~np.isfinite(values).all(axis=0))
    if low is None and high is None and _are_bytes(values, source):
        pixels = _as_bytes(values, missing)
    else:
        pixels = _stretch(values, *_stretch_range(values, low, high), missing)
    path = free_path(env, "result", ".png")
    profile = {
        "driver": "GTiff",
        "width": pixels.shape[2],
        "height": pixels.shape[1],
        "count": pixels.shape[0],
        "dtype": "uint8",
        "nodata": 0 if missing.any() else None,
        "crs": planes.cube.crs,
        "transform": _geotransform(planes.data, "PNG"),
    }
    # PNG cannot hold georeferencing; without PAM, GDAL writes no .aux.xml beside it.
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), MemoryFile() as memory:
        with memory.open(**profile) as draft:
            draft.write(pixels)
            rasterio.shutil.copy(draft, path, driver="PNG")
    return [ResultFile(path, PNG_MEDIA_TYPE)]


def png_planes(cube: RasterCube) -> Planes:
    """The cube as one image of 1 or 3 bands; FormatUnsuitable otherwise."""
    planes = image_planes(cube, "PNG")
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


def _are_bytes(values: np.ndarray, source: np.dtype) -> bool:
    """Whether the values are already 8-bit colours, which PNG writes as they are: a uint8
    cube, or values that all lie within 0..255 with some above 1 (e.g. of
    `linear_scale_range` onto 0..255; values within 0..1, such as reflectances, are
    stretched)."""
    if source == np.uint8:
        return True
    finite = values[np.isfinite(values)]
    return bool(finite.size) and finite.min() >= 0 and 1 < finite.max() <= 255


def _as_bytes(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """(bands, y, x) values rounded to bytes; 0 where any is missing, valid zeros then 1."""
    pixels = np.rint(np.nan_to_num(values, nan=0.0))
    if missing.any():
        pixels = np.maximum(pixels, 1)
        pixels[:, missing] = 0
    return pixels.astype(np.uint8)


def _stretch(values: np.ndarray, low: float, high: float, missing: np.ndarray) -> np.ndarray:
    """(bands, y, x) values mapped linearly from [low, high] onto 1..255; 0 where any is missing."""
    span = high - low if high > low else 1.0
    pixels = 1 + np.clip((values - low) / span, 0.0, 1.0) * 254
    pixels[:, missing] = 0
    return np.rint(pixels).astype(np.uint8)


# ---------------------------------------------------------------- vector cubes


def as_vector_cube(data: Any, format_name: str) -> VectorCube:
    """`data` as a VectorCube; FormatUnsuitable for anything else."""
    if isinstance(data, VectorCube):
        return data
    raise _unsuitable(
        f"{format_name} holds vector data cubes (e.g. of aggregate_spatial), not "
        f"{'raster data cubes' if isinstance(data, RasterCube | xr.DataArray) else _kind(data)}; "
        "use GTiff, netCDF or JSON."
    )


def _kind(value: Any) -> str:
    return "a callback" if callable(value) else f"a {type(value).__name__}"
