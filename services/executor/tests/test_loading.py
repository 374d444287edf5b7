"""load_collection against real GeoTIFFs registered by the real ingest code (catalog in memory)."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasterio.transform import Affine

from eoplex_common.errors import (
    CollectionNotFound,
    NoDataAvailable,
    ProcessGraphComplexity,
    ProcessParameterInvalid,
    TemporalExtentEmpty,
)
from eoplex_executor.engine.cube import RasterCube
from eoplex_executor.io.cog import PixelGrid, Source, cube_from_sources, read_window
from services.executor.tests.catalog import S2_RULES, LocalCatalog, write_geotiff
from services.executor.tests.cubes import make_environment, run_process

WEST, NORTH, SIZE = 675000.0, 5155000.0, 64


def from_origin(west: float, north: float, xres: float, yres: float) -> Affine:
    """A north-up transform (rasterio's own helper warns with this affine version)."""
    return Affine(xres, 0.0, west, 0.0, -yres, north)


DATES = ["20220601", "20220606", "20220611"]


def _write(path: Path, values: np.ndarray, *, cloud: float | None = None, **grid: Any) -> None:
    """A GeoTIFF in 32 x 32 tiles, with its cloud cover as a tag when given."""
    tags = None if cloud is None else {"CLOUD_COVER": str(cloud)}
    write_geotiff(path, values, tags=tags, tiled=True, blockxsize=32, blockysize=32, **grid)


@pytest.fixture(scope="module")
def written(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[LocalCatalog, dict[tuple[str, str], np.ndarray]]:
    """Three dates of B04 and B08 (uint16, nodata 0, red > nir in places); the written arrays."""
    folder = tmp_path_factory.mktemp("s2")
    rng = np.random.default_rng(1)
    arrays = {}
    for index, date in enumerate(DATES):
        for band in ("B04", "B08"):
            values = rng.integers(1, 10000, size=(SIZE, SIZE), dtype=np.uint16)
            values[index, :5] = 0  # some no-data
            arrays[(date, band)] = values
            _write(folder / f"S2_{date}_{band}.tif", values, cloud=10.0 * (index + 1))
    catalog = LocalCatalog.from_folder(folder, collection_id="S2", rules=S2_RULES)
    return catalog, arrays


def _expected(
    arrays: dict[tuple[str, str], np.ndarray], dates: list[str], bands: list[str]
) -> np.ndarray:
    stack = np.stack([np.stack([arrays[(d, b)] for b in bands]) for d in dates]).astype(np.float32)
    stack[stack == 0] = np.nan
    return stack


def _load(
    catalog: LocalCatalog, tmp_path: Path, max_pixels: int = 0, **arguments: Any
) -> RasterCube:
    env = make_environment(tmp_path, catalog=catalog, max_pixels=max_pixels)
    arguments = {"id": "S2", "spatial_extent": None, "temporal_extent": None, **arguments}
    cube = run_process("load_collection", env, **arguments)
    assert isinstance(cube, RasterCube)
    return cube


def test_chunks_are_1024_rows_of_up_to_2048_columns(tmp_path: Path) -> None:
    # Nothing is read: the cube is lazy. A chunk of a plane up to 2048 wide spans its width,
    # so its window of a COG is whole rows of tiles, one HTTP range.
    dates = np.array(["2022-06-01"], dtype="datetime64[ns]")
    env = make_environment(tmp_path)
    for (height, width), rows, columns in [
        ((3000, 2048), (1024, 1024, 952), (2048,)),
        ((1000, 5000), (1000,), (2048, 2048, 904)),
    ]:
        grid = PixelGrid("EPSG:32632", WEST, NORTH, 10.0, width, height)
        source = Source("missing.tif", "EPSG:32632", grid.transform(), nodata=0)
        info = {"B04": {"data_type": "uint16"}}
        cube = cube_from_sources(grid, dates, [[[source]]], ["B04"], info, env=env, name="S2")
        assert cube.data.chunks == ((1,), (1,), rows, columns)


def test_whole_collection_equals_the_files_with_nodata_as_nan(written: Any, tmp_path: Path) -> None:
    catalog, arrays = written
    cube = _load(catalog, tmp_path)
    assert cube.dims == ("t", "bands", "y", "x")
    assert cube.crs == "EPSG:32632"
    assert cube.data.chunks is not None  # lazy until saved
    assert cube.labels("t") == [
        "2022-06-01T00:00:00Z",
        "2022-06-06T00:00:00Z",
        "2022-06-11T00:00:00Z",
    ]
    assert cube.labels("bands") == ["B04", "B08"]
    assert cube.data.dtype == np.float32
    np.testing.assert_array_equal(cube.data.values, _expected(arrays, DATES, ["B04", "B08"]))
    assert cube.data.x.values[0] == WEST + 5 and cube.data.y.values[0] == NORTH - 5


def test_bbox_in_the_collection_crs_reads_exactly_the_covered_pixels(
    written: Any, tmp_path: Path
) -> None:
    catalog, arrays = written
    extent = {
        "west": WEST + 100,
        "south": NORTH - 300,
        "east": WEST + 250,
        "north": NORTH - 95,
        "crs": 32632,
    }
    cube = _load(catalog, tmp_path, spatial_extent=extent, bands=["B08"])
    # Snapped outwards to whole pixels: rows 9..29, columns 10..24.
    expected = _expected(arrays, DATES, ["B08"])[:, :, 9:30, 10:25]
    np.testing.assert_array_equal(cube.data.values, expected)


def test_bbox_in_wgs84_is_transformed_to_the_collection_crs(written: Any, tmp_path: Path) -> None:
    catalog, arrays = written
    extent = {"west": 11.2840, "south": 46.5215, "east": 11.2870, "north": 46.5240}
    cube = _load(catalog, tmp_path, spatial_extent=extent, bands=["B04"])
    cols = np.round((cube.data.x.values - WEST - 5) / 10).astype(int)
    rows = np.round((NORTH - 5 - cube.data.y.values) / 10).astype(int)
    assert 0 < cube.data.sizes["x"] < SIZE and 0 < cube.data.sizes["y"] < SIZE
    expected = _expected(arrays, DATES, ["B04"])[:, :, rows][:, :, :, cols]
    np.testing.assert_array_equal(cube.data.values, expected)


def test_temporal_extent_is_half_open(written: Any, tmp_path: Path) -> None:
    catalog, _ = written
    cube = _load(catalog, tmp_path, temporal_extent=["2022-06-01", "2022-06-11"])
    assert cube.labels("t") == ["2022-06-01T00:00:00Z", "2022-06-06T00:00:00Z"]
    cube = _load(catalog, tmp_path, temporal_extent=["2022-06-06T00:00:00Z", None])
    assert cube.labels("t") == ["2022-06-06T00:00:00Z", "2022-06-11T00:00:00Z"]


def test_bands_by_common_name_in_the_requested_order(written: Any, tmp_path: Path) -> None:
    catalog, _ = written
    cube = _load(catalog, tmp_path, bands=["nir", "B04"])
    assert cube.labels("bands") == ["B08", "B04"]


def test_property_filters_are_child_processes_on_item_properties(
    written: Any, tmp_path: Path
) -> None:
    catalog, _ = written
    cube = _load(catalog, tmp_path, properties={"eo:cloud_cover": lambda value: value <= 20})
    assert cube.labels("t") == ["2022-06-01T00:00:00Z", "2022-06-06T00:00:00Z"]


def test_pixel_limit_points_to_batch_jobs(written: Any, tmp_path: Path) -> None:
    catalog, _ = written
    with pytest.raises(ProcessGraphComplexity, match="batch job"):
        _load(catalog, tmp_path, max_pixels=SIZE * SIZE * 2 * 3 - 1)
    _load(catalog, tmp_path, max_pixels=SIZE * SIZE * 2 * 3)


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"bands": ["B99"]}, "bands"),
        ({"temporal_extent": ["June", None]}, "temporal_extent"),
        ({"temporal_extent": [None, None]}, "temporal_extent"),
        ({"spatial_extent": {"west": "x"}}, "spatial_extent"),
        ({"spatial_extent": {"type": "Point"}}, "spatial_extent"),
    ],
)
def test_bad_arguments_are_process_parameter_errors(
    written: Any, tmp_path: Path, arguments: dict[str, Any], parameter: str
) -> None:
    catalog, _ = written
    with pytest.raises(ProcessParameterInvalid) as raised:
        _load(catalog, tmp_path, **arguments)
    assert raised.value.params["parameter"] == parameter


