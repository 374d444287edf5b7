"""Attacks of issue 13, High "the synchronous pixel quota can be bypassed".

The attack: the quota counted only the pixels a graph reads. `resample_spatial` to a finer
resolution produced a 95,120,000-pixel GeoTIFF for a tenant limited to 5,000,000, priced
as the pixels read (2.4e-05), and finer resolutions pushed a worker past 3 GB. Every
process that makes a cube larger than what it was given (resample_spatial,
resample_cube_spatial, apply_dimension to more labels, aggregate_temporal to more
intervals than dates, merge_cubes, vector_to_regular_points, a child process holding more
values than it returns, ...) must count against the same quota, be refused before a pixel
is read, and be paid for; batch jobs are held to their budget the same way.
"""

import copy
import secrets
from pathlib import Path
from typing import Any

import numpy as np
import openeo
import pytest
import rasterio
from openeo.rest import OpenEoApiError
from rasterio.transform import Affine

from eoplex.stack import LocalStack
from eoplex_executor.serve.estimate import estimate_process
from eoplex_executor.serve.worker import Failed, SyncTask, run_task
from eoplex_ingest.folder import NamingRules
from services.executor.tests.catalog import LocalCatalog
from tests.stack import admin
from tests.test_e2e_files import connect

S2 = "SENTINEL2_L2A_DEMO"
EXTENT = {"west": 11.28, "south": 46.47, "east": 11.33, "north": 46.50}
# One date of the demo collection (every 5 days from 2022-05-01).
ONE_DATE = ["2022-06-05", "2022-06-06"]
# One band of one date of the demo collection in EXTENT: about 135,000 pixels at 10 m.
SYNC_PIXEL_LIMIT = 1_000_000


# --- end to end, through the whole stack ------------------------------------------------------


@pytest.fixture(scope="module")
def limited_user(local_stack: LocalStack) -> tuple[str, str]:
    """A user of a tenant of its own whose synchronous requests may hold 1,000,000 pixels."""
    assert local_stack.wait_for_demo_data(timeout_seconds=180)
    name = f"pixels-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    admin(local_stack, "tenants", "add", name, "--max-sync-pixels", str(SYNC_PIXEL_LIMIT))
    admin(local_stack, "users", "add", name, "--tenant", name, f"--password={password}")
    return name, password


@pytest.fixture(scope="module")
def connection(local_stack: LocalStack, limited_user: tuple[str, str]) -> openeo.Connection:
    return connect(local_stack, limited_user)


def one_band(connection: openeo.Connection) -> Any:
    return connection.load_collection(
        S2, spatial_extent=EXTENT, temporal_extent=ONE_DATE, bands=["B04"]
    )


def result_costs(connection: openeo.Connection, cube: Any) -> float:
    """`POST /result` of the cube as GeoTIFF; the `OpenEO-Costs` it was charged."""
    process = cube.save_result(format="GTiff").flat_graph()
    response = connection.post(
        "/result", json={"process": {"process_graph": process}}, expected_status=200
    )
    return float(response.headers["OpenEO-Costs"])


def test_resample_spatial_to_a_finer_resolution_is_refused_before_computing(
    connection: openeo.Connection, tmp_path: Path
) -> None:
    """Replays the attack: 10 m resampled to 1 m makes ~13,500,000 pixels of ~135,000 read,
    for a tenant limited to 1,000,000. Unfixed, the GeoTIFF was computed and sent."""
    with pytest.raises(OpenEoApiError) as raised:
        one_band(connection).resample_spatial(resolution=1).download(tmp_path / "fine.tif")
    assert raised.value.http_status_code == 400
    assert raised.value.code == "ProcessGraphComplexity"
    assert f"{SYNC_PIXEL_LIMIT:,}" in raised.value.message
    assert not (tmp_path / "fine.tif").exists()


def test_a_resampled_graph_within_the_quota_runs_and_costs_what_it_produces(
    connection: openeo.Connection, tmp_path: Path
) -> None:
    """Replays the pricing half of the attack: a 4x finer result was priced as the pixels
    read. Within the quota it runs, and costs as many times more as it holds pixels more."""
    plain, fine = tmp_path / "plain.tif", tmp_path / "fine.tif"
    one_band(connection).download(plain, format="GTiff")
    one_band(connection).resample_spatial(resolution=5).download(fine, format="GTiff")
    with rasterio.open(plain) as read, rasterio.open(fine) as produced:
        read_pixels = read.width * read.height
        produced_pixels = produced.width * produced.height
        assert np.isfinite(produced.read(1)).any()
    assert read_pixels < produced_pixels <= SYNC_PIXEL_LIMIT

    plain_costs = result_costs(connection, one_band(connection))
    fine_costs = result_costs(connection, one_band(connection).resample_spatial(resolution=5))

    assert fine_costs == pytest.approx(plain_costs * produced_pixels / read_pixels, rel=2e-3)


