"""load_collection of collections backed by an external STAC API, from a catalog in memory
that answers the catalog's translated items (band assets under band names, each with
`raster:bands` and `proj:*`), with real GeoTIFFs; and the catalog client's access calls
against a real gRPC server."""

from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from pyproj import Transformer
from rasterio.transform import Affine

from eoplex_executor.engine.cube import RasterCube
from eoplex_executor.engine.environment import CollectionAccess
from eoplex_executor.io.clients import GrpcCatalog
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2 as pb
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2_grpc
from services.executor.tests.catalog import LocalCatalog, write_geotiff
from services.executor.tests.cubes import make_environment, run_graph

COLLECTION = "S2_EXTERNAL"
SIZE = 64
SCALE = 0.0001
# Where the two tiles meet: 12°E, the edge of UTM zones 32 and 33.
LONGITUDE, LATITUDE = 12.0, 46.5
BANDS = [
    # name, common name, data type, resolution
    ("B04", "red", "uint16", 10.0),
    ("B08", "nir", "uint16", 10.0),
    ("SCL", None, "uint8", 20.0),
]


def _corner(epsg: int) -> tuple[float, float]:
    """(x, y) of 12°E 46.5°N in the zone, on whole 20 m."""
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(LONGITUDE, LATITUDE)
    return round(x / 20) * 20, round(y / 20) * 20


# The top-left corners of the tiles: zone 32's east edge and zone 33's west edge at 12°E.
TILES = {
    32632: (_corner(32632)[0] - SIZE * 10, _corner(32632)[1] + SIZE * 5),
    32633: (_corner(32633)[0], _corner(32633)[1] + SIZE * 5),
}


