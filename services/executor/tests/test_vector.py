"""Vector data cubes: aggregate_spatial and friends on small cubes, against numpy references
computed here from pixel centres (shapely), and the vector output formats parsed back."""

import csv
import json
import time
from pathlib import Path
from typing import Any

import dask.array
import numpy as np
import pyarrow.parquet as pq
import pyproj
import pytest
import rasterio
import shapely
from openeo.rest.conversions import timeseries_json_to_pandas
from rasterio.transform import Affine
from shapely.geometry.base import BaseGeometry

from eoplex_common.errors import (
    CountMismatch,
    DimensionNotAvailable,
    FileNotFound,
    FilePathInvalid,
    FormatUnsuitable,
    GeometriesOverlap,
    ProcessParameterInvalid,
    TargetDimensionExists,
    UnitMismatch,
)
from eoplex_executor.engine.cube import BANDS, TEMPORAL, RasterCube, VectorCube, label_values
from eoplex_executor.engine.environment import Environment, Estimate
from eoplex_executor.geo import zonal
from services.executor.tests.cubes import (
    CRS,
    NORTH,
    RESOLUTION,
    TO_WGS84,
    WEST,
    child_graph,
    graph_on_cube,
    make_cube,
    make_environment,
    pixels_inside,
    reducer_graph,
    run_graph,
    run_process,
    wgs84_polygon,
)

# Two polygons in the cube's CRS on a 6 x 8 grid of 10 m pixels, edges between centres.
FIELD_A = [(675012, 5154998), (675058, 5154993), (675071, 5154951), (675033, 5154942)]
FIELD_B = [(675041, 5154979), (675079, 5154979), (675079, 5154941), (675041, 5154941)]


class FolderFiles:
    """A user workspace served from a local folder, as the files service would."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def download(self, path: str, target: Path) -> Path:
        relative = Path(path.lstrip("/"))
        if ".." in relative.parts:
            raise FilePathInvalid(reason="outside the workspace")
        source = self.root / relative
        if not source.is_file():
            raise FileNotFound(file=path)
        target.write_bytes(source.read_bytes())
        return target


@pytest.fixture
def env(tmp_path: Path) -> Environment:
    environment = make_environment(tmp_path / "scratch")
    environment.scratch_dir.mkdir()
    environment.user_files = FolderFiles(tmp_path / "files")
    (tmp_path / "files").mkdir()
    return environment


def fields() -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "a",
                "geometry": wgs84_polygon(FIELD_A),
                "properties": {"crop": "maize"},
            },
            {
                "type": "Feature",
                "id": "b",
                "geometry": wgs84_polygon(FIELD_B),
                "properties": {"crop": "wheat"},
            },
        ],
    }


def polygon_features(*rings: list[tuple[float, float]]) -> dict[str, Any]:
    """A FeatureCollection of the rings (in the cube's CRS) as polygons without properties."""
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": wgs84_polygon(ring), "properties": {}} for ring in rings
        ],
    }


def call(env: Environment, process_id: str, data: Any, **arguments: Any) -> Any:
    """A process through the graph evaluator, so child graphs become real child processes."""
    return run_graph(graph_on_cube(process_id, **arguments), env, cube=data)


def aggregate(
    env: Environment, cube: RasterCube, geometries: Any, child: dict[str, Any], **more: Any
) -> VectorCube:
    result = call(env, "aggregate_spatial", cube, geometries=geometries, reducer=child, **more)
    assert isinstance(result, VectorCube)
    return result


def with_nodata(cube: RasterCube) -> RasterCube:
    values = cube.data.values.copy()
    values[:, :, 1, 2] = np.nan  # inside field A
    values[0, :, 3, 5] = np.nan  # inside field A and B, first date
    return cube.with_data(cube.data.copy(data=dask.array.from_array(values)))


# A reducer the fast path does not take: mean through a child graph of two nodes.
MEAN_GRAPH = {
    "process_graph": {
        "m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}}},
        "r": {
            "process_id": "multiply",
            "arguments": {"x": {"from_node": "m"}, "y": 1},
            "result": True,
        },
    }
}


# aggregate_spatial


