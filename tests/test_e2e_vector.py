"""End to end: vector data through the `openeo` client: a GeoJSON uploaded to the user's
workspace, read by load_uploaded_files, used by aggregate_spatial and mask_polygon.

Expected values are computed here with numpy and shapely from the demo collection's own
files (`<state>/demo-data`), not by the engine.
"""

import csv
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import openeo
import pyarrow.parquet as pq
import pyproj
import pytest
import rasterio
import shapely
from openeo.rest import OpenEoApiError
from openeo.rest.conversions import timeseries_json_to_pandas
from openeo.rest.datacube import THIS
from openeo.rest.graph_building import PGNode
from openeo.rest.vectorcube import VectorCube
from rasterio.windows import Window

from eoplex.stack import LocalStack
from tests.stack import demo_connection
from tests.test_e2e_jobs import start_in_background

S2 = "SENTINEL2_L2A_DEMO"
EXTENT = {"west": 11.28, "south": 46.47, "east": 11.33, "north": 46.50}
DATES = ["2022-06-05", "2022-06-10"]  # the demo dates in [2022-06-01, 2022-06-11)
# Two fields (lon, lat) well inside EXTENT, so the loaded cube holds all their pixels.
FIELDS = {
    "north": [(11.290, 46.492), (11.302, 46.494), (11.305, 46.486), (11.293, 46.484)],
    "south": [(11.310, 46.480), (11.322, 46.480), (11.322, 46.474), (11.310, 46.474)],
}
UPLOADED = "vector/fields.geojson"