class Archive:
    """Translated items of GeoTIFFs written into a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.items: list[dict[str, Any]] = []

    def add(
        self,
        instant: str,
        *,
        epsg: int = 32632,
        values: dict[str, int | np.ndarray],
        offset: float = 0.0,
        cloud_cover: float | None = 10.0,
    ) -> None:
        """An item of the tile in `epsg` at `instant` whose band assets hold `values` (a
        digital number filling the asset, or an array) with `raster:bands` scale and offset."""
        item_id = f"S2_{epsg}_{instant}_{len(self.items)}"
        west, north = TILES[epsg]
        assets = {}
        for name, _, data_type, resolution in BANDS:
            if name not in values:
                continue
            pixels = int(SIZE * 10 / resolution)
            given = values[name]
            array = (
                given.astype(data_type)
                if isinstance(given, np.ndarray)
                else np.full((pixels, pixels), given, dtype=data_type)
            )
            transform = Affine(resolution, 0.0, west, 0.0, -resolution, north)
            path = self.folder / f"{item_id}_{name}.tif"
            write_geotiff(path, array, crs=f"EPSG:{epsg}", transform=transform, nodata=0)
            raster = {"data_type": data_type, "nodata": 0}
            if name != "SCL":
                raster |= {"scale": SCALE, "offset": offset}
            assets[name] = {
                "href": str(path),
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "roles": ["data"],
                "raster:bands": [raster],
                "proj:epsg": epsg,
                "proj:transform": list(transform)[:6],
                "proj:shape": [pixels, pixels],
            }
        to_wgs84 = Transformer.from_crs(epsg, 4326, always_xy=True)
        bbox = to_wgs84.transform_bounds(west, north - SIZE * 10, west + SIZE * 10, north)
        properties: dict[str, Any] = {"datetime": instant}
        if cloud_cover is not None:
            properties["eo:cloud_cover"] = cloud_cover
        self.items.append(
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": item_id,
                "collection": COLLECTION,
                "bbox": list(bbox),
                "geometry": None,
                "properties": properties,
                "assets": assets,
            }
        )

    def catalog(
        self, access: CollectionAccess | None = None, grid: dict[str, Any] | None = None
    ) -> LocalCatalog:
        """The catalog of the items as the collection `COLLECTION` (kind "stac-api"), whose
        x/y are `grid` when given (a declared target grid), else WGS84 without step."""
        spatial = {"extent": [[11.9, 46.4, 12.1, 46.6]]}
        dimensions: dict[str, Any] = grid or {
            "x": {"type": "spatial", "axis": "x", "extent": [11.9, 12.1], "reference_system": 4326},
            "y": {"type": "spatial", "axis": "y", "extent": [46.4, 46.6], "reference_system": 4326},
        }
        collection = {
            "type": "Collection",
            "id": COLLECTION,
            "extent": {
                "spatial": {"bbox": spatial["extent"]},
                "temporal": {"interval": [[None, None]]},
            },
            "cube:dimensions": {
                **dimensions,
                "t": {"type": "temporal", "extent": [None, None]},
                "bands": {"type": "bands", "values": [name for name, *_ in BANDS]},
            },
            "summaries": {
                "eo:bands": [
                    {"name": name, **({"common_name": common} if common else {})}
                    for name, common, *_ in BANDS
                ],
                "raster:bands": [
                    {"data_type": data_type, "nodata": 0} for _, _, data_type, _ in BANDS
                ],
            },
        }
        return LocalCatalog(
            {COLLECTION: collection},
            {COLLECTION: self.items},
            accesses={COLLECTION: access or CollectionAccess(kind="stac-api")},
        )


def _load(catalog: Any, tmp_path: Path, **arguments: Any) -> RasterCube:
    env = make_environment(tmp_path, catalog=catalog)
    node = {
        "process_id": "load_collection",
        "arguments": {
            "id": COLLECTION,
            "spatial_extent": None,
            "temporal_extent": None,
            **arguments,
        },
        "result": True,
    }
    cube = run_graph({"load": node}, env)
    assert isinstance(cube, RasterCube)
    return cube


def _value_at(cube: RasterCube, epsg: int, x: float, y: float, **selection: Any) -> float:
    """The value of the first date at (x, y) given in `epsg`."""
    cx, cy = Transformer.from_crs(epsg, cube.crs, always_xy=True).transform(x, y)
    return float(cube.data.isel(t=0).sel(x=cx, y=cy, method="nearest", **selection).values)


def _centre(epsg: int) -> tuple[float, float]:
    west, north = TILES[epsg]
    return west + SIZE * 5, north - SIZE * 5


def test_items_of_two_utm_zones_lie_on_the_first_items_grid(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    archive.add("2022-01-10T10:00:00Z", epsg=32632, values={"B04": 500})
    archive.add("2022-01-10T10:00:05Z", epsg=32633, values={"B04": 700})

    cube = _load(archive.catalog(), tmp_path, bands=["B04"])

    assert cube.crs == "EPSG:32632"
    assert cube.labels("t") == ["2022-01-10T00:00:00Z"]
    assert float(cube.data.x[1] - cube.data.x[0]) == 10.0
    assert _value_at(cube, 32632, *_centre(32632), bands="B04") == pytest.approx(0.05)
    assert _value_at(cube, 32633, *_centre(32633), bands="B04") == pytest.approx(0.07)
    # The cube spans both tiles: wider than one.
    assert cube.data.sizes["x"] > SIZE + SIZE // 2


def test_the_first_item_in_time_sets_the_grid(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    archive.add("2022-01-10T10:00:05Z", epsg=32632, values={"B04": 500})
    archive.add("2022-01-10T10:00:00Z", epsg=32633, values={"B04": 700})

    assert _load(archive.catalog(), tmp_path, bands=["B04"]).crs == "EPSG:32633"


def test_processing_baselines_with_other_offsets_give_the_same_reflectance(
    tmp_path: Path,
) -> None:
    archive = Archive(tmp_path)
    # Baseline 03.01: DN = reflectance * 10000; 04.00: DN = reflectance * 10000 + 1000.
    archive.add("2022-01-20T10:00:00Z", values={"B04": 500, "B08": 3000})
    archive.add("2022-01-30T10:00:00Z", values={"B04": 1500, "B08": 4000}, offset=-0.1)

    cube = _load(archive.catalog(), tmp_path, bands=["B04", "B08"])
    values = cube.data.values

    assert cube.labels("t") == ["2022-01-20T00:00:00Z", "2022-01-30T00:00:00Z"]
    assert cube.data.dtype == np.float32
    np.testing.assert_allclose(values[:, 0], 0.05, atol=1e-6)
    np.testing.assert_allclose(values[:, 1], 0.30, atol=1e-6)


def _half_empty(value: int) -> np.ndarray:
    """A B04 asset with no data (0) in its top half and `value` below."""
    array = np.full((SIZE, SIZE), value, dtype=np.uint16)
    array[: SIZE // 2] = 0
    return array


@pytest.mark.parametrize(
    ("mosaic", "top", "bottom"),
    [
        # The less cloudy item first; the other fills where it has no data.
        ("least-cloudy-first", 0.01, 0.02),
        ("newest-first", 0.01, 0.01),
    ],
)
def test_items_of_one_day_are_mosaicked_in_the_collections_order(
    tmp_path: Path, mosaic: str, top: float, bottom: float
) -> None:
    archive = Archive(tmp_path)
    archive.add("2022-01-10T10:30:00Z", values={"B04": 100}, cloud_cover=50.0)
    archive.add("2022-01-10T10:00:00Z", values={"B04": _half_empty(200)}, cloud_cover=5.0)
    access = CollectionAccess(kind="stac-api", mosaic=mosaic)

    cube = _load(archive.catalog(access), tmp_path, bands=["B04"])
    values = cube.data.values[0, 0]

    assert cube.labels("t") == ["2022-01-10T00:00:00Z"]
    np.testing.assert_allclose(values[: SIZE // 2], top, atol=1e-6)
    np.testing.assert_allclose(values[SIZE // 2 :], bottom, atol=1e-6)


def test_items_without_cloud_cover_come_last(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    archive.add("2022-01-10T10:00:00Z", values={"B04": 100}, cloud_cover=None)
    archive.add("2022-01-10T10:30:00Z", values={"B04": 200}, cloud_cover=80.0)

    cube = _load(archive.catalog(), tmp_path, bands=["B04"])

    np.testing.assert_allclose(cube.data.values, 0.02, atol=1e-6)


def test_an_item_without_a_valid_time_is_left_out(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    archive.add("2022-01-10T10:00:00Z", values={"B04": 500})
    archive.add("2022-01-20T10:00:00Z", values={"B04": 600})
    archive.items[1]["properties"]["datetime"] = None

    cube = _load(archive.catalog(), tmp_path, bands=["B04"])

    assert cube.labels("t") == ["2022-01-10T00:00:00Z"]


def test_bands_by_common_name_and_the_finest_resolution_of_them(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    archive.add("2022-01-10T10:00:00Z", values={"B04": 500, "B08": 3000, "SCL": 4})

    cube = _load(archive.catalog(), tmp_path, bands=["SCL", "nir"])

    assert cube.labels("bands") == ["SCL", "B08"]
    assert float(cube.data.x[1] - cube.data.x[0]) == 10.0
    assert cube.data.sizes["x"] == SIZE
    np.testing.assert_allclose(cube.data.values[0, 0], 4)
    np.testing.assert_allclose(cube.data.values[0, 1], 0.30, atol=1e-6)


def test_items_without_projection_fields_are_placed_by_their_files_headers(
    tmp_path: Path,
) -> None:
    archive = Archive(tmp_path)
    archive.add("2022-01-10T10:00:00Z", epsg=32632, values={"B04": 500})
    archive.add("2022-01-10T10:00:05Z", epsg=32633, values={"B04": 700})
    for item in archive.items:
        for asset in item["assets"].values():
            del asset["proj:epsg"], asset["proj:transform"], asset["proj:shape"]

    cube = _load(archive.catalog(), tmp_path, bands=["B04"])

    assert cube.crs == "EPSG:32632"
    assert _value_at(cube, 32632, *_centre(32632), bands="B04") == pytest.approx(0.05)
    assert _value_at(cube, 32633, *_centre(32633), bands="B04") == pytest.approx(0.07)


def test_a_declared_target_grid_is_the_cubes_grid(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    archive.add("2022-01-10T10:00:00Z", epsg=32632, values={"B04": 500})
    west, north = TILES[32633]
    grid = {
        "x": {
            "type": "spatial",
            "reference_system": 32633,
            "step": 20,
            "extent": [west - 2000, west + 2000],
        },
        "y": {
            "type": "spatial",
            "reference_system": 32633,
            "step": 20,
            "extent": [north - 2000, north + 2000],
        },
    }

    cube = _load(archive.catalog(grid=grid), tmp_path, bands=["B04"])

    assert cube.crs == "EPSG:32633"
    assert float(cube.data.x[1] - cube.data.x[0]) == 20.0
    assert cube.data.sizes["x"] == 200
    assert _value_at(cube, 32632, *_centre(32632), bands="B04") == pytest.approx(0.05)


def test_the_spatial_extent_crops_the_items_grid(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    archive.add("2022-01-10T10:00:00Z", epsg=32632, values={"B04": 500})
    archive.add("2022-01-10T10:00:05Z", epsg=32633, values={"B04": 700})
    west, north = TILES[32632]
    extent = {
        "west": west + 100,
        "east": west + 300,
        "south": north - 300,
        "north": north - 100,
        "crs": 32632,
    }

    cube = _load(archive.catalog(), tmp_path, bands=["B04"], spatial_extent=extent)

    assert (cube.data.sizes["x"], cube.data.sizes["y"]) == (20, 20)
    np.testing.assert_allclose(cube.data.values, 0.05, atol=1e-6)


# --- the catalog client's access calls ------------------------------------------------------


class AccessCatalog(data_discovery_pb2_grpc.DataDiscoveryServiceServicer):
    """A data-discovery service answering the executor's access calls."""

    def GetCollectionAccess(self, request: pb.GetCollectionRequest, context: Any) -> Any:
        return pb.CollectionAccess(
            kind="stac-api",
            gdal_options={"AWS_NO_SIGN_REQUEST": "YES"},
            signing="planetary-computer",
            signing_url="https://sas.example/api/sas/v1",
            mosaic="newest-first",
        )

    def ListUpstreams(self, request: pb.ListUpstreamsRequest, context: Any) -> Any:
        return pb.ListUpstreamsResponse(urls=["https://stac.example/v1/"])