@pytest.mark.parametrize("child", [reducer_graph("mean"), MEAN_GRAPH], ids=["fast", "child graph"])
def test_mean_per_polygon_equals_numpy(env: Environment, child: dict[str, Any]) -> None:
    cube = with_nodata(make_cube(shape=(6, 8)))

    result = aggregate(env, cube, fields(), child)

    assert isinstance(result.values.data, dask.array.Array)  # lazy until saved
    assert result.dims == ("geometry", "t", "bands")
    assert result.crs == "EPSG:4326" and result.ids == ("a", "b")
    assert [p["crop"] for p in result.properties] == ["maize", "wheat"]
    values = cube.data.values
    for index, ring in enumerate([FIELD_A, FIELD_B]):
        mask = pixels_inside(cube, ring)
        assert 4 <= mask.sum() < mask.size
        expected = np.nanmean(values[:, :, mask], axis=-1)
        np.testing.assert_allclose(result.values.values[index], expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("process_id", "numpy_reducer"),
    [
        ("max", np.nanmax),
        ("min", np.nanmin),
        ("sum", np.nansum),
        ("sd", lambda v, axis: np.nanstd(v, axis=axis, ddof=1)),
        ("variance", lambda v, axis: np.nanvar(v, axis=axis, ddof=1)),
        ("median", np.nanmedian),
        ("count", lambda v, axis: np.sum(~np.isnan(v), axis=axis)),
    ],
)
def test_reducers_per_polygon_equal_numpy(
    env: Environment, process_id: str, numpy_reducer: Any
) -> None:
    cube = with_nodata(make_cube(shape=(6, 8)))

    result = aggregate(env, cube, fields(), reducer_graph(process_id))

    for index, ring in enumerate([FIELD_A, FIELD_B]):
        expected = numpy_reducer(cube.data.values[:, :, pixels_inside(cube, ring)], axis=-1)
        np.testing.assert_allclose(result.values.values[index], expected, rtol=1e-6)


@pytest.mark.parametrize(
    "child",
    [
        reducer_graph("mean", ignore_nodata=False),
        {"process_graph": {**MEAN_GRAPH["process_graph"]}},
    ],
    ids=["fast", "child graph"],
)
def test_nodata_is_not_ignored_when_the_reducer_says_so(
    env: Environment, child: dict[str, Any]
) -> None:
    if "m" in child["process_graph"]:
        child["process_graph"]["m"] = {
            "process_id": "mean",
            "arguments": {"data": {"from_parameter": "data"}, "ignore_nodata": False},
        }
    cube = with_nodata(make_cube(shape=(6, 8)))

    result = aggregate(env, cube, fields(), child)

    for index, ring in enumerate([FIELD_A, FIELD_B]):
        mask = pixels_inside(cube, ring)
        expected = np.mean(cube.data.values[:, :, mask], axis=-1)  # NaN propagates
        np.testing.assert_allclose(result.values.values[index], expected, rtol=1e-6)
    assert np.isnan(result.values.values[1, 0]).all()  # field B holds a NaN on the first date
    assert not np.isnan(result.values.values[1, 1:]).any()


def test_points_and_lines_take_the_pixels_they_lie_in(env: Environment) -> None:
    cube = make_cube(shape=(6, 8))
    point = TO_WGS84.transform(WEST + 33, NORTH - 21)  # pixel row 2, column 3
    line_utm = [(WEST + 5, NORTH - 15), (WEST + 35, NORTH - 15)]  # row 1, columns 0..3
    line = [list(TO_WGS84.transform(x, y)) for x, y in line_utm]
    geometries = {
        "type": "GeometryCollection",
        "geometries": [
            {"type": "Point", "coordinates": list(point)},
            {"type": "LineString", "coordinates": line},
        ],
    }

    result = aggregate(env, cube, geometries, reducer_graph("mean"))

    values = cube.data.values
    np.testing.assert_allclose(result.values.values[0], values[:, :, 2, 3])
    np.testing.assert_allclose(result.values.values[1], values[:, :, 1, 0:4].mean(axis=-1))


def test_overlapping_polygons_each_get_all_their_pixels(env: Environment) -> None:
    cube = make_cube(shape=(6, 8))
    big = [(675001, 5154999), (675079, 5154999), (675079, 5154941), (675001, 5154941)]

    result = aggregate(env, cube, polygon_features(big, FIELD_B, FIELD_A), reducer_graph("sum"))

    for index, ring in enumerate((big, FIELD_B, FIELD_A)):
        expected = cube.data.values[:, :, pixels_inside(cube, ring)].sum(axis=-1)
        np.testing.assert_allclose(result.values.values[index], expected, rtol=1e-6)


def test_geometries_in_the_cube_crs_give_the_same_values(env: Environment) -> None:
    cube = make_cube(shape=(6, 8))
    in_wgs84 = run_process("load_geojson", env, data=fields())
    in_utm = run_process("vector_reproject", env, data=in_wgs84, projection=32632)
    assert in_utm.crs == "EPSG:32632"
    assert in_utm.geometries[0].bounds[0] == pytest.approx(675012, abs=1e-3)

    from_utm = aggregate(env, cube, in_utm, reducer_graph("mean"))
    from_wgs84 = aggregate(env, cube, in_wgs84, reducer_graph("mean"))

    assert from_utm.crs == "EPSG:32632"  # the geometries' CRS, not the cube's
    np.testing.assert_allclose(from_utm.values.values, from_wgs84.values.values)


