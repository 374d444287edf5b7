"""load_stac against a static catalog of COGs written here, served over loopback HTTP and read
from an allowed local directory, and against a tiny STAC API; pixels compared with the files."""

import json
import re
import select
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from pyproj import Transformer
from rasterio.transform import Affine

from eoplex_common.errors import NoDataAvailable, ProcessParameterInvalid, TemporalExtentEmpty
from eoplex_executor.engine.cube import RasterCube
from eoplex_executor.io.outbound import stop_guard_proxies
from eoplex_executor.processes import stac
from eoplex_executor.processes.stac import StacReader, StacSettings
from services.executor.tests.catalog import LocalCatalog
from services.executor.tests.cubes import make_environment, run_graph, run_process
from tests.stac_catalog import (
    BANDS,
    DATES,
    NORTH,
    RESOLUTION,
    SIZE,
    WEST,
    WrittenCatalog,
    wgs84_bbox,
    write_catalog,
    write_cog,
)
from tests.stac_server import serve


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> WrittenCatalog:
    return write_catalog(tmp_path_factory.mktemp("stac"))


@pytest.fixture(scope="module")
def base_url(written: WrittenCatalog) -> Iterator[str]:
    with serve(written.folder) as url:
        yield url


@pytest.fixture(autouse=True)
def no_local_roots(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("OPENEO_EXECUTOR_STAC_LOCAL_ROOTS", raising=False)
    # The test catalogs are served on loopback, which load_stac refuses by default.
    monkeypatch.setenv("OPENEO_EXECUTOR_STAC_ALLOW_PRIVATE_NETWORKS", "true")
    yield
    # The guard proxy a test with private networks refused started.
    stop_guard_proxies()


def test_non_public_hosts_are_refused_by_default(
    tmp_path: Path, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loopback, private and link-local (cloud metadata) hosts are out of reach, also for
    a request the reader is asked to send directly (as a redirect would be)."""
    monkeypatch.delenv("OPENEO_EXECUTOR_STAC_ALLOW_PRIVATE_NETWORKS")
    for url in (base_url + "catalog.json", "http://169.254.169.254/latest/", "http://10.0.0.1/"):
        with pytest.raises(ProcessParameterInvalid, match="non-public address"):
            load(tmp_path, url)
    with StacReader(StacSettings()) as reader:
        with pytest.raises(ProcessParameterInvalid, match="non-public address"):
            reader.request_json("GET", base_url + "catalog.json")


def load(tmp_path: Path, url: str, catalog: Any = None, **arguments: Any) -> RasterCube:
    """load_stac in an environment whose catalog is `catalog` (by default one without
    collections and registered STAC APIs)."""
    env = make_environment(tmp_path, catalog=catalog or LocalCatalog({}, {}))
    cube = run_process("load_stac", env, url=url, **arguments)
    assert isinstance(cube, RasterCube)
    return cube


def test_a_private_host_is_reachable_where_an_operator_registered_a_stac_api_there(
    tmp_path: Path, base_url: str, written: WrittenCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host and port of a registered STAC API pass the guard (documents and assets);
    another port of the same address does not."""
    monkeypatch.delenv("OPENEO_EXECUTOR_STAC_ALLOW_PRIVATE_NETWORKS")
    url = base_url + "catalog.json"
    with pytest.raises(ProcessParameterInvalid, match="non-public address"):
        load(tmp_path, url, bands=["B04"])
    registered = LocalCatalog({}, {}, upstream_urls=[base_url + "api/v1/"])

    cube = load(tmp_path, url, catalog=registered, bands=["B04"])

    assert_cube_holds(cube, written, DATES, ["B04"])
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        with pytest.raises(ProcessParameterInvalid, match="non-public address"):
            load(tmp_path, f"http://127.0.0.1:{other.getsockname()[1]}/", catalog=registered)


def assert_cube_holds(
    cube: RasterCube,
    written: WrittenCatalog,
    dates: list[str],
    bands: list[str],
    window: tuple[slice, slice] = (slice(None), slice(None)),
) -> None:
    assert [label[:10] for label in cube.labels("t")] == dates
    assert cube.labels("bands") == bands
    values = cube.data.values
    for t, date in enumerate(dates):
        for b, band in enumerate(bands):
            np.testing.assert_array_equal(values[t, b], written.expected(date, band)[window])


def test_static_catalog_over_http_equals_the_files(
    tmp_path: Path, written: WrittenCatalog, base_url: str
) -> None:
    cube = load(tmp_path, base_url + "catalog.json")
    assert cube.crs == "EPSG:32632"
    assert cube.dims == ("t", "bands", "y", "x")
    assert cube.data.dtype == np.float32
    assert cube.data.shape == (3, 2, SIZE, SIZE)
    assert float(cube.data.x[0]) == WEST + RESOLUTION / 2
    assert float(cube.data.y[0]) == NORTH - RESOLUTION / 2
    assert_cube_holds(cube, written, DATES, BANDS)


def test_extents_bands_and_properties_as_load_collection(
    tmp_path: Path, written: WrittenCatalog, base_url: str
) -> None:
    graph = {
        "load": {
            "process_id": "load_stac",
            "arguments": {
                "url": base_url + "collection.json",
                "spatial_extent": {
                    "west": WEST + 100,
                    "east": WEST + 300,
                    "south": NORTH - 400,
                    "north": NORTH - 200,
                    "crs": 32632,
                },
                "temporal_extent": ["2022-06-02", "2022-06-12"],
                "bands": ["B08"],
                "properties": {
                    "eo:cloud_cover": {
                        "process_graph": {
                            "cc": {
                                "process_id": "lte",
                                "arguments": {"x": {"from_parameter": "value"}, "y": 20},
                                "result": True,
                            }
                        }
                    }
                },
            },
            "result": True,
        }
    }
    cube = run_graph(graph, make_environment(tmp_path, catalog=LocalCatalog({}, {})))
    # 2022-06-06 has 40 % cloud cover; 2022-06-01 is before the extent.
    assert_cube_holds(cube, written, ["2022-06-11"], ["B08"], (slice(20, 40), slice(10, 30)))


def test_an_item_by_url(tmp_path: Path, written: WrittenCatalog, base_url: str) -> None:
    cube = load(tmp_path, base_url + "S2_20220606/S2_20220606.json", bands=["B04"])
    assert_cube_holds(cube, written, ["2022-06-06"], ["B04"])


def test_local_catalog_inside_an_allowed_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without proj:* fields the grid comes from the files' headers.
    written = write_catalog(tmp_path / "data" / "catalog", projection=False, seed=3)
    monkeypatch.setenv("OPENEO_EXECUTOR_STAC_LOCAL_ROOTS", f"/nonexistent:{tmp_path / 'data'}")
    cube = load(tmp_path, str(written.folder / "catalog.json"))
    assert_cube_holds(cube, written, DATES, BANDS)
    by_file_url = load(tmp_path, (written.folder / "collection.json").as_uri(), bands=["B08"])
    assert_cube_holds(by_file_url, written, DATES, ["B08"])


def test_local_paths_outside_the_allowed_roots_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = write_catalog(tmp_path / "catalog", seed=3)
    with pytest.raises(ProcessParameterInvalid, match="OPENEO_EXECUTOR_STAC_LOCAL_ROOTS"):
        load(tmp_path, str(written.folder / "catalog.json"))
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    monkeypatch.setenv("OPENEO_EXECUTOR_STAC_LOCAL_ROOTS", str(allowed))
    with pytest.raises(ProcessParameterInvalid, match="is not inside one"):
        load(tmp_path, str(allowed / ".." / "catalog" / "catalog.json"))
    with pytest.raises(ProcessParameterInvalid, match="is not inside one"):
        load(tmp_path, "/etc/passwd")


def test_multi_band_assets(tmp_path: Path, base_url: str, written: WrittenCatalog) -> None:
    folder = written.folder / "multiband"
    folder.mkdir(exist_ok=True)
    values = np.stack([written.arrays[("2022-06-01", band)] for band in BANDS])
    write_cog(folder / "stack.tif", values)
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "stack",
        "bbox": wgs84_bbox(),
        "geometry": None,
        "properties": {"datetime": "2022-06-01T10:00:00Z"},
        "assets": {
            "stack": {
                "href": "stack.tif",
                "type": "image/tiff; application=geotiff",
                "roles": ["data"],
                "eo:bands": [{"name": "red", "common_name": "red"}, {"name": "nir"}],
            },
            "thumbnail": {"href": "thumb.png", "type": "image/png", "roles": ["thumbnail"]},
        },
        "links": [],
    }
    (folder / "item.json").write_text(json.dumps(item))
    cube = load(tmp_path, base_url + "multiband/item.json", bands=["nir", "red"])
    assert cube.labels("bands") == ["nir", "red"]
    data = cube.data.values
    np.testing.assert_array_equal(data[0, 0], written.expected("2022-06-01", "B08"))
    np.testing.assert_array_equal(data[0, 1], written.expected("2022-06-01", "B04"))


# --- a STAC API ---------------------------------------------------------------------------


@pytest.mark.parametrize(("api", "method"), [("api", "POST"), ("api-get", "GET")])
def test_stac_api_item_search(
    tmp_path: Path, written: WrittenCatalog, base_url: str, api: str, method: str
) -> None:
    before = len(httpx.get(base_url + "api/requests").json())
    extent = {"west": WEST, "east": WEST + 200, "south": NORTH - 100, "north": NORTH, "crs": 32632}
    cube = load(
        tmp_path,
        base_url + f"{api}/collections/TEST_S2",
        spatial_extent=extent,
        temporal_extent=["2022-06-05", None],
    )
    assert_cube_holds(cube, written, DATES[1:], BANDS, (slice(0, 10), slice(0, 20)))
    searches = [
        body
        for used, body in httpx.get(base_url + "api/requests").json()[before:]
        if used == method
    ]
    assert len(searches) == 2  # one item per page
    first = searches[0]
    assert first["collections"] == ["TEST_S2"]
    assert first["datetime"] == "2022-06-05T00:00:00.000Z/.."
    to_wgs84 = Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True)
    expected = to_wgs84.transform_bounds(WEST, NORTH - 100, WEST + 200, NORTH, densify_pts=21)
    np.testing.assert_allclose(first["bbox"], expected, rtol=0, atol=1e-9)