def test_a_batch_job_whose_budget_pays_only_for_what_it_reads_is_refused_at_start(
    connection: openeo.Connection,
) -> None:
    """Replays the attack on batch jobs: the budget of a job was never compared with its
    costs, which counted only the pixels read. A job reading ~135,000 pixels (about 0.0013
    at the default 0.01 per megapixel) and producing ~13,500,000 (about 0.135) with a
    budget of 0.01 is refused when started (PaymentRequired, as the API asks) and stays
    `created`. Unfixed, its estimate priced only the pixels read (0.001346) and nothing
    compared a budget when a job started."""
    cube = one_band(connection).resample_spatial(resolution=1)
    job = cube.create_job(out_format="GTiff", title="over budget", budget=0.01)
    try:
        estimate = connection.get(f"/jobs/{job.job_id}/estimate", expected_status=200).json()
        assert estimate["costs"] > 0.01
        with pytest.raises(OpenEoApiError) as raised:
            job.start()
        assert raised.value.http_status_code == 402
        assert raised.value.code == "PaymentRequired"
        assert "0.01" in raised.value.message
        assert job.status() == "created"
    finally:
        job.delete()


# --- in the executor: every process that grows a cube, before any pixel is read -------------

SIZE = 64
DATES = ["20220601", "20220606", "20220611"]
RULES = NamingRules(
    datetime_pattern=r"_(?P<datetime>\d{8})_", band_pattern=r"_(?P<band>B\d\d)\.tif$"
)
# Each graph below reads at most 42,400 pixels and holds more than 80,000.
LIMIT = 50_000


def write_collection(folder: Path, *, resolution: float, size: int, dates: list[str]) -> None:
    """B04 and B08 files of `size` x `size` pixels at `resolution` metres per date."""
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "uint16",
        "crs": "EPSG:32632",
        "transform": Affine(resolution, 0.0, 675000.0, 0.0, -resolution, 5155000.0),
        "nodata": 0,
    }
    for date in dates:
        for band in ("B04", "B08"):
            with rasterio.open(folder / f"S2_{date}_{band}.tif", "w", **profile) as dataset:
                dataset.write(np.ones((size, size), dtype=np.uint16), 1)


@pytest.fixture(scope="module")
def unreadable_catalog(tmp_path_factory: pytest.TempPathFactory) -> LocalCatalog:
    """S2 (64 x 64 at 10 m, three dates) and FINE (200 x 200 at 1 m, one date), registered,
    then every href pointed to nowhere: reading a single pixel fails."""
    collections: dict[str, Any] = {}
    items: dict[str, Any] = {}
    for name, resolution, size, dates in (("S2", 10.0, SIZE, DATES), ("FINE", 1.0, 200, DATES[:1])):
        folder = tmp_path_factory.mktemp(name)
        write_collection(folder, resolution=resolution, size=size, dates=dates)
        local = LocalCatalog.from_folder(folder, collection_id=name, rules=RULES)
        collections.update(local.collections)
        items.update(copy.deepcopy(local.items))
    for item in [item for listed in items.values() for item in listed]:
        for asset in item["assets"].values():
            asset["href"] = f"/nonexistent/{Path(asset['href']).name}"
    return LocalCatalog(collections, items)


def load(
    collection: str = "S2", bands: list[str] | None = None, extent: Any = None
) -> dict[str, Any]:
    arguments = {"id": collection, "spatial_extent": extent, "temporal_extent": None}
    return {"process_id": "load_collection", "arguments": {**arguments, "bands": bands or ["B04"]}}


def node(process_id: str, **arguments: Any) -> dict[str, Any]:
    return {"process_id": process_id, "arguments": arguments}


def child(process_id: str, **arguments: Any) -> dict[str, Any]:
    return {"process_graph": {"c": {**node(process_id, **arguments), "result": True}}}