def test_geometries_without_pixels_get_null(env: Environment) -> None:
    cube = make_cube(shape=(6, 8))
    far = wgs84_polygon([(700000, 5100000), (700100, 5100000), (700100, 5100100)])
    tiny = wgs84_polygon([(675012, 5154998), (675014, 5154998), (675014, 5154996)])
    features = [
        {"type": "Feature", "geometry": geometry, "properties": {}}
        for geometry in (far, wgs84_polygon(FIELD_A), tiny, None)
    ]

    result = aggregate(
        env, cube, {"type": "FeatureCollection", "features": features}, reducer_graph("mean")
    )
    only_outside = aggregate(env, cube, far, reducer_graph("mean"), target_dimension="stats")

    values = result.values.values
    assert len(result) == 4 and result.geometries[3].is_empty
    assert np.isnan(values[[0, 2, 3]]).all() and not np.isnan(values[1]).any()
    assert only_outside.values.sel(stats="value").isnull().all()
    assert (only_outside.values.sel(stats="total_count") == 0).all()


def test_target_dimension_counts_pixels(env: Environment) -> None:
    cube = with_nodata(make_cube(shape=(6, 8)))

    for child in (reducer_graph("max"), reducer_graph("median")):
        result = aggregate(env, cube, fields(), child, target_dimension="result")

        assert result.dims == ("geometry", "t", "bands", "result")
        assert result.values.coords["result"].values.tolist() == [
            "value",
            "total_count",
            "valid_count",
        ]
        mask = pixels_inside(cube, FIELD_B)
        valid = (~np.isnan(cube.data.values[:, :, mask])).sum(axis=-1)
        np.testing.assert_array_equal(result.values.values[1, ..., 1], mask.sum())
        np.testing.assert_array_equal(result.values.values[1, ..., 2], valid)


def test_existing_target_dimension_is_refused(env: Environment) -> None:
    with pytest.raises(TargetDimensionExists):
        aggregate(env, make_cube(), fields(), reducer_graph("mean"), target_dimension="bands")


def test_context_reaches_the_reducer(env: Environment) -> None:
    child = {
        "process_graph": {
            "m": {"process_id": "max", "arguments": {"data": {"from_parameter": "data"}}},
            "r": {
                "process_id": "add",
                "arguments": {"x": {"from_node": "m"}, "y": {"from_parameter": "context"}},
                "result": True,
            },
        }
    }
    cube = make_cube(shape=(6, 8))

    result = aggregate(env, cube, fields(), child, context=1000)

    expected = cube.data.values[:, :, pixels_inside(cube, FIELD_A)].max(axis=-1) + 1000
    np.testing.assert_allclose(result.values.values[0], expected)


def test_a_reducer_that_does_not_reduce_is_refused(env: Environment) -> None:
    child = {
        "process_graph": {
            "r": {"process_id": "absolute", "arguments": {"x": {"from_parameter": "data"}}}
        }
    }
    child["process_graph"]["r"]["result"] = True
    with pytest.raises(ProcessParameterInvalid, match="reducer"):
        aggregate(env, make_cube(shape=(6, 8)), fields(), child).values.compute()


@pytest.mark.parametrize("process_id", ["mean", "sd", "median"])
def test_chunks_and_tiles_do_not_change_the_result(
    env: Environment, monkeypatch: pytest.MonkeyPatch, process_id: str
) -> None:
    cube = with_nodata(make_cube(shape=(6, 8)))
    chunked = cube.with_data(cube.data.chunk({"t": 1, "bands": 1, "y": 2, "x": 3}))
    monkeypatch.setattr(zonal, "TILE", 3)  # label images of 3 x 3 pixels

    result = aggregate(env, chunked, fields(), reducer_graph(process_id))

    numpy_reducer = {
        "mean": np.nanmean,
        "sd": lambda v, axis: np.nanstd(v, axis=axis, ddof=1),
        "median": np.nanmedian,
    }[process_id]
    for index, ring in enumerate([FIELD_A, FIELD_B]):
        expected = numpy_reducer(cube.data.values[:, :, pixels_inside(cube, ring)], axis=-1)
        np.testing.assert_allclose(result.values.values[index], expected, rtol=1e-6)


def test_cubes_in_memory_are_aggregated_too(env: Environment) -> None:
    cube = with_nodata(make_cube(shape=(6, 8)))
    in_memory = cube.with_data(cube.data.compute())

    for child in (reducer_graph("mean"), MEAN_GRAPH):
        result = aggregate(env, in_memory, fields(), child)

        expected = np.nanmean(cube.data.values[:, :, pixels_inside(cube, FIELD_B)], axis=-1)
        np.testing.assert_allclose(result.values.values[1], expected, rtol=1e-6)


