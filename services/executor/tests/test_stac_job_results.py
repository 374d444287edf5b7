"""load_stac of the back-end's own batch job results: read from the results bucket for the
job's owner (asked of a jobs service over gRPC, as the caller), never through the URL's
host, which is loopback here and so refused by the outbound guard."""

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

from conftest import Infrastructure
from eoplex.servers import free_port
from eoplex_common.errors import JobNotFinished, JobNotFound, ProcessParameterInvalid
from eoplex_common.rpc import GrpcService
from eoplex_common.s3 import connect_s3, ensure_bucket
from eoplex_common.settings import InfrastructureSettings
from eoplex_executor.engine.cube import RasterCube
from eoplex_executor.io.clients import Workspace
from eoplex_executor.io.gdal import gdal_environment
from eoplex_executor.io.outbound import stop_guard_proxies
from eoplex_proto.openeo.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from services.executor.tests.catalog import LocalCatalog
from services.executor.tests.cubes import make_environment, run_process
from tests.stac_catalog import write_cog

BUCKET = "eoplex-results-own"
OWNER = ("alice", "t1")
RUNNING = "j-still-running"
DATES = ["2022-06-05T00:00:00Z", "2022-06-10T00:00:00Z"]


class OwnedResults(jobs_pb2_grpc.JobsServiceServicer):
    """GetResults as the jobs service answers it: the results Item of the owner's finished
    job; JobNotFound for anyone else's, JobNotFinished for a running job."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.per_date = job_id + "-per-date"

    async def GetResults(self, request: jobs_pb2.GetResultsRequest, context: Any) -> Any:
        owner = (request.owner.user_id, request.owner.tenant_id)
        if owner == OWNER and request.job_id == RUNNING:
            raise JobNotFinished()
        if owner != OWNER or request.job_id not in (self.job_id, self.per_date):
            raise JobNotFound(identifier=request.job_id)
        if request.job_id == self.per_date:
            document = _results_item(request.job_id, [f"result_{date}.tif" for date in DATES])
            document["properties"] = {
                "datetime": None,
                "start_datetime": DATES[0],
                "end_datetime": DATES[1],
            }
        else:
            document = _results_item(request.job_id, ["result.tif"])
        return jobs_pb2.GetResultsResponse(document_json=json.dumps(document))


def _results_item(job_id: str, files: list[str]) -> dict[str, Any]:
    def asset(name: str) -> dict[str, Any]:
        return {
            # What clients are given: a link the executor must not follow.
            "href": f"http://127.0.0.1:9/openeo/1.2/jobs/{job_id}/results/signed/{name}",
            "type": "image/tiff; application=geotiff",
            "roles": ["data"],
            "bands": [{"name": "ndvi", "data_type": "uint16"}],
        }

    return {
        "stac_version": "1.0.0",
        "type": "Feature",
        "id": job_id,
        "geometry": None,
        "properties": {"datetime": "2022-06-01T00:00:00Z"},
        "assets": {name: asset(name) for name in files},
        "links": [],
    }


@pytest.fixture
def values() -> np.ndarray:
    return np.random.default_rng(3).integers(1, 1000, size=(128, 128), dtype=np.uint16)


@pytest.fixture
def stored_job(
    infrastructure: Infrastructure,
    values: np.ndarray,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """A finished job's result file in the results bucket; GDAL set up to read that S3 as
    a worker is; the guard on (no private network allowed)."""
    settings = InfrastructureSettings(**infrastructure.env)
    for name, value in gdal_environment(settings, cachemax_mb=64).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OPENEO_JOBS_RESULTS_BUCKET", BUCKET)
    monkeypatch.delenv("OPENEO_EXECUTOR_STAC_ALLOW_PRIVATE_NETWORKS", raising=False)
    job_id = "j-" + secrets.token_hex(8)
    s3 = connect_s3(settings)
    ensure_bucket(s3, BUCKET)
    write_cog(tmp_path / "result.tif", values, blocksize=128)
    s3.fput_object(BUCKET, f"jobs/{job_id}/result.tif", str(tmp_path / "result.tif"))
    # A job of one file per date, each tagged with its date as save_result tags them.
    for index, date in enumerate(DATES):
        path = tmp_path / f"result_{date}.tif"
        write_cog(path, values + index, blocksize=128)
        with rasterio.open(path, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as dataset:
            dataset.update_tags(1, datetime=date)
        s3.fput_object(BUCKET, f"jobs/{job_id}-per-date/{path.name}", str(path))
    return job_id


@pytest.fixture
async def workspace(stored_job: str) -> AsyncIterator[Workspace]:
    server = GrpcService(name="jobs", listen=f"127.0.0.1:{free_port()}", grace_seconds=0.1)
    jobs_pb2_grpc.add_JobsServiceServicer_to_server(OwnedResults(stored_job), server.server)
    await server.start()
    nowhere = f"127.0.0.1:{free_port()}"
    workspace = Workspace(
        processes_address=nowhere,
        files_address=nowhere,
        jobs_address=server.listen,
        timeout_seconds=5,
    )
    try:
        yield workspace
    finally:
        workspace.close()
        await server.stop()
        stop_guard_proxies()


async def load_as(user_id: str, workspace: Workspace, url: str, tmp_path: Path) -> RasterCube:
    """load_stac as `user_id`, in a thread: the jobs server answers on this event loop."""
    return await asyncio.to_thread(_load_as, user_id, workspace, url, tmp_path)


def _load_as(user_id: str, workspace: Workspace, url: str, tmp_path: Path) -> RasterCube:
    env = make_environment(tmp_path, catalog=LocalCatalog({}, {}))
    env.job_results = workspace.for_owner(user_id=user_id, tenant_id="t1").job_results
    cube = run_process(
        "load_stac", env, url=url, spatial_extent=None, temporal_extent=None, bands=None
    )
    assert isinstance(cube, RasterCube)
    return cube


def urls(job_id: str) -> list[str]:
    """The job's results URL (`load_stac_from_job` without a canonical link) and its signed
    canonical link, on a loopback host the guard refuses."""
    api = f"http://127.0.0.1:{free_port()}/openeo/1.2"
    return [
        f"{api}/jobs/{job_id}/results",
        f"{api}/jobs/{job_id}/results/signed?expires=1&signature=00",
    ]


async def test_the_owner_loads_a_jobs_results_from_the_results_bucket(
    stored_job: str, workspace: Workspace, values: np.ndarray, tmp_path: Path
) -> None:
    for url in urls(stored_job):
        cube = await load_as("alice", workspace, url, tmp_path)
        assert list(cube.data.coords["bands"].values) == ["ndvi"]
        data = await asyncio.to_thread(cube.data.isel(t=0, bands=0).compute)
        np.testing.assert_array_equal(data.values, values)


async def test_a_job_of_one_file_per_date_loads_as_those_dates(
    stored_job: str, workspace: Workspace, values: np.ndarray, tmp_path: Path
) -> None:
    (url, _) = urls(stored_job + "-per-date")
    cube = await load_as("alice", workspace, url, tmp_path)
    assert [str(label)[:10] for label in cube.data.coords["t"].values] == [
        "2022-06-05",
        "2022-06-10",
    ]
    data = await asyncio.to_thread(cube.data.isel(bands=0).compute)
    for index in range(len(DATES)):
        np.testing.assert_array_equal(data.isel(t=index).values, values + index)


async def test_another_users_job_is_refused_however_it_is_named(
    stored_job: str, workspace: Workspace, tmp_path: Path
) -> None:
    for url in urls(stored_job):
        with pytest.raises(ProcessParameterInvalid, match="not one of yours"):
            await load_as("bob", workspace, url, tmp_path)


async def test_a_job_without_results_says_so(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ProcessParameterInvalid, match="has no results"):
        await load_as("alice", workspace, urls(RUNNING)[0], tmp_path)
