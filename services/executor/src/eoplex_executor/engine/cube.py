"""The data the engine passes between processes, and the conventions every process follows.

Conventions (followed by every process implementation):

- **Raster data cubes** are `RasterCube`s: a lazy (dask-backed) `xarray.DataArray`
  plus the CRS of its spatial dimensions and the openEO type of every dimension.
  Dimensions are named as the collection advertises: `t` (temporal), `bands`,
  `y`, `x` (spatial), in that order; other dimensions keep the name they are given.
  Temporal labels are `datetime64[ns]` (UTC); band labels are strings.
- **Type promotion**: `load_collection` reads integer bands of up to 16 bits into
  float32 and wider integers into float64, so arithmetic whose openEO result is not
  an integer (NDVI on uint16 with red > nir, divisions, means) is computed in
  floating point and cannot wrap around. Comparisons and logic on cubes return
  boolean arrays.
- **No-data / null**: in a cube, no-data is NaN. Reducers skip NaN when
  `ignore_nodata` is true and return NaN when a NaN is present and it is false.
  A cube-level comparison or logical operation on no-data yields `false`, since
  boolean rasters cannot hold null; `is_valid`/`is_nodata` tell the two apart.
  On plain JSON values (scalars and arrays outside cubes) `null` follows each
  process's spec exactly.
- **Child processes** (callbacks) see, as `x` (apply) the cube's DataArray, and
  as `data` (reduce_dimension, apply_dimension, ...) a `DimensionArray`: every
  pixel's values along one dimension. Reducers reduce it along that dimension;
  `array_element` picks labels or indices from it.
- **Labels in array processes** on a `DimensionArray` (`processes/arrays.py`): its
  dimension labels are its array labels (`array_labels`, `array_find_label`; RFC 3339
  strings find temporal ones). Labels stay where values keep their label (`cumsum`,
  `array_interpolate_linear`, `array_apply`, a filter on index or label), move with
  them where all pixels move alike (`rearrange` with a JSON order), and become 0..n-1
  where each pixel moves differently (`sort`, `order`, a filter on values, which
  leaves a pixel's missing values as NaN at its end). Joining keeps labels only when
  both sides are DimensionArrays (`array_concat`, `array_modify`; a conflict is an
  error), `array_append` labels the new value `label` or its index. `apply_dimension`
  then keeps the cube's labels if the length is unchanged, else numbers them 0..n-1.
- **Vector data cubes** are `VectorCube`s (`eoplex_executor.geo.vector`): geometries (shapely)
  in one CRS (EPSG:4326 for GeoJSON), each with its Feature id and properties, and
  optional values, an `xarray.DataArray` whose first dimension is `geometry` (type
  `geometry`, coordinate 0..n-1 indexing the geometries) followed by the dimensions kept
  from a raster cube (`t`, `bands`, ...). `aggregate_spatial` makes them from raster cubes;
  processes taking GeoJSON geometries take a VectorCube too. A geometry that covers no
  pixel (or is empty) keeps its label and holds no-data.
- **Empty cubes** (a filter that leaves no label) are an error
  (`ProcessParameterInvalid` of the filter) rather than an empty file.
- **Scalar result types**: on JSON numbers, integer-valued processes (`ceil`, `floor`,
  `int`, `sgn`, `round` with `p <= 0`) return exact Python ints of any size (NaN and
  +-inf pass through as floats); floating processes (`sin`, `arcosh`, ...) return floats,
  also for JSON ints, and read an int beyond the float range as +-inf; `mod` of two ints
  is an exact int. On cube values the same processes keep float dtypes (float32 stays
  float32, NaN stays no-data), keep integer dtypes where the result is an integer, and
  compute in float64 only where a result needs it (trigonometry of ints, `mod` by 0,
  which is +-inf or NaN as its spec says). A boolean is never a JSON number
  (`ProcessParameterInvalid`); boolean cube values count as 0 and 1.
- **Logical reducers** (`all`, `any`) along a dimension give a boolean per pixel; a
  number counts as true when neither 0 nor NaN; an outcome that the spec makes null
  (`ignore_nodata` false) is false, like logic on no-data.
- **Text and dates** are JSON values only (cube values are numbers); temporal labels reach
  child processes as RFC 3339 strings. A date is midnight UTC; `date_shift` keeps the form
  (a date stays a date) and the offset it was given; a leap second (`:60`) reads as the
  second before it.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import shapely
import xarray as xr
from shapely.geometry.base import BaseGeometry

SPATIAL, TEMPORAL, BANDS, OTHER = "spatial", "temporal", "bands", "other"
DIMENSION_ORDER = ("t", "bands", "y", "x")
# The most elements a process may create in an array (`array_create`'s repeat, the
# q-quantiles of `quantiles`): beyond, the request could only run out of memory.
MAX_ARRAY_LENGTH = 10_000_000


@dataclass(frozen=True)
class RasterCube:
    """An openEO raster data cube: labelled array, CRS and dimension types."""

    data: xr.DataArray
    crs: str | None
    dimension_types: Mapping[str, str] = field(default_factory=dict)

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(str(dim) for dim in self.data.dims)

    def dimension_of_type(self, kind: str) -> str | None:
        """The first dimension of `kind` (e.g. TEMPORAL), or None."""
        return next((dim for dim in self.dims if self.dimension_types.get(dim) == kind), None)

    def dimensions_of_type(self, kind: str) -> list[str]:
        """Every dimension of `kind`."""
        return [dim for dim in self.dims if self.dimension_types.get(dim) == kind]

    def labels(self, dimension: str) -> list[Any]:
        """The labels of `dimension` as Python values (ISO strings for time)."""
        return label_values(self.data.coords[dimension].values)

    def with_data(self, data: xr.DataArray, **changes: Any) -> "RasterCube":
        """The same cube metadata around new data; dimension types of dropped dims are dropped."""
        types = changes.pop("dimension_types", self.dimension_types)
        kept = {str(dim): types[dim] for dim in data.dims if dim in types}
        return replace(self, data=data, dimension_types=kept, **changes)

    @property
    def pixel_count(self) -> int:
        """The number of values in the cube."""
        return int(np.prod([self.data.sizes[dim] for dim in self.data.dims], dtype=np.int64))


@dataclass(frozen=True)
class DimensionArray:
    """The `data` of a child process: every pixel's values along `dimension`."""

    data: xr.DataArray
    dimension: str

    def labels(self) -> list[Any]:
        return label_values(self.data.coords[self.dimension].values)