def test_many_geometries_are_aggregated_quickly(env: Environment) -> None:
    """2,000 polygons of varying size on a 500 x 500 cube, by the fast and the general path."""
    cube = make_cube(shape=(500, 500), dates=["2022-06-01"], bands=["B04"])
    rng = np.random.default_rng(1)
    corners = rng.uniform([WEST, NORTH - 4900], [WEST + 4900, NORTH], size=(2000, 2))
    sizes = rng.uniform(5, 100, size=(2000, 1))
    boxes = shapely.box(corners[:, 0], corners[:, 1], *(corners + sizes).T)
    vectors = VectorCube(tuple(boxes), CRS)

    started = time.perf_counter()
    fast = aggregate(env, cube, vectors, reducer_graph("mean")).values.values
    fast_seconds = time.perf_counter() - started
    general = aggregate(env, cube, vectors, MEAN_GRAPH).values.values

    x, y = cube.data.coords["x"].values, cube.data.coords["y"].values
    box = boxes[7]
    rows = (y > box.bounds[1]) & (y < box.bounds[3])
    cols = (x > box.bounds[0]) & (x < box.bounds[2])
    expected = cube.data.values[0, 0][np.ix_(rows, cols)].mean()
    assert fast[7, 0, 0] == pytest.approx(expected)
    np.testing.assert_allclose(fast, general, rtol=1e-6)
    assert fast_seconds < 5


# save_result of vector cubes


def aggregated(env: Environment) -> VectorCube:
    return aggregate(env, with_nodata(make_cube(shape=(6, 8))), fields(), reducer_graph("mean"))


def save(env: Environment, data: Any, format: str, **options: Any) -> Path:
    before = len(env.outputs)
    assert run_process("save_result", env, data=data, format=format, options=options)
    (output,) = env.outputs[before:]
    return output.path


def test_geojson_output_holds_values_as_properties(env: Environment) -> None:
    cube = aggregated(env)

    path = save(env, cube, "GeoJSON")

    document = json.loads(path.read_text())
    assert env.outputs[-1].media_type == "application/geo+json"
    assert [feature["id"] for feature in document["features"]] == ["a", "b"]
    first = document["features"][0]
    assert first["properties"]["crop"] == "maize"
    assert shapely.geometry.shape(first["geometry"]).equals_exact(cube.geometries[0], 1e-9)
    expected = cube.values.values
    assert first["properties"]["2022-06-06T00:00:00Z B08"] == pytest.approx(expected[0, 1, 1])
    assert len(first["properties"]) == 1 + 3 * 2


def test_csv_output_has_a_row_per_geometry_and_label(env: Environment) -> None:
    cube = aggregate(env, with_nodata(make_cube(shape=(6, 8))), fields(), reducer_graph("max"))
    cube_b = cube.values.values.copy()
    # A geometry with no-data: field B holds NaN on the first date when nodata is not ignored.
    strict = aggregate(
        env,
        with_nodata(make_cube(shape=(6, 8))),
        fields(),
        reducer_graph("max", ignore_nodata=False),
    )

    with save(env, cube, "CSV").open(newline="") as file:
        rows = list(csv.DictReader(file))
    with save(env, strict, "CSV").open(newline="") as file:
        strict_rows = list(csv.DictReader(file))

    assert list(rows[0]) == ["feature", "t", "bands", "value", "geometry", "crs"]
    assert len(rows) == 2 * 3 * 2
    row = next(r for r in rows if r["feature"] == "b" and r["t"].startswith("2022-06-11"))
    assert row["bands"] == "B04" and float(row["value"]) == pytest.approx(cube_b[1, 2, 0])
    assert shapely.from_wkt(row["geometry"]).equals_exact(cube.geometries[1], 1e-9)
    assert [r["value"] for r in strict_rows if r["feature"] == "b"][:2] == ["", ""]


def test_parquet_output_is_geoparquet(env: Environment) -> None:
    cube = aggregated(env)

    table = pq.read_table(save(env, cube, "Parquet"))

    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    assert geo["columns"]["geometry"]["geometry_types"] == ["Polygon"]
    assert pyproj.CRS.from_json_dict(geo["columns"]["geometry"]["crs"]).to_epsg() == 4326
    columns = table.to_pydict()
    assert columns["id"] == ["a", "b"] and columns["crop"] == ["maize", "wheat"]
    assert shapely.from_wkb(columns["geometry"][1]).equals(cube.geometries[1])
    assert columns["2022-06-01T00:00:00Z B04"][1] == pytest.approx(cube.values.values[1, 0, 0])


