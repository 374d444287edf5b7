"""Reading Cloud-Optimized GeoTIFFs (and any raster GDAL opens) into lazy raster cubes.

A cube lies on a `PixelGrid` (CRS, top-left corner, square pixels). Every (date, band)
plane is split into chunks of 1024 rows and up to 2048 columns (`chunk_shape`); a chunk
task opens the `Source`s of its date and band and reads only the window it needs:
directly when a file lies on the cube's grid, through a `WarpedVRT` (which uses overviews
when it can) when it does not. Sources of one date are mosaicked, first valid pixel
first, each one's values scaled first (`value * scale + offset`). A source may carry GDAL
options (set for the reading thread only) and a URL signer (called when the chunk task
reads). Values become float (see `eoplex_executor.engine.cube`): integer bands of up to
16 bits float32, wider ones float64, no-data NaN. load_collection and load_stac build
their cubes here (`cube_from_sources`); load_uploaded_files reads an uploaded GeoTIFF
(`read_geotiff`).
"""

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dask.array
import numpy as np
import rasterio
import rasterio.session
import xarray as xr
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError, RasterioIOError
from rasterio.transform import Affine
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from eoplex_common.errors import ProcessParameterInvalid, UpstreamUnavailable
from eoplex_executor.engine.cube import BANDS, SPATIAL, TEMPORAL, RasterCube, format_datetime
from eoplex_executor.engine.environment import Environment
from eoplex_executor.engine.pixel_meter import count_read
from eoplex_executor.geo.geometry import crs_name

# A chunk of a plane: `CHUNK` rows (a multiple of the usual COG tile heights, 256 to 1024)
# of the full width up to `CHUNK_COLUMNS`, at most 2 Mi pixels (8 MiB of float32). A COG
# stores its tiles row by row, so over HTTP the window of whole rows of tiles is one byte
# range (`GDAL_HTTP_MERGE_CONSECUTIVE_RANGES`), where a square window of a wider file is
# one range per row of tiles: a request, and its latency, each.
CHUNK = 1024
CHUNK_COLUMNS = 2048
# Data types whose values float32 holds exactly.
FLOAT32_EXACT = {"uint8", "int8", "uint16", "int16", "float16", "float32"}


@dataclass(frozen=True)
class PixelGrid:
    """The grid a cube's windows are read on: CRS, top-left corner, the side of its square
    pixels and its size. A cube's grid as its labels say is
    `eoplex_executor.processes.resampling.CubeGrid`."""

    crs: str
    west: float
    north: float
    resolution: float
    width: int
    height: int

    def transform(self, row: int = 0, col: int = 0) -> Affine:
        """The affine transform of the grid's pixel (row, col) as a window's origin."""
        return Affine(
            self.resolution,
            0.0,
            self.west + col * self.resolution,
            0.0,
            -self.resolution,
            self.north - row * self.resolution,
        )

    def x_centres(self) -> np.ndarray:
        return self.west + self.resolution * (np.arange(self.width) + 0.5)

    def y_centres(self) -> np.ndarray:
        return self.north - self.resolution * (np.arange(self.height) + 0.5)


@dataclass(frozen=True)
class Source:
    """One asset file and the grid its pixels lie on."""

    href: str
    crs: str
    transform: Affine
    nodata: float | None
    # The band of the file that holds the cube's band (1-based, as GDAL counts).
    band: int = 1
    # GDAL configuration to open it with, e.g. load_stac's `GDAL_HTTP_PROXY`.
    gdal_options: tuple[tuple[str, str], ...] = ()
    # The process that named the file, when a user did (load_stac): failing to read it
    # is then that process's ProcessParameterInvalid, not a fault of the back-end.
    named_by: str = ""
    # The values as the band means them: `value * scale + offset` (STAC `raster:bands`).
    scale: float = 1.0
    offset: float = 0.0
    # Turns the URL into the one to read, when the chunk task reads it (URL signing, whose
    # tokens expire); `href` is then the URL as `gdal_path` writes it.
    signer: Callable[[str], str] | None = None
    # The external collection whose provider serves the file: failing to read it is then
    # that provider's UpstreamUnavailable.
    collection: str = ""


