"""Estimate mode: what a process would read and write, counted without opening a file."""

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eoplex_common.errors import CollectionNotFound, FormatUnsuitable
from eoplex_executor.serve.estimate import ProcessEstimate, estimate_process
from eoplex_executor.serve.service import SyncProcessingService, WorkerPool
from eoplex_executor.serve.servicer import ExecutorServicer
from eoplex_executor.serve.worker import WorkerConfig
from eoplex_proto.openeo.executor.v1 import executor_pb2 as pb
from services.executor.tests.catalog import LocalCatalog, write_s2
from services.executor.tests.cubes import NORTH, WEST

SIZE = 64
DATES = ["20220601", "20220606", "20220611"]
# The sources are uint16 (2 bytes); load_collection makes them float32 (4 bytes).
SOURCE_BYTES, CUBE_BYTES = 2, 4


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> LocalCatalog:
    """Three dates of B04 and B08 on a 64 x 64 10 m grid, registered, then the files removed
    (hrefs to nowhere), so any attempt to read a pixel fails."""
    folder = tmp_path_factory.mktemp("s2")
    ones = np.ones((SIZE, SIZE), dtype=np.uint16)
    local = write_s2(folder, {(date, band): ones for date in DATES for band in ("B04", "B08")})
    items = copy.deepcopy(local.items)
    for item in items["S2"]:
        for asset in item["assets"].values():
            asset["href"] = str(Path("/nonexistent") / Path(asset["href"]).name)
    return LocalCatalog(local.collections, items)


def _load(**arguments: Any) -> dict[str, Any]:
    defaults = {"spatial_extent": None, "temporal_extent": None}
    return {"process_id": "load_collection", "arguments": {"id": "S2", **defaults, **arguments}}


def _save(node: str, format: str = "GTiff", options: Any = None) -> dict[str, Any]:
    arguments = {"data": {"from_node": node}, "format": format, "options": options or {}}
    return {"process_id": "save_result", "arguments": arguments, "result": True}


def _finer() -> dict[str, Any]:
    """B04 resampled from 10 m to 5 m (four times the pixels), saved as GTiff."""
    resample = {"data": {"from_node": "load"}, "resolution": 5}
    graph = {
        "load": _load(bands=["B04"]),
        "finer": {"process_id": "resample_spatial", "arguments": resample},
        "save": _save("finer"),
    }
    return {"process_graph": graph}


def test_whole_collection_as_per_date_gtiffs(catalog: LocalCatalog) -> None:
    graph = {"load": _load(), "save": _save("load")}
    values = len(DATES) * 2 * SIZE * SIZE
    assert estimate_process({"process_graph": graph}, catalog) == ProcessEstimate(
        pixels_read=values,
        bytes_read=values * SOURCE_BYTES,
        pixels_produced=0,
        pixels_written=values,
        bytes_written=values * CUBE_BYTES,
        files_written=len(DATES),
    )


def test_extent_band_and_reduction_with_output_datatype(catalog: LocalCatalog) -> None:
    # 200 m x 100 m in the corner: 20 x 10 pixels; two dates of one band.
    extent = {"west": WEST, "south": NORTH - 100, "east": WEST + 200, "north": NORTH}
    mean = {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}}}}
    mean["m"]["result"] = True
    graph = {
        "load": _load(
            spatial_extent={**extent, "crs": "EPSG:32632"},
            temporal_extent=["2022-06-01", "2022-06-07"],
            bands=["B08"],
        ),
        "reduce": {
            "process_id": "reduce_dimension",
            "arguments": {
                "data": {"from_node": "load"},
                "dimension": "t",
                "reducer": {"process_graph": mean},
            },
        },
        "save": _save("reduce", options={"datatype": "uint8"}),
    }
    estimate = estimate_process({"process_graph": graph}, catalog)
    assert estimate == ProcessEstimate(
        pixels_read=2 * 20 * 10,
        bytes_read=2 * 20 * 10 * SOURCE_BYTES,
        pixels_produced=0,
        pixels_written=20 * 10,
        bytes_written=20 * 10 * 1,
        files_written=1,
    )


def test_a_finer_resampling_counts_the_pixels_it_produces(catalog: LocalCatalog) -> None:
    estimate = estimate_process(_finer(), catalog)
    read = len(DATES) * SIZE * SIZE
    assert (estimate.pixels_read, estimate.pixels_produced) == (read, 3 * read)
    assert estimate.pixels_written == 4 * read


def test_trim_cube_is_estimated_without_reading(catalog: LocalCatalog) -> None:
    """trim_cube computes which labels hold data when it runs; an estimate takes the whole
    cube instead (the catalog's files do not exist: a read would fail)."""
    graph = {
        "load": _load(bands=["B04"]),
        "trim": {"process_id": "trim_cube", "arguments": {"data": {"from_node": "load"}}},
        "save": _save("trim"),
    }
    estimate = estimate_process({"process_graph": graph}, catalog)
    assert estimate.pixels_written == len(DATES) * SIZE * SIZE


def test_graph_without_save_result_counts_the_default_gtiff(catalog: LocalCatalog) -> None:
    graph = {"load": {**_load(bands=["B04"]), "result": True}}
    estimate = estimate_process({"process_graph": graph}, catalog)
    assert (estimate.files_written, estimate.bytes_written) == (
        len(DATES),
        len(DATES) * SIZE * SIZE * CUBE_BYTES,
    )


def test_netcdf_is_one_file(catalog: LocalCatalog) -> None:
    graph = {"load": _load(bands=["B04"]), "save": _save("load", "netCDF")}
    estimate = estimate_process({"process_graph": graph}, catalog)
    assert (estimate.files_written, estimate.pixels_written) == (1, len(DATES) * SIZE * SIZE)


def test_errors_before_reading_are_openeo_errors(catalog: LocalCatalog) -> None:
    with pytest.raises(CollectionNotFound):
        missing = {
            "process_id": "load_collection",
            "arguments": {**_load()["arguments"], "id": "S3"},
        }
        estimate_process({"process_graph": {"l": {**missing, "result": True}}}, catalog)
    png = {"load": _load(), "save": _save("load", "PNG")}
    with pytest.raises(FormatUnsuitable, match="PNG holds one image"):
        estimate_process({"process_graph": png}, catalog)


def test_estimate_through_the_servicer(catalog: LocalCatalog) -> None:
    service = SyncProcessingService(
        pool=WorkerPool(size=1, config=_unused_worker_config()),
        scratch_root=Path("/nonexistent"),
        max_concurrent_per_user=1,
        timeout_seconds=1.0,
        cost_per_megapixel=0.01,
        catalog=catalog,
    )
    servicer = ExecutorServicer(service)
    request = pb.EstimateRequest(process_json=json.dumps(_finer()), user_id="u")
    response = asyncio.run(servicer.Estimate(request, None))  # type: ignore[arg-type]
    values = len(DATES) * SIZE * SIZE
    assert (response.pixels_read, response.bytes_read) == (values, values * SOURCE_BYTES)
    assert response.pixels_produced == 3 * values
    assert (response.pixels_written, response.files_written) == (4 * values, len(DATES))


def _unused_worker_config() -> WorkerConfig:
    return WorkerConfig(
        environment={}, dask_threads=1, catalog_address="127.0.0.1:1", catalog_timeout_seconds=1
    )
