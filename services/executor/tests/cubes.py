"""Small in-memory raster cubes, polygons on their grid, process graphs and an environment
for process tests (no servers needed)."""

from pathlib import Path
from typing import Any

import dask.array
import numpy as np
import pyproj
import shapely
import xarray as xr

from eoplex_executor.engine.cube import BANDS, SPATIAL, TEMPORAL, RasterCube
from eoplex_executor.engine.environment import Environment, Limits
from eoplex_executor.engine.graph import execute

CRS = "EPSG:32632"
WEST, NORTH, RESOLUTION = 675000.0, 5155000.0, 10.0
TO_WGS84 = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
FROM_WGS84 = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)


def make_cube(
    values: np.ndarray | None = None,
    *,
    dates: list[str] | None = None,
    bands: list[str] | None = None,
    shape: tuple[int, int] = (4, 5),
    chunked: bool = True,
) -> RasterCube:
    """A (t, bands, y, x) cube on a 10 m grid in EPSG:32632; dask-backed unless `chunked=False`.

    Without `values`, pixel (t, b, y, x) holds `1000 * t + 100 * b + 10 * y + x` as float32.
    """
    dates = dates if dates is not None else ["2022-06-01", "2022-06-06", "2022-06-11"]
    bands = bands if bands is not None else ["B04", "B08"]
    rows, cols = shape
    if values is None:
        t, b, y, x = np.meshgrid(
            np.arange(len(dates)),
            np.arange(len(bands)),
            np.arange(rows),
            np.arange(cols),
            indexing="ij",
        )
        values = (1000 * t + 100 * b + 10 * y + x).astype(np.float32)
    data = dask.array.from_array(values, chunks=-1) if chunked else values
    array = xr.DataArray(
        data,
        dims=("t", "bands", "y", "x"),
        coords={
            "t": np.array(dates, dtype="datetime64[ns]"),
            "bands": bands,
            "y": NORTH - RESOLUTION * (np.arange(rows) + 0.5),
            "x": WEST + RESOLUTION * (np.arange(cols) + 0.5),
        },
    )
    types = {"t": TEMPORAL, "bands": BANDS, "y": SPATIAL, "x": SPATIAL}
    return RasterCube(data=array, crs=CRS, dimension_types=types)


def wgs84_polygon(ring: list[tuple[float, float]]) -> dict[str, Any]:
    """A GeoJSON Polygon in EPSG:4326 of a ring given in the cube's CRS."""
    coordinates = [list(TO_WGS84.transform(x, y)) for x, y in [*ring, ring[0]]]
    return {"type": "Polygon", "coordinates": [coordinates]}


def centres(cube: RasterCube) -> tuple[np.ndarray, np.ndarray]:
    """The pixel centres' x and y coordinates, each as a (y, x) grid."""
    return np.meshgrid(cube.data.coords["x"].values, cube.data.coords["y"].values)


def pixels_inside(cube: RasterCube, ring: list[tuple[float, float]]) -> np.ndarray:
    """Which (y, x) pixel centres the polygon contains as a process receives it: the ring in
    the cube's CRS, sent as `wgs84_polygon` and projected back, decided by shapely."""
    received = wgs84_polygon(ring)["coordinates"][0]
    polygon = shapely.Polygon([FROM_WGS84.transform(lon, lat) for lon, lat in received])
    x, y = centres(cube)
    return np.asarray(shapely.contains_xy(polygon, x, y))


def result_node(process_id: str, **arguments: Any) -> dict[str, Any]:
    """A process graph node calling `process_id` with `arguments`, marked as the result."""
    return {"process_id": process_id, "arguments": arguments, "result": True}


def child_graph(process_id: str, **arguments: Any) -> dict[str, Any]:
    """A child process graph of one node, for a parameter such as `reducer` or `process`."""
    return {"process_graph": {process_id: result_node(process_id, **arguments)}}


def reducer_graph(process_id: str, **arguments: Any) -> dict[str, Any]:
    """A child process graph of one node calling `process_id` on the parameter `data`, as a
    reducer receives its values."""
    return child_graph(process_id, data={"from_parameter": "data"}, **arguments)


def graph_on_cube(process_id: str, **arguments: Any) -> dict[str, Any]:
    """A process graph of one node calling `process_id` on the graph parameter `cube`."""
    return {process_id: result_node(process_id, data={"from_parameter": "cube"}, **arguments)}


# The environments the current test made, closed after it (see `close_environments`).
_made: list[Environment] = []


def computed(result: Any) -> np.ndarray:
    """The values of a process's result, which must be a lazy (dask-backed) raster cube."""
    assert isinstance(result, RasterCube)
    assert isinstance(result.data.data, dask.array.Array), "the result is not lazy"
    return np.asarray(result.data.values)


def make_environment(tmp_path: Path, *, catalog: Any = None, max_pixels: int = 0) -> Environment:
    """An environment writing into `tmp_path`; `catalog` only for load_collection tests.
    It stays open (UDF processes keep running) until the test ends."""
    env = Environment(catalog=catalog, scratch_dir=tmp_path, limits=Limits(max_pixels=max_pixels))
    _made.append(env)
    return env


def close_environments() -> None:
    """Close every environment `make_environment` made (the conftest does after each test)."""
    while _made:
        _made.pop().close()


def run_graph(graph: dict[str, Any], env: Environment, **parameters: Any) -> Any:
    """Execute `{"process_graph": graph}` in `env`; its result node's value."""
    return execute({"process_graph": graph}, env, **parameters)


def run_process(process_id: str, env: Environment, **arguments: Any) -> Any:
    """One process called with already evaluated arguments (cubes, callbacks as graphs)."""
    from eoplex_executor.engine.graph import call_process

    return call_process(process_id, None, arguments, env)