@pytest.mark.parametrize("extent", [["2022-06-11", "2022-06-01"], ["2022-06-01", "2022-06-01"]])
def test_an_interval_that_ends_before_it_starts_is_temporal_extent_empty(
    written: Any, tmp_path: Path, extent: list[str]
) -> None:
    catalog, _ = written
    with pytest.raises(TemporalExtentEmpty) as raised:
        _load(catalog, tmp_path, temporal_extent=extent)
    assert raised.value.params["parameter"] == "temporal_extent"
    assert raised.value.message.startswith("The temporal extent is empty.")


@pytest.mark.parametrize(
    "extents",
    [
        {"temporal_extent": ["2023-01-01", None]},
        {"spatial_extent": {"west": 0, "south": 0, "east": 1, "north": 1}},
    ],
)
def test_extents_without_data_are_no_data_available(
    written: Any, tmp_path: Path, extents: dict[str, Any]
) -> None:
    catalog, _ = written
    with pytest.raises(NoDataAvailable) as raised:
        _load(catalog, tmp_path, **extents)
    assert raised.value.message.startswith("There is no data available for the given extents. ")


def test_unknown_collection(written: Any, tmp_path: Path) -> None:
    catalog, _ = written
    with pytest.raises(CollectionNotFound):
        _load(catalog, tmp_path, id="NOPE")