def test_json_output_nests_values_by_dimension(env: Environment) -> None:
    cube = aggregated(env)

    document = json.loads(save(env, cube, "JSON", layout="cube").read_text())

    assert list(document["dimensions"]) == ["geometry", "t", "bands"]
    assert document["dimensions"]["geometry"] == {"type": "geometry", "labels": [0, 1]}
    assert document["dimensions"]["bands"]["labels"] == ["B04", "B08"]
    assert document["geometries"]["features"][1]["id"] == "b"
    np.testing.assert_allclose(np.array(document["data"], dtype=float), cube.values.values)


def test_json_output_of_a_time_series_is_what_the_openeo_client_reads(env: Environment) -> None:
    cube = aggregated(env)
    values = cube.values.transpose("t", "geometry", "bands").values

    document = json.loads(save(env, cube, "JSON").read_text())

    assert list(document) == label_values(cube.values.coords["t"].values)
    frame = timeseries_json_to_pandas(document, auto_collapse=False)
    assert list(frame.index) == list(document)
    assert list(frame.columns) == [(g, b) for g in range(2) for b in range(2)]
    np.testing.assert_allclose(frame.to_numpy(), values.reshape(len(document), -1))


def test_json_time_series_without_bands_and_layouts_that_do_not_apply(env: Environment) -> None:
    full = aggregated(env)
    assert full.values is not None
    cube = full.with_values(full.values.isel(bands=0, drop=True), {"t": TEMPORAL})
    document = json.loads(save(env, cube, "JSON").read_text())
    series = timeseries_json_to_pandas(document)
    np.testing.assert_allclose(series.to_numpy(), cube.values.transpose("t", "geometry").values)

    by_band = full.with_values(full.values.isel(t=0, drop=True), {"bands": BANDS})
    assert "dimensions" in json.loads(save(env, by_band, "JSON").read_text())
    with pytest.raises(ProcessParameterInvalid, match="layout timeseries holds vector"):
        save(env, by_band, "JSON", layout="timeseries")
    with pytest.raises(ProcessParameterInvalid, match="layout timeseries holds vector"):
        save(env, make_cube(), "JSON", layout="timeseries")


def in_utm(env: Environment) -> VectorCube:
    """The aggregated fields moved to the raster's CRS (EPSG:32632), whose metres no reader
    could take for degrees."""
    return run_process("vector_reproject", env, data=aggregated(env), projection=32632)


def declared(crs: Any) -> pyproj.Transformer:
    """From a file's declared CRS to WGS 84, longitude first (as every vector format orders)."""
    return pyproj.Transformer.from_crs(pyproj.CRS(crs), "EPSG:4326", always_xy=True)


def assert_located(geometry: BaseGeometry, crs: Any, name: str) -> None:
    """`geometry` read in its declared `crs` is field `name` (given in WGS 84)."""
    field = shapely.Polygon(wgs84_polygon(FIELD_A if name == "a" else FIELD_B)["coordinates"][0])
    located = shapely.transform(geometry, declared(crs).transform, interleaved=False)
    assert shapely.equals_exact(shapely.normalize(located), shapely.normalize(field), 1e-7), name


def test_geojson_coordinates_are_in_wgs84_as_rfc_7946_declares(env: Environment) -> None:
    document = json.loads(save(env, in_utm(env), "GeoJSON").read_text())

    assert "crs" not in document
    for feature in document["features"]:
        geometry = shapely.geometry.shape(feature["geometry"])
        assert_located(geometry, "OGC:CRS84", feature["id"])


def test_json_declares_the_crs_of_its_geometries(env: Environment) -> None:
    document = json.loads(save(env, in_utm(env), "JSON", layout="cube").read_text())

    assert document["crs"] == "EPSG:4326"
    for feature in document["geometries"]["features"]:
        assert_located(shapely.geometry.shape(feature["geometry"]), document["crs"], feature["id"])


def test_csv_declares_the_crs_of_its_geometries(env: Environment) -> None:
    with save(env, in_utm(env), "CSV").open(newline="") as file:
        rows = list(csv.DictReader(file))

    assert {row["crs"] for row in rows} == {"EPSG:32632"}
    for row in rows:
        assert_located(shapely.from_wkt(row["geometry"]), row["crs"], row["feature"])


def test_parquet_declares_the_crs_of_its_geometries(env: Environment) -> None:
    table = pq.read_table(save(env, in_utm(env), "Parquet"))

    crs = json.loads(table.schema.metadata[b"geo"])["columns"]["geometry"]["crs"]
    assert pyproj.CRS.from_json_dict(crs).to_epsg() == 32632
    columns = table.to_pydict()
    for name, wkb in zip(columns["id"], columns["geometry"], strict=True):
        assert_located(shapely.from_wkb(wkb), pyproj.CRS.from_json_dict(crs), name)