def _serve(servicer: Any) -> Iterator[str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    data_discovery_pb2_grpc.add_DataDiscoveryServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(0)


@pytest.fixture
def access_catalog() -> Iterator[str]:
    yield from _serve(AccessCatalog())


@pytest.fixture
def older_catalog() -> Iterator[str]:
    yield from _serve(data_discovery_pb2_grpc.DataDiscoveryServiceServicer())


def test_the_grpc_catalog_reads_a_collections_access_and_the_upstreams(
    access_catalog: str,
) -> None:
    catalog = GrpcCatalog(access_catalog, timeout_seconds=10)
    try:
        assert catalog.access(COLLECTION) == CollectionAccess(
            kind="stac-api",
            gdal_options={"AWS_NO_SIGN_REQUEST": "YES"},
            signing="planetary-computer",
            signing_url="https://sas.example/api/sas/v1",
            mosaic="newest-first",
        )
        assert catalog.upstreams() == ["https://stac.example/v1/"]
    finally:
        catalog.close()


def test_a_catalog_without_external_collections_has_ingested_ones_only(
    older_catalog: str,
) -> None:
    catalog = GrpcCatalog(older_catalog, timeout_seconds=10)
    try:
        assert catalog.access(COLLECTION) == CollectionAccess(kind="ingest")
        assert catalog.upstreams() == []
    finally:
        catalog.close()