# --- errors -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_clear_errors_for_bad_urls_and_documents(
    tmp_path: Path, written: WrittenCatalog, base_url: str
) -> None:
    (written.folder / "not-json.json").write_text("<html>")
    (written.folder / "not-stac.json").write_text('{"hello": "world"}')
    cases = {
        f"http://127.0.0.1:{free_port()}/catalog.json": "cannot read http://127.0.0.1:",
        base_url + "missing.json": "answered HTTP 404",
        base_url + "not-json.json": "is not JSON",
        base_url + "not-stac.json": "not a STAC Catalog, Collection, Item",
        "ftp://example.com/catalog.json": "neither an http(s) URL nor an absolute path",
        "catalog.json": "neither an http(s) URL nor an absolute path",
    }
    for url, reason in cases.items():
        with pytest.raises(ProcessParameterInvalid, match="load_stac") as raised:
            load(tmp_path, url)
        assert reason in raised.value.message, url


def properties_graph(url: str, name: str) -> dict[str, Any]:
    """load_stac of `url` with the condition `name` <= 20 on the items' properties."""
    condition = {"process_id": "lte", "arguments": {"x": {"from_parameter": "value"}, "y": 20}}
    arguments = {"url": url, "spatial_extent": None, "temporal_extent": None}
    arguments["properties"] = {name: {"process_graph": {"cc": {**condition, "result": True}}}}
    return {"load": {"process_id": "load_stac", "arguments": arguments, "result": True}}