@pytest.mark.parametrize("format", ["GTiff", "netCDF", "PNG"])
def test_raster_formats_refuse_vector_cubes(env: Environment, format: str) -> None:
    with pytest.raises(FormatUnsuitable, match="vector data cubes; use GeoJSON"):
        save(env, aggregated(env), format)


@pytest.mark.parametrize("format", ["GeoJSON", "CSV", "Parquet"])
def test_vector_formats_refuse_raster_cubes(env: Environment, format: str) -> None:
    with pytest.raises(FormatUnsuitable, match="holds vector data cubes"):
        save(env, make_cube(), format)


def test_estimates_count_vector_outputs_and_refuse_mismatches(env: Environment) -> None:
    cube = aggregated(env)
    env.estimate = Estimate()

    assert run_process("save_result", env, data=cube, format="CSV", options={})

    assert env.estimate.files_written == 1 and not env.outputs
    assert env.estimate.pixels_written == 2 + 2 * 3 * 2  # geometries and values
    with pytest.raises(FormatUnsuitable, match="holds vector data cubes"):
        run_process("save_result", env, data=make_cube(), format="Parquet", options={})
    with pytest.raises(FormatUnsuitable, match="vector data cubes; use GeoJSON"):
        run_process("save_result", env, data=cube, format="GTiff", options={})


# load_geojson, load_uploaded_files


def test_load_geojson_makes_a_property_dimension(env: Environment) -> None:
    document = fields()
    document["features"][0]["properties"] |= {"yield": 7.5, "area": 2}
    document["features"][1]["properties"] |= {"yield": None, "area": 3}

    cube = run_process("load_geojson", env, data=document, properties=["yield", "area"])

    assert cube.dims == ("geometry", "properties")
    assert cube.values.coords["properties"].values.tolist() == ["yield", "area"]
    np.testing.assert_array_equal(cube.values.values, [[7.5, 2], [np.nan, 3]])


def test_load_geojson_array_property_and_invalid_input(env: Environment) -> None:
    document = fields()
    document["features"][0]["properties"]["series"] = [1, 2, 3]
    document["features"][1]["properties"]["series"] = [4]

    cube = run_process("load_geojson", env, data=document, properties=["series"])

    assert cube.values.coords["properties"].values.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(cube.values.values, [[1, 2, 3], [4, np.nan, np.nan]])
    nested = {"type": "Feature", "geometry": {"type": "GeometryCollection", "geometries": []}}
    legacy = fields() | {"crs": {"type": "name", "properties": {"name": "EPSG:32632"}}}
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    for invalid in (nested, legacy, bowtie, [1, 2]):
        with pytest.raises(ProcessParameterInvalid, match="'data'"):
            run_process("load_geojson", env, data=invalid)


def write_geotiff(path: Path) -> np.ndarray:
    values = np.arange(2 * 6 * 8, dtype=np.uint16).reshape(2, 6, 8)
    values[0, 0, 0] = 0
    transform = Affine(RESOLUTION, 0.0, WEST, 0.0, -RESOLUTION, NORTH)
    profile = {"driver": "GTiff", "width": 8, "height": 6, "count": 2, "dtype": "uint16"}
    with rasterio.open(path, "w", crs=CRS, transform=transform, nodata=0, **profile) as file:
        file.write(values)
        file.set_band_description(1, "B04")
    return values


def test_load_uploaded_geojson_aggregates_like_inline_geojson(
    env: Environment, tmp_path: Path
) -> None:
    (tmp_path / "files" / "fields").mkdir()
    (tmp_path / "files" / "fields" / "two.geojson").write_text(json.dumps(fields()))
    cube = with_nodata(make_cube(shape=(6, 8)))

    uploaded = run_process(
        "load_uploaded_files", env, paths=["/fields/two.geojson"], format="geojson"
    )

    assert isinstance(uploaded, VectorCube) and uploaded.ids == ("a", "b")
    from_file = aggregate(env, cube, uploaded, reducer_graph("mean"))
    inline = aggregate(env, cube, fields(), reducer_graph("mean"))
    np.testing.assert_allclose(from_file.values.values, inline.values.values)


def test_load_uploaded_geotiff_is_a_raster_cube(env: Environment, tmp_path: Path) -> None:
    values = write_geotiff(tmp_path / "files" / "image.tif")

    cube = run_process("load_uploaded_files", env, paths=["image.tif"], format="GTiff")

    assert isinstance(cube, RasterCube) and cube.crs == CRS
    assert cube.dims == ("bands", "y", "x") and cube.labels("bands") == ["B04", "2"]
    expected = np.where(values == 0, np.nan, values).astype(np.float32)
    np.testing.assert_array_equal(cube.data.values, expected)
    assert cube.data.coords["x"].values[0] == WEST + RESOLUTION / 2