@pytest.fixture(scope="module")
def connection(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Any:
    connection = demo_connection(local_stack)
    source = tmp_path_factory.mktemp("upload") / "fields.geojson"
    source.write_text(json.dumps(fields_geojson()))
    connection.upload_file(source, target=UPLOADED)
    return connection


def fields_geojson() -> dict[str, Any]:
    features = [
        {
            "type": "Feature",
            "id": name,
            "properties": {"name": name},
            "geometry": {"type": "Polygon", "coordinates": [[*map(list, ring), list(ring[0])]]},
        }
        for name, ring in FIELDS.items()
    ]
    return {"type": "FeatureCollection", "features": features}


def uploaded(connection: openeo.Connection, path: str) -> VectorCube:
    """`load_uploaded_files` of one GeoJSON file of the workspace, as the client's vector cube."""
    node = PGNode("load_uploaded_files", paths=[path], format="GeoJSON", options={})
    return VectorCube(graph=node, connection=connection)


def uploaded_fields(connection: openeo.Connection) -> VectorCube:
    return uploaded(connection, UPLOADED)


def demo_band(stack: LocalStack, date: str, band: str) -> Path:
    return stack.config.state_dir / "demo-data" / S2 / f"S2_{date.replace('-', '')}_{band}.tif"


def inside_field(path: Path, ring: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """The values of the file (float64, 0 as no-data) and which pixel centres the field holds."""
    with rasterio.open(path) as file:
        values = file.read(1).astype(np.float64)
        transform, crs = file.transform, file.crs
    to_file = pyproj.Transformer.from_crs("EPSG:4326", crs.to_wkt(), always_xy=True)
    polygon = shapely.Polygon([to_file.transform(lon, lat) for lon, lat in ring])
    cols, rows = np.meshgrid(np.arange(values.shape[1]) + 0.5, np.arange(values.shape[0]) + 0.5)
    x, y = transform.c + transform.a * cols, transform.f + transform.e * rows
    return np.where(values == 0, np.nan, values), np.asarray(shapely.contains_xy(polygon, x, y))


def expected_means(stack: LocalStack) -> dict[tuple[str, str, str], float]:
    """(field, date, band) -> mean of the field's valid pixels on the demo files."""
    means = {}
    for name, ring in FIELDS.items():
        for date in DATES:
            for band in ("B04", "B08"):
                values, inside = inside_field(demo_band(stack, date, band), ring)
                assert inside.sum() > 20
                means[(name, date, band)] = float(np.nanmean(values[inside]))
    return means


def aggregated(connection: openeo.Connection) -> VectorCube:
    cube = connection.load_collection(
        S2,
        spatial_extent=EXTENT,
        temporal_extent=["2022-06-01", "2022-06-11"],
        bands=["B04", "B08"],
    )
    return cube.aggregate_spatial(geometries=uploaded_fields(connection), reducer="mean")


def test_uploaded_fields_aggregate_to_numpy_means_as_csv(
    connection: openeo.Connection, local_stack: LocalStack, tmp_path: Path
) -> None:
    path = tmp_path / "means.csv"
    aggregated(connection).download(path, format="CSV")

    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    expected = expected_means(local_stack)
    assert len(rows) == len(expected)
    for row in rows:
        key = (row["feature"], row["t"][:10], row["bands"])
        assert float(row["value"]) == pytest.approx(expected[key], rel=1e-6), key
        assert shapely.from_wkt(row["geometry"]).geom_type == "Polygon"


def test_uploaded_fields_aggregate_to_numpy_means_as_geojson(
    connection: openeo.Connection, local_stack: LocalStack, tmp_path: Path
) -> None:
    path = tmp_path / "means.geojson"
    aggregated(connection).download(path, format="GeoJSON")

    document = json.loads(path.read_text())
    expected = expected_means(local_stack)
    assert [feature["id"] for feature in document["features"]] == list(FIELDS)
    for feature in document["features"]:
        name = feature["id"]
        assert feature["properties"]["name"] == name
        ring = feature["geometry"]["coordinates"][0]
        assert shapely.Polygon(ring).equals(shapely.Polygon(FIELDS[name]))
        for date in DATES:
            for band in ("B04", "B08"):
                value = feature["properties"][f"{date}T00:00:00Z {band}"]
                assert value == pytest.approx(expected[(name, date, band)], rel=1e-6)


def test_aggregate_spatial_executes_to_a_time_series_the_client_reads(
    connection: openeo.Connection, local_stack: LocalStack
) -> None:
    series = timeseries_json_to_pandas(aggregated(connection).execute(), auto_collapse=False)

    expected = expected_means(local_stack)
    assert [date[:10] for date in series.index] == DATES
    assert list(series.columns) == [(p, b) for p in range(len(FIELDS)) for b in range(2)]
    for (polygon, band), column in series.items():
        for date, value in column.items():
            key = (list(FIELDS)[polygon], date[:10], ("B04", "B08")[band])
            assert value == pytest.approx(expected[key], rel=1e-6), key
    # The cube layout stays available.
    document = json.loads(
        aggregated(connection).download(format="JSON", options={"layout": "cube"})
    )
    assert list(document["dimensions"]) == ["geometry", "t", "bands"]


def declared_to_wgs84(crs: Any) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(pyproj.CRS(crs), "EPSG:4326", always_xy=True)


def geometries_as_written(path: Path, format: str) -> list[tuple[str, Any, Any]]:
    """(feature, geometry, the CRS the file declares for it) of a downloaded vector file."""
    if format == "GeoJSON":
        # RFC 7946: no `crs` member, coordinates in WGS 84, longitude first.
        document = json.loads(path.read_text())
        assert "crs" not in document
        features = document["features"]
        return [(f["id"], shapely.geometry.shape(f["geometry"]), "OGC:CRS84") for f in features]
    if format == "JSON":
        document = json.loads(path.read_text())
        features = document["geometries"]["features"]
        crs = document["crs"]
        return [(f["id"], shapely.geometry.shape(f["geometry"]), crs) for f in features]
    if format == "CSV":
        with path.open(newline="") as file:
            rows = list(csv.DictReader(file))
        return [(r["feature"], shapely.from_wkt(r["geometry"]), r["crs"]) for r in rows]
    table = pq.read_table(path)
    crs = json.loads(table.schema.metadata[b"geo"])["columns"]["geometry"]["crs"]
    columns = table.to_pydict()
    return [
        (name, shapely.from_wkb(wkb), pyproj.CRS.from_json_dict(crs))
        for name, wkb in zip(columns["id"], columns["geometry"], strict=True)
    ]


@pytest.mark.parametrize("format", ["GeoJSON", "JSON", "CSV", "Parquet"])
def test_vector_files_declare_the_crs_their_coordinates_are_in(
    connection: openeo.Connection, tmp_path: Path, format: str
) -> None:
    # In UTM, coordinates in metres that no reader could mistake for degrees.
    cube = uploaded_fields(connection).process("vector_reproject", data=THIS, projection=32632)
    path = tmp_path / f"fields.{format.lower()}"
    cube.download(path, format=format)

    written = geometries_as_written(path, format)
    assert {name for name, _, _ in written} == set(FIELDS)
    for name, geometry, crs in written:
        located = shapely.transform(geometry, declared_to_wgs84(crs).transform, interleaved=False)
        field = shapely.Polygon(FIELDS[name])
        assert located.symmetric_difference(field).area < 1e-9 * field.area, (name, crs)


def test_uploaded_fields_mask_the_demo_collection(
    connection: openeo.Connection, local_stack: LocalStack, tmp_path: Path
) -> None:
    cube = connection.load_collection(
        S2, spatial_extent=EXTENT, temporal_extent=["2022-06-05", "2022-06-06"], bands=["B04"]
    )
    path = tmp_path / "masked.tif"
    cube.mask_polygon(mask=uploaded_fields(connection)).download(path, format="GTiff")

    with rasterio.open(path) as result:
        values = result.read(1)
        grid = result.transform
    demo = demo_band(local_stack, "2022-06-05", "B04")
    with rasterio.open(demo) as file:
        # The result lies on the collection's grid, which is the demo files' grid.
        assert (file.transform.a, file.transform.e) == (grid.a, grid.e)
        row = round((file.transform.f - grid.f) / grid.a)
        col = round((grid.c - file.transform.c) / grid.a)
        window = Window(col, row, values.shape[1], values.shape[0])
        source = file.read(1, window=window).astype(np.float64)
    covered = np.zeros(values.shape, dtype=bool)
    for ring in FIELDS.values():
        _, inside = inside_field(demo, ring)
        covered |= inside[row : row + values.shape[0], col : col + values.shape[1]]
    expected = np.where(covered & (source != 0), source, np.nan)
    assert covered.sum() > 40
    np.testing.assert_array_equal(values, expected.astype(np.float32))


def test_a_missing_upload_is_file_not_found(connection: openeo.Connection) -> None:
    with pytest.raises(OpenEoApiError) as raised:
        uploaded(connection, "vector/none.geojson").download(format="GeoJSON")
    assert raised.value.code == "FileNotFound"


def test_a_batch_job_writes_the_means_as_geoparquet(
    connection: openeo.Connection, local_stack: LocalStack, tmp_path: Path
) -> None:
    job = aggregated(connection).create_job(out_format="Parquet", title="field means")
    outcome = start_in_background(job)
    deadline = time.monotonic() + 90
    while not outcome:
        assert time.monotonic() < deadline, f"job still {job.status()} after 90 s"
        time.sleep(0.2)
    assert outcome == [None]

    results = job.get_results()
    (asset,) = results.get_metadata()["assets"].values()
    assert asset["type"] == "application/vnd.apache.parquet"
    downloaded = results.download_files(tmp_path / "out")
    (path,) = [file for file in downloaded if file.suffix == ".parquet"]
    table = pq.read_table(path)
    assert json.loads(table.schema.metadata[b"geo"])["columns"]["geometry"]["encoding"] == "WKB"
    columns = table.to_pydict()
    expected = expected_means(local_stack)
    assert columns["id"] == list(FIELDS) and columns["name"] == list(FIELDS)
    for row, name in enumerate(columns["id"]):
        for date in DATES:
            for band in ("B04", "B08"):
                value = columns[f"{date}T00:00:00Z {band}"][row]
                assert value == pytest.approx(expected[(name, date, band)], rel=1e-6)
    job.delete()