def test_no_matching_items(tmp_path: Path, base_url: str) -> None:
    with pytest.raises(NoDataAvailable) as raised:
        load(tmp_path, base_url + "catalog.json", temporal_extent=["2023-01-01", "2023-02-01"])
    assert raised.value.message == (
        "There is no data available for the given extents. Process 'load_stac': no STAC item "
        "lies in the spatial and temporal extents."
    )
    env = make_environment(tmp_path, catalog=LocalCatalog({}, {}))
    with pytest.raises(NoDataAvailable) as raised:
        run_graph(properties_graph(base_url + "catalog.json", "view:sun_elevation"), env)
    assert raised.value.params["parameter"] == "properties"
    assert raised.value.message.endswith(
        "none of the 3 STAC items in the extents meets the property conditions; none of them "
        "has the properties 'view:sun_elevation'."
    )
    with pytest.raises(ProcessParameterInvalid, match=r"load_stac.*band 'B12' does not exist"):
        load(tmp_path, base_url + "catalog.json", bands=["B12"])
    with pytest.raises(TemporalExtentEmpty, match=r"load_stac.*start must be earlier"):
        load(tmp_path, base_url + "catalog.json", temporal_extent=["2022-07-01", "2022-06-01"])


@pytest.mark.parametrize(
    ("href", "reason"),
    [
        ("/etc/hostname", "is not inside one"),
        ("s3://eoplex-results/jobs/x/result.tif", "S3 bucket load_stac may not read"),
        ("gs://bucket/file.tif", "neither http(s), s3 nor a file"),
    ],
)
def test_assets_outside_what_may_be_read_are_refused(
    tmp_path: Path, written: WrittenCatalog, base_url: str, href: str, reason: str
) -> None:
    item = json.loads((written.folder / "S2_20220601" / "S2_20220601.json").read_text())
    item["assets"]["B04"]["href"] = href
    name = f"item-{abs(hash(href))}.json"
    (written.folder / "S2_20220601" / name).write_text(json.dumps(item))
    with pytest.raises(ProcessParameterInvalid, match=re.escape(reason)):
        load(tmp_path, base_url + f"S2_20220601/{name}", bands=["B04"])