def cube_from_sources(
    grid: PixelGrid,
    dates: np.ndarray,
    sources: list[list[list[Source]]],
    band_names: list[str],
    info: Mapping[str, Mapping[str, Any]],
    *,
    env: Environment,
    name: str,
) -> RasterCube:
    """The lazy cube (t, bands, y, x) on `grid` whose (date, band) planes mosaic `sources`
    (per date, per band), as load_collection and load_stac build it; the pixels it reads are
    counted against the execution's limits (`pixel_meter.count_read`)."""
    plane = len(dates) * grid.width * grid.height
    count_read(env, plane * len(band_names))
    env.bytes_read += plane * sum(_source_size(info[band]) for band in band_names)
    if len(dates):
        env.note_dates_read(format_datetime(dates.min()), format_datetime(dates.max()))
    dtype = np.dtype(_float_type(info, band_names))
    data = _lazy_planes(grid, sources, dtype)
    array = xr.DataArray(
        data,
        dims=("t", "bands", "y", "x"),
        coords={"t": dates, "bands": band_names, "y": grid.y_centres(), "x": grid.x_centres()},
        name=name,
    )
    types = {"t": TEMPORAL, "bands": BANDS, "y": SPATIAL, "x": SPATIAL}
    return RasterCube(data=array, crs=grid.crs, dimension_types=types)


def gdal_path(href: str) -> str:
    """`s3://bucket/key` -> `/vsis3/bucket/key`; URLs through `/vsicurl/`; paths as they are."""
    if href.startswith("s3://"):
        return "/vsis3/" + href.removeprefix("s3://")
    if href.startswith(("http://", "https://")):
        return "/vsicurl/" + href
    return href


def _float_type(info: Mapping[str, Mapping[str, Any]], bands: list[str]) -> str:
    exact = all(str(info[band]["data_type"]) in FLOAT32_EXACT for band in bands)
    return "float32" if exact else "float64"


def _source_size(info: Mapping[str, Any]) -> int:
    """Bytes of one pixel of a band in its source data type (8 for a type numpy lacks)."""
    try:
        return np.dtype(str(info["data_type"])).itemsize
    except TypeError:
        return 8