def label_values(values: np.ndarray) -> list[Any]:
    """Labels as JSON-friendly Python values; datetimes as RFC 3339 strings."""
    if np.issubdtype(values.dtype, np.datetime64):
        return [format_datetime(value) for value in values]
    return [value.item() if isinstance(value, np.generic) else value for value in values]


def format_datetime(value: np.datetime64) -> str:
    """`2022-06-01T00:00:00Z` for a datetime64 label."""
    return str(np.datetime_as_string(value, unit="s")) + "Z"


def parse_datetime(value: str) -> np.datetime64:
    """A datetime64[ns] (UTC, naive) for an RFC 3339 date or date-time string."""
    text = value.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1]
    elif len(text) > 19 and text[-6] in "+-":
        instant = np.datetime64(text[:-6], "ns")
        sign = 1 if text[-6] == "+" else -1
        hours, minutes = int(text[-5:-3]), int(text[-2:])
        return instant - sign * np.timedelta64(hours * 60 + minutes, "m")
    return np.datetime64(text, "ns")


def is_raster_cube(value: Any) -> bool:
    return isinstance(value, RasterCube)


def replaced_where(array: xr.DataArray, keep: xr.DataArray, replacement: float) -> xr.DataArray:
    """`array` where `keep` is true, `replacement` elsewhere, in a data type holding both: a
    replacement beyond the array's range (1e308 in float32, -1 in uint16) widens the array
    instead of overflowing."""
    dtype = np.result_type(array.dtype, np.min_scalar_type(replacement))
    if dtype.kind == "O":  # an integer beyond 64 bits
        dtype = np.dtype(np.float64)
    return array.astype(dtype).where(keep, replacement)


# The name and the type of the dimension whose labels are the geometries.
GEOMETRY = "geometry"
EMPTY = shapely.GeometryCollection()


@dataclass(frozen=True)
class VectorCube:
    """An openEO vector data cube.

    `values` (optional) has the dimensions (`geometry`, ...), its `geometry` coordinate
    0..n-1 indexing `geometries`; `dimension_types` holds the types of the other ones.
    `ids` are the GeoJSON Feature ids (None where a feature had none).
    """

    geometries: tuple[BaseGeometry, ...]
    crs: str = "EPSG:4326"
    properties: tuple[Mapping[str, Any], ...] = ()
    ids: tuple[Any, ...] = ()
    values: xr.DataArray | None = None
    dimension_types: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        count = len(self.geometries)
        # Absent properties and ids are filled in, so every consumer can index them.
        if not self.properties:
            object.__setattr__(self, "properties", ({},) * count)
        if not self.ids:
            object.__setattr__(self, "ids", (None,) * count)
        if len(self.properties) != count or len(self.ids) != count:
            raise ValueError("one properties mapping and one id per geometry are needed")
        if self.values is not None and (
            self.values.dims[:1] != (GEOMETRY,) or self.values.sizes[GEOMETRY] != count
        ):
            raise ValueError("values need the geometry dimension first, one row per geometry")

    def __len__(self) -> int:
        return len(self.geometries)

    @property
    def dims(self) -> tuple[str, ...]:
        """`geometry`, then the dimensions of the values."""
        if self.values is None:
            return (GEOMETRY,)
        return tuple(str(dim) for dim in self.values.dims)

    @property
    def value_dims(self) -> tuple[str, ...]:
        """The dimensions of the values besides `geometry`."""
        return self.dims[1:]

    def with_values(
        self, values: xr.DataArray | None, dimension_types: Mapping[str, str]
    ) -> "VectorCube":
        """The same geometries with new values (geometry coordinate set to 0..n-1)."""
        if values is not None:
            values = values.assign_coords({GEOMETRY: np.arange(len(self))})
        return replace(self, values=values, dimension_types=dict(dimension_types))

    def select(self, indices: Sequence[int]) -> "VectorCube":
        """The geometries at `indices` (in that order, repeats allowed) with their values."""
        positions = [int(index) for index in indices]
        values = None
        if self.values is not None:
            values = self.values.isel({GEOMETRY: positions})
            values = values.assign_coords({GEOMETRY: np.arange(len(positions))})
        return replace(
            self,
            geometries=tuple(self.geometries[i] for i in positions),
            properties=tuple(self.properties[i] for i in positions),
            ids=tuple(self.ids[i] for i in positions),
            values=values,
        )

    def with_geometries(self, geometries: Sequence[BaseGeometry], crs: str) -> "VectorCube":
        """New geometries (one per label) in `crs`; properties, ids and values kept."""
        return replace(self, geometries=tuple(geometries), crs=crs)