def test_geojson_extent_uses_the_geometries_bounds(written: Any, tmp_path: Path) -> None:
    catalog, _ = written
    polygon = {
        "type": "Polygon",
        "coordinates": [
            [[11.2840, 46.5215], [11.2870, 46.5215], [11.2870, 46.5240], [11.2840, 46.5215]]
        ],
    }
    by_box = _load(
        catalog,
        tmp_path,
        spatial_extent={"west": 11.2840, "south": 46.5215, "east": 11.2870, "north": 46.5240},
    )
    by_geometry = _load(
        catalog, tmp_path, spatial_extent={"type": "Feature", "geometry": polygon, "properties": {}}
    )
    assert by_box.data.shape == by_geometry.data.shape


def test_mosaic_and_reprojection_of_files_on_other_grids(tmp_path: Path) -> None:
    """A window mosaicked from a file on the grid and, where that has no data, a file in
    another CRS and resolution read through a warped view (nearest neighbour)."""
    aligned = np.full((8, 8), 7, dtype=np.uint16)
    aligned[:, 4:] = 0  # no data in the east half
    _write(tmp_path / "a.tif", aligned)
    # The same area in EPSG:4326 at ~0.0001 degree, constant 3.
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(32632, 4326, always_xy=True).transform(WEST - 50, NORTH + 50)
    other = np.full((40, 40), 3, dtype=np.uint16)
    _write(
        tmp_path / "b.tif", other, crs="EPSG:4326", transform=from_origin(lon, lat, 0.0001, 0.0001)
    )
    grid = PixelGrid(crs="EPSG:32632", west=WEST, north=NORTH, resolution=10.0, width=8, height=8)
    sources = [
        Source(str(tmp_path / name), "", from_origin(0, 0, 1, 1), 0) for name in ("a.tif", "b.tif")
    ]
    window = read_window(grid, sources, 0, 8, 0, 8, np.dtype("float32"))
    np.testing.assert_array_equal(window[:, :4], 7)
    np.testing.assert_array_equal(window[:, 4:], 3)