def _lazy_planes(grid: PixelGrid, sources: list[list[list[Source]]], dtype: np.dtype) -> Any:
    """A dask array (t, bands, y, x) whose chunks read their windows when computed."""
    shape = (len(sources), len(sources[0]), grid.height, grid.width)
    chunks = (1, 1, *chunk_shape(grid.height, grid.width))

    def read_block(block: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        (t, _), (b, _), (row0, row1), (col0, col1) = block_info[None]["array-location"]
        plane = read_window(grid, sources[t][b], row0, row1, col0, col1, dtype)
        return plane[np.newaxis, np.newaxis]

    template = dask.array.empty(shape, dtype=dtype, chunks=chunks)
    return dask.array.map_blocks(read_block, template, dtype=dtype, meta=np.empty((0,) * 4, dtype))


def chunk_shape(height: int, width: int) -> tuple[int, int]:
    """The (rows, columns) of the chunks of a plane of `height` x `width` pixels."""
    return min(CHUNK, height), min(CHUNK_COLUMNS, width)


def read_window(
    grid: PixelGrid,
    sources: list[Source],
    row0: int,
    row1: int,
    col0: int,
    col1: int,
    dtype: np.dtype,
) -> np.ndarray:
    """The grid's window [row0:row1, col0:col1] from `sources`, mosaicked, no-data as NaN."""
    shape = (row1 - row0, col1 - col0)
    out: np.ndarray | None = None
    for source in sources:
        path = source.href
        try:
            if source.signer is not None:
                path = gdal_path(source.signer(source.href.removeprefix("/vsicurl/")))
            with open_source(path, source.gdal_options) as dataset:
                values = _read_source(dataset, source, grid, row0, col0, shape)
        except RasterioError as error:
            raise _unreadable(source, path, error) from None
        if values is None:
            continue
        if out is None:
            # The first source fills the window as it is: no mosaic pass for one file.
            out = values.astype(dtype, copy=False)
            if len(sources) == 1:
                break
        else:
            np.copyto(out, values, where=np.isnan(out) & ~np.isnan(values))
        if not np.isnan(out).any():
            break
    return out if out is not None else np.full(shape, np.nan, dtype=dtype)


def _unreadable(source: Source, path: str, error: RasterioError) -> Exception:
    """The error of a file that cannot be read: the user's (load_stac), the provider's (an
    external collection) or the back-end's own (the error as it is). Signed URLs are named
    without their tokens."""
    href = source.href.removeprefix("/vsicurl/")
    reason = str(error).replace(path, source.href).replace(path.removeprefix("/vsicurl/"), href)
    if source.named_by:
        return ProcessParameterInvalid(
            process=source.named_by,
            parameter="url",
            reason=f"cannot read the asset {href}: {reason}",
        )
    if source.collection:
        return UpstreamUnavailable(
            upstream=provider_of(source.href),
            collection=source.collection,
            reason=f"cannot read the asset {href}: {reason}",
        )
    return error


def provider_of(href: str) -> str:
    """Who serves a file, as errors name it: `s3://bucket`, or the URL's host (and port),
    never a path, query or credentials."""
    if href.startswith("/vsis3/"):
        return "s3://" + href.removeprefix("/vsis3/").split("/", 1)[0]
    return url_host(href.removeprefix("/vsicurl/"))


def url_host(url: str) -> str:
    """The host (and port, if any) of a URL, as errors name a provider."""
    parts = urlsplit(url)
    host = parts.hostname or "the provider"
    return f"{host}:{parts.port}" if parts.port else host


@contextmanager
def open_source(href: str, gdal_options: tuple[tuple[str, str], ...] = ()) -> Iterator[Any]:
    """The dataset at `href`, opened with `gdal_options` set (for this thread only)."""
    with rasterio.Env(session=GdalOptions(gdal_options)) if gdal_options else nullcontext():
        with rasterio.open(href) as dataset:
            yield dataset


class GdalOptions(rasterio.session.Session):
    """A rasterio session that sets exactly the given GDAL options, credentials included.

    `rasterio.Env` refuses AWS credentials as options and, given none, takes the
    process environment's (the back-end's own S3 keys) into every read; a session of
    our own sets a collection's options as they are and nothing else."""

    def __init__(self, options: tuple[tuple[str, str], ...]) -> None:
        self._session = None
        self.options = dict(options)

    @classmethod
    def hascreds(cls, config: Mapping[str, Any]) -> bool:
        return True

    def get_credential_options(self) -> dict[str, str]:
        return dict(self.options)


def _read_source(
    dataset: Any, source: Source, grid: PixelGrid, row0: int, col0: int, shape: tuple[int, int]
) -> np.ndarray | None:
    """The source's values on the window as floats with NaN, or None when it does not cover it."""
    nodata = source.nodata if source.nodata is not None else dataset.nodata
    offset = _aligned_offset(dataset, grid, row0, col0)
    if offset is None:
        return _scaled(_read_warped(dataset, source.band, grid, row0, col0, shape, nodata), source)
    row_off, col_off = offset
    # Intersect the window with the file's extent and read only that part.
    top, left = max(row_off, 0), max(col_off, 0)
    bottom = min(row_off + shape[0], dataset.height)
    right = min(col_off + shape[1], dataset.width)
    if top >= bottom or left >= right:
        return None
    raw = dataset.read(source.band, window=Window(left, top, right - left, bottom - top))
    dtype = np.float64 if raw.dtype.itemsize > 2 else np.float32
    if raw.shape == shape:
        values = raw.astype(dtype)
        part = values
    else:
        values = np.full(shape, np.nan, dtype=dtype)
        part = values[top - row_off : bottom - row_off, left - col_off : right - col_off]
        part[...] = raw
    if nodata is not None and not math.isnan(nodata):
        part[raw == nodata] = np.nan
    return _scaled(values, source)


def _scaled(values: np.ndarray, source: Source) -> np.ndarray:
    """`values * scale + offset` in place (no-data stays NaN); nothing to do for most files."""
    if source.scale != 1.0:
        values *= source.scale
    if source.offset != 0.0:
        values += source.offset
    return values


def _aligned_offset(dataset: Any, grid: PixelGrid, row0: int, col0: int) -> tuple[int, int] | None:
    """(row, col) of the window's origin in the file when the file lies on the cube's grid."""
    transform = dataset.transform
    if dataset.crs is None or dataset.crs != CRS.from_user_input(grid.crs):
        return None
    if transform.b != 0 or transform.d != 0:
        return None
    if not (
        math.isclose(transform.a, grid.resolution) and math.isclose(-transform.e, grid.resolution)
    ):
        return None
    col = (grid.west + col0 * grid.resolution - transform.c) / grid.resolution
    row = (transform.f - (grid.north - row0 * grid.resolution)) / grid.resolution
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None
    return round(row), round(col)


def _read_warped(
    dataset: Any,
    band: int,
    grid: PixelGrid,
    row0: int,
    col0: int,
    shape: tuple[int, int],
    nodata: float | None,
) -> np.ndarray:
    """The window reprojected/resampled from a file on another grid (nearest neighbour)."""
    options: dict[str, Any] = {
        "crs": grid.crs,
        "transform": grid.transform(row0, col0),
        "width": shape[1],
        "height": shape[0],
        "resampling": Resampling.nearest,
        "dtype": "float64",
        "nodata": np.nan,
    }
    if nodata is not None:
        options["src_nodata"] = nodata
    with WarpedVRT(dataset, **options) as warped:
        values: np.ndarray = warped.read(band)
    return values


class UnreadableRaster(ValueError):
    """A file that is not a raster the reader can use; the message says why, in words that
    follow the file's name ("is not a GeoTIFF: ...")."""


def read_geotiff(file: Path, env: Environment) -> RasterCube:
    """A north-up GeoTIFF with a CRS as a (bands, y, x) cube; its data is read into memory
    once, counted against the execution's limits. UnreadableRaster for any other file."""
    try:
        with rasterio.open(file) as dataset:
            transform, crs, nodata = dataset.transform, dataset.crs, dataset.nodata
            if crs is None or transform.b != 0 or transform.d != 0 or transform.e >= 0:
                raise UnreadableRaster("is not a north-up GeoTIFF with a CRS")
            count_read(env, dataset.count * dataset.width * dataset.height)
            values = dataset.read()
            labels = [
                description or str(index + 1)
                for index, description in enumerate(dataset.descriptions)
            ]
    except RasterioIOError as error:
        raise UnreadableRaster(f"is not a GeoTIFF: {error}") from error
    small = values.dtype.itemsize <= 2 and values.dtype.kind in "iuf"
    floats = values.astype(np.float32 if small else np.float64)
    if nodata is not None and not math.isnan(nodata):
        floats[values == nodata] = np.nan
    rows, cols = np.arange(values.shape[1]) + 0.5, np.arange(values.shape[2]) + 0.5
    array = xr.DataArray(
        dask.array.from_array(floats, chunks=(1, *chunk_shape(*floats.shape[1:]))),
        dims=("bands", "y", "x"),
        coords={
            "bands": labels,
            "y": transform.f + transform.e * rows,
            "x": transform.c + transform.a * cols,
        },
    )
    types = {"bands": BANDS, "y": SPATIAL, "x": SPATIAL}
    return RasterCube(data=array, crs=crs_name(crs), dimension_types=types)