def test_load_uploaded_files_errors(env: Environment, tmp_path: Path) -> None:
    (tmp_path / "files" / "notes.geojson").write_text("not json")
    write_geotiff(tmp_path / "files" / "image.tif")

    with pytest.raises(FileNotFound):
        run_process("load_uploaded_files", env, paths=["missing.geojson"], format="GeoJSON")
    with pytest.raises(FormatUnsuitable, match=r"not JSON"):
        run_process("load_uploaded_files", env, paths=["notes.geojson"], format="GeoJSON")
    with pytest.raises(FormatUnsuitable, match=r"not JSON"):
        run_process("load_uploaded_files", env, paths=["image.tif"], format="GeoJSON")
    with pytest.raises(FormatUnsuitable, match=r"not a GeoTIFF"):
        run_process("load_uploaded_files", env, paths=["notes.geojson"], format="GTiff")
    with pytest.raises(FormatUnsuitable, match=r"Shapefile"):
        run_process("load_uploaded_files", env, paths=["image.tif"], format="Shapefile")


# filter_spatial, mask_polygon with vector cubes


def test_filter_spatial_and_mask_polygon_take_vector_cubes(env: Environment) -> None:
    cube = make_cube(shape=(6, 8))
    vectors = run_process("load_geojson", env, data=fields())

    masked = run_process("mask_polygon", env, data=cube, mask=vectors)
    filtered = run_process("filter_spatial", env, data=cube, geometries=vectors)

    covered = pixels_inside(cube, FIELD_A) | pixels_inside(cube, FIELD_B)
    expected = np.where(covered, cube.data.values, np.nan)
    np.testing.assert_array_equal(masked.data.values, expected)
    assert np.nansum(filtered.data.values) == np.nansum(expected)


# apply_polygon