DATA = {"from_parameter": "data"}
REPEATED = node("array_create", data=DATA, repeat=10)
HELD_IN_A_CHILD = {
    "repeat": REPEATED,
    "mean": {**node("mean", data={"from_node": "repeat"}), "result": True},
}
# 200 x 200 m in the grids' corner: 20 x 20 pixels of S2, 200 x 200 of FINE.
CORNER = {"west": 675000, "south": 5154800, "east": 675200, "north": 5155000, "crs": 32632}
SQUARE_NEAR_THE_GRID = {
    "type": "Polygon",
    "coordinates": [
        [[11.28, 46.47], [11.284, 46.47], [11.284, 46.4727], [11.28, 46.4727], [11.28, 46.47]]
    ],
}


def merge_doubling(times: int) -> dict[str, Any]:
    """One band merged with itself renamed, `times` times: 2**times bands of one read."""
    graph: dict[str, Any] = {"m0": load()}
    bands = ["B04"]
    for step in range(1, times + 1):
        renamed = [f"{band}_{step}" for band in bands]
        graph[f"r{step}"] = node(
            "rename_labels",
            data={"from_node": f"m{step - 1}"},
            dimension="bands",
            target=renamed,
            source=bands,
        )
        graph[f"m{step}"] = node(
            "merge_cubes", cube1={"from_node": f"m{step - 1}"}, cube2={"from_node": f"r{step}"}
        )
        bands = bands + renamed
    return graph


GROWING_GRAPHS = {
    "resample_spatial to a finer resolution": {
        "load": load(),
        "grow": node("resample_spatial", data={"from_node": "load"}, resolution=2),
    },
    "resample_cube_spatial onto a finer grid": {
        "load": load(bands=["B04", "B08"], extent=CORNER),
        "target": load("FINE", extent=CORNER),
        "grow": node(
            "resample_cube_spatial", data={"from_node": "load"}, target={"from_node": "target"}
        ),
    },
    "apply_dimension to ten times the labels": {
        "load": load(),
        "grow": node(
            "apply_dimension",
            data={"from_node": "load"},
            dimension="t",
            process={"process_graph": {"c": {**REPEATED, "result": True}}},
        ),
    },
    "aggregate_temporal to more intervals than dates": {
        "load": load(),
        "grow": node(
            "aggregate_temporal",
            data={"from_node": "load"},
            intervals=[[f"2022-05-{day:02d}", "2022-07-01"] for day in range(1, 21)],
            reducer=child("mean", data=DATA),
        ),
    },
    "merge_cubes of a cube with itself, again and again": merge_doubling(3),
    "a child process holding ten times the values it reduces": {
        "load": load(),
        "grow": node(
            "reduce_dimension",
            data={"from_node": "load"},
            dimension="t",
            reducer={"process_graph": HELD_IN_A_CHILD},
        ),
    },
    "vector_to_regular_points every metre": {
        "polygon": node("load_geojson", data=SQUARE_NEAR_THE_GRID, properties=[]),
        "metres": node("vector_reproject", data={"from_node": "polygon"}, projection=32632),
        "grow": node("vector_to_regular_points", data={"from_node": "metres"}, distance=1),
    },
}


@pytest.mark.parametrize("name", list(GROWING_GRAPHS))
def test_a_graph_that_grows_its_cube_beyond_the_quota_is_refused_before_reading(
    name: str, unreadable_catalog: LocalCatalog, tmp_path: Path
) -> None:
    """Replays the attack with every kind of process that makes a cube larger than its input:
    each graph reads less than the limit and holds more. The catalog's files do not exist,
    so a refusal after the first read would be a read error. Unfixed, only the pixels read
    were counted and the run went on to read."""
    graph = copy.deepcopy(GROWING_GRAPHS[name])
    last = list(graph)[-1]
    graph[last]["result"] = True
    task = SyncTask(
        process={"process_graph": graph},
        scratch_dir=tmp_path,
        max_pixels=LIMIT,
        request_id=f"pixels-{secrets.token_hex(4)}",
    )

    reply = run_task(task, catalog=unreadable_catalog)

    assert isinstance(reply, Failed), reply
    assert reply.code == "ProcessGraphComplexity", reply.message
    assert f"{LIMIT:,}" in reply.message


def test_the_same_graphs_without_a_limit_are_counted_for_what_they_produce(
    unreadable_catalog: LocalCatalog,
) -> None:
    """The counterpart: the estimate of a batch job (no limit, nothing read) reports what the
    growing processes produce, so that its costs follow. Unfixed, it counted only reads."""
    for name, graph in GROWING_GRAPHS.items():
        graph = copy.deepcopy(graph)
        graph[list(graph)[-1]]["result"] = True
        estimate = estimate_process({"process_graph": graph}, unreadable_catalog)
        assert estimate.pixels_read < LIMIT < estimate.pixels_read + estimate.pixels_produced, name