def test_items_on_adjacent_tiles_extend_the_grid(
    tmp_path: Path, base_url: str, written: WrittenCatalog
) -> None:
    folder = written.folder / "tiles"
    folder.mkdir(exist_ok=True)
    links = []
    for tile, west in enumerate([WEST, WEST + SIZE * RESOLUTION]):
        values = written.arrays[(DATES[tile], "B04")]
        transform = Affine(RESOLUTION, 0.0, west, 0.0, -RESOLUTION, NORTH)
        write_cog(folder / f"tile{tile}.tif", values, transform=transform)
        item = {
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": f"tile{tile}",
            "bbox": wgs84_bbox(),
            "geometry": None,
            "properties": {"datetime": "2022-06-01T10:00:00Z"},
            "assets": {"B04": {"href": f"tile{tile}.tif", "roles": ["data"]}},
            "links": [],
        }
        (folder / f"tile{tile}.json").write_text(json.dumps(item))
        links.append({"rel": "item", "href": f"tile{tile}.json"})
    catalog = {"type": "Catalog", "id": "tiles", "description": "", "links": links}
    (folder / "catalog.json").write_text(json.dumps(catalog))
    cube = load(tmp_path, base_url + "tiles/catalog.json")
    assert cube.data.shape == (1, 1, SIZE, 2 * SIZE)
    assert float(cube.data.x[-1]) == WEST + (2 * SIZE - 0.5) * RESOLUTION
    mosaic = cube.data.values[0, 0]
    np.testing.assert_array_equal(mosaic[:, :SIZE], written.expected(DATES[0], "B04"))
    np.testing.assert_array_equal(mosaic[:, SIZE:], written.expected(DATES[1], "B04"))


def test_a_collection_with_an_items_link_but_no_item_search_is_walked(
    tmp_path: Path, base_url: str, written: WrittenCatalog
) -> None:
    collection = json.loads((written.folder / "collection.json").read_text())
    collection["links"].append({"rel": "items", "href": "./items.json"})
    (written.folder / "collection-with-items.json").write_text(json.dumps(collection))
    cube = load(tmp_path, base_url + "collection-with-items.json", bands=["B04"])
    assert_cube_holds(cube, written, DATES, ["B04"])


def _item_with_assets_at(written: WrittenCatalog, name: str, href_of: Any) -> str:
    """An item of the served catalog, written under `name` with asset hrefs `href_of(path)`."""
    item = json.loads((written.folder / "S2_20220606" / "S2_20220606.json").read_text())
    for band, asset in item["assets"].items():
        asset["href"] = href_of(f"S2_20220606/{band}.tif")
    (written.folder / name).write_text(json.dumps(item))
    return name


def test_assets_are_read_through_the_guard_which_refuses_a_redirect_inward(
    tmp_path: Path, written: WrittenCatalog, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With private networks refused, documents and assets travel through the outbound
    guard: an asset host (taken as public here) that redirects to a private address gets
    the request refused there, and the private address sees no connection."""
    monkeypatch.delenv("OPENEO_EXECUTOR_STAC_ALLOW_PRIVATE_NETWORKS")
    monkeypatch.setenv("GDAL_HTTP_TIMEOUT", "10")
    served_port = int(base_url.rsplit(":", 1)[1].strip("/"))
    monkeypatch.setattr(stac, "ALSO_ALLOWED", frozenset({("127.0.0.1", served_port)}))
    with socket.socket() as inward:
        # A private service: listening, never answering; a connection would queue here.
        inward.bind(("127.0.0.1", 0))
        inward.listen(8)
        inward_port = inward.getsockname()[1]

        direct = _item_with_assets_at(written, "direct.json", lambda path: base_url + path)
        cube = load(tmp_path, base_url + direct, bands=["B04"])
        assert_cube_holds(cube, written, ["2022-06-06"], ["B04"])

        redirected = _item_with_assets_at(
            written, "redirected.json", lambda path: f"{base_url}redirect/{inward_port}/{path}"
        )
        with pytest.raises(ProcessParameterInvalid, match=r"cannot read the asset .*redirect"):
            load(tmp_path, base_url + redirected, bands=["B04"]).data.compute()
        readable, _, _ = select.select([inward], [], [], 0)
        assert readable == []