def test_apply_polygon_runs_the_process_per_polygon(env: Environment) -> None:
    cube = make_cube(shape=(10, 8))
    field_c = [(675002, 5154938), (675030, 5154938), (675030, 5154902), (675002, 5154902)]
    seen: list[RasterCube] = []

    def shifted(data: RasterCube, context: Any) -> RasterCube:
        seen.append(data)
        return data.with_data(data.data - context)

    result = run_process(
        "apply_polygon",
        env,
        data=cube,
        geometries=polygon_features(FIELD_A, field_c),
        process=shifted,
        mask_value=-1000,
        context=5,
    )

    values = cube.data.values
    expected = np.full(values.shape, np.nan, dtype=np.float32)
    for sub, ring in zip(seen, (FIELD_A, field_c), strict=True):
        mask = pixels_inside(cube, ring)
        assert mask.sum() >= 4
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        window = values[:, :, rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        sub_mask = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        np.testing.assert_array_equal(sub.data.values, np.where(sub_mask, window, -1000))
        expected = np.where(mask, values - 5, expected)
    np.testing.assert_array_equal(result.data.values, expected)


def test_apply_polygon_refuses_overlaps(env: Environment) -> None:
    collection = fields()  # A and B share pixels
    absolute = child_graph("absolute", x={"from_parameter": "x"})
    identity = child_graph("apply", data={"from_parameter": "data"}, process=absolute)
    with pytest.raises(GeometriesOverlap):
        call(env, "apply_polygon", make_cube(shape=(6, 8)), geometries=collection, process=identity)


# vector processes


def test_filter_vector_keeps_the_geometries_in_relation(env: Environment) -> None:
    vectors = run_process("load_geojson", env, data=fields())
    base = {"type": "Polygon", "coordinates": wgs84_polygon(FIELD_A)["coordinates"]}

    within = run_process("filter_vector", env, data=vectors, geometries=base, relation="within")
    touching = run_process("filter_vector", env, data=vectors, geometries=base)

    assert within.ids == ("a",) and touching.ids == ("a", "b")
    with pytest.raises(ProcessParameterInvalid, match="'relation'"):
        run_process("filter_vector", env, data=vectors, geometries=base, relation="near")
    far = wgs84_polygon([(700000, 5100000), (700100, 5100000), (700100, 5100100)])
    with pytest.raises(ProcessParameterInvalid, match="no geometry"):
        run_process("filter_vector", env, data=vectors, geometries=far)


def test_vector_buffer_needs_metres(env: Environment) -> None:
    vectors = run_process("load_geojson", env, data=fields())
    with pytest.raises(UnitMismatch):
        run_process("vector_buffer", env, geometries=vectors, distance=10)

    in_utm = run_process("vector_reproject", env, data=vectors, projection=32632)
    with pytest.raises(DimensionNotAvailable):
        run_process("vector_reproject", env, data=vectors, projection=32632, dimension="t")
    buffered = run_process("vector_buffer", env, geometries=in_utm, distance=10)

    assert buffered.geometries[1].area == pytest.approx(38 * 38 + 4 * 38 * 10 + np.pi * 100, 1e-2)


def test_vector_to_regular_points(env: Environment) -> None:
    square = shapely.box(675000, 5154900, 675030, 5154920)
    line = shapely.LineString([(675000, 5155000), (675025, 5155000)])
    vectors = VectorCube((square, line), CRS, ids=("s", "l"))

    grouped = run_process("vector_to_regular_points", env, data=vectors, distance=10)
    single = run_process("vector_to_regular_points", env, data=vectors, distance=10, group=False)

    centres = sorted(shapely.get_coordinates(grouped.geometries[0]).tolist())
    assert centres == [[x, y] for x in (675005, 675015, 675025) for y in (5154905, 5154915)]
    along = shapely.get_coordinates(grouped.geometries[1])[:, 0].tolist()
    assert along == [675000, 675010, 675020]
    assert grouped.ids == ("s", "l") and len(single) == 9 and single.ids == (None,) * 9


@pytest.mark.parametrize(
    ("geometries", "distance"),
    [
        # Five 600 m squares of 360,000 points each: a million and a half in all.
        (
            [shapely.box(675000 + 1000 * i, 5154000, 675600 + 1000 * i, 5154600) for i in range(5)],
            1.0,
        ),
        ([shapely.box(675000, 5154000, 676000, 5155000)], 1e-300),
        ([shapely.LineString([(675000, 5155000), (676000, 5155000)])] * 3, 0.002),
    ],
)
def test_vector_to_regular_points_refuses_a_million_points_before_making_them(
    env: Environment, geometries: list[BaseGeometry], distance: float
) -> None:
    vectors = VectorCube(tuple(geometries), CRS)
    with pytest.raises(ProcessParameterInvalid, match="more than a million points"):
        run_process("vector_to_regular_points", env, data=vectors, distance=distance)


def test_vector_to_random_points_is_seeded_and_inside(env: Environment) -> None:
    vectors = run_process("load_geojson", env, data=fields())

    first = run_process("vector_to_random_points", env, data=vectors, geometry_count=5, seed=42)
    again = run_process("vector_to_random_points", env, data=vectors, geometry_count=5, seed=42)
    spread = run_process("vector_to_random_points", env, data=vectors, total_count=3, seed=1)

    for sample, polygon in zip(first.geometries, vectors.geometries, strict=True):
        assert len(sample.geoms) == 5 and polygon.contains(sample)
    assert [g.wkt for g in first.geometries] == [g.wkt for g in again.geometries]
    assert [len(g.geoms) for g in spread.geometries] == [2, 1]
    with pytest.raises(CountMismatch):
        run_process("vector_to_random_points", env, data=vectors, total_count=1)


# aggregate_spatial_window


@pytest.mark.parametrize(
    ("boundary", "align", "rows", "cols"),
    [
        ("pad", "upper-left", [slice(0, 3), slice(3, 6)], [slice(0, 3), slice(3, 6), slice(6, 8)]),
        ("trim", "upper-left", [slice(0, 3), slice(3, 6)], [slice(0, 3), slice(3, 6)]),
        ("trim", "lower-right", [slice(0, 3), slice(3, 6)], [slice(2, 5), slice(5, 8)]),
    ],
)
def test_aggregate_spatial_window_means_blocks(
    env: Environment, boundary: str, align: str, rows: list[slice], cols: list[slice]
) -> None:
    cube = make_cube(shape=(6, 8))

    result = call(
        env,
        "aggregate_spatial_window",
        cube,
        reducer=reducer_graph("mean"),
        size=[3, 3],
        boundary=boundary,
        align=align,
    )

    values = cube.data.values
    expected = [[values[..., r, c].mean(axis=(-2, -1)) for c in cols] for r in rows]
    np.testing.assert_allclose(result.data.values, np.moveaxis(np.array(expected), (0, 1), (2, 3)))
    x, y = cube.data.coords["x"].values, cube.data.coords["y"].values
    assert result.data.coords["y"].values.tolist() == [y[r].mean() for r in rows]
    # A padded window's centre lies beyond the cube's last pixel centre.
    step = x[1] - x[0]
    assert result.data.coords["x"].values.tolist() == [x[c.start] + step for c in cols]
    assert result.dims == cube.dims and result.crs == cube.crs
