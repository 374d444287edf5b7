"""`run-job` against the real NATS and S3, the specs a launcher would hand it, and
GeoTIFFs registered in a catalog held in memory."""

import asyncio
import copy
import io
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import rasterio
from minio import Minio
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from conftest import Infrastructure
from eoplex_common import job_events
from eoplex_common.errors import CollectionNotFound
from eoplex_common.events import connect_nats, publish_event
from eoplex_common.job_events import JobEvent, LogEvent, ProgressEvent, StatusEvent
from eoplex_common.s3 import connect_s3
from eoplex_executor.batch.events import JobEvents
from eoplex_executor.batch.run_job import EXIT_CANCELED, BatchJob, read_spec, run_job
from eoplex_executor.engine.environment import Environment, ItemSearch, Limits
from eoplex_executor.engine.run import run_process
from eoplex_executor.engine.settings import ExecutorSettings
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2, data_discovery_pb2_grpc
from eoplex_proto.openeo.jobs.v1 import jobs_pb2
from services.executor.tests.catalog import CatalogInFront, LocalCatalog, write_s2
from services.executor.tests.cubes import NORTH, WEST

SIZE = 64
DATES = {"20220601": "2022-06-01T00:00:00Z", "20220606": "2022-06-06T00:00:00Z"}
BANDS = ("B04", "B08")
BUCKET = "eoplex-results-test"


def _load(collection: str = "S2") -> dict[str, Any]:
    arguments = {"id": collection, "spatial_extent": None, "temporal_extent": None}
    return {"process_id": "load_collection", "arguments": arguments}


SAVE_GTIFF = {
    "process_id": "save_result",
    "arguments": {"data": {"from_node": "load"}, "format": "GTiff"},
    "result": True,
}
GRAPH = {"process_graph": {"load": _load(), "save": SAVE_GTIFF}}


@dataclass
class SlowCatalog(CatalogInFront):
    """`LocalCatalog` whose searches take a while, so that a run outlasts a heartbeat."""

    seconds: float = 0.6

    def search_items(self, search: ItemSearch) -> list[dict[str, Any]]:
        time.sleep(self.seconds)
        return super().search_items(search)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalCatalog, dict[Any, Any]]:
    """Two dates of B04 and B08 (uint16, nodata 0) on a 64 x 64 10 m grid; the arrays."""
    folder = tmp_path_factory.mktemp("s2")
    rng = np.random.default_rng(7)
    arrays = {
        (date, band): rng.integers(1, 10000, size=(SIZE, SIZE), dtype=np.uint16)
        for date in DATES
        for band in BANDS
    }
    return write_s2(folder, arrays), arrays


class Specs:
    """The specs a launcher hands `run-job`, by job id."""

    def __init__(self) -> None:
        self.specs: dict[str, jobs_pb2.JobSpec] = {}

    def add(self, process: dict[str, Any], **limits: int) -> str:
        """A running job; `limits` are the spec's `max_pixels` and `paid_pixels`."""
        job_id = "j-" + secrets.token_hex(12)
        job = jobs_pb2.Job(job_id=job_id, status="running", process_json=json.dumps(process))
        owner = jobs_pb2.Owner(user_id="alice", tenant_id="t1")
        self.specs[job_id] = jobs_pb2.JobSpec(job=job, owner=owner, **limits)
        return job_id


class UnreadableCatalog(CatalogInFront):
    """`LocalCatalog` whose items point to files that do not exist: any read fails."""

    def search_items(self, search: ItemSearch) -> list[dict[str, Any]]:
        items = copy.deepcopy(super().search_items(search))
        for item in items:
            for asset in item["assets"].values():
                asset["href"] = f"/nonexistent/{Path(asset['href']).name}"
        return items


class HangingCatalog(data_discovery_pb2_grpc.DataDiscoveryServiceServicer):
    """A data-discovery service that never answers, so a job stays busy until canceled."""

    async def GetCollection(
        self, request: data_discovery_pb2.GetCollectionRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


@dataclass
class Harness:
    """The job specs, NATS and S3 of one test, and how to run a job against them."""

    jobs: Specs
    nats: NATS
    js: JetStreamContext
    s3: Minio
    settings: ExecutorSettings

    async def run(self, job_id: str, catalog: Any, publish: Any = None) -> int:
        job = BatchJob(
            spec=self.jobs.specs[job_id],
            settings=self.settings,
            catalog=catalog,
            s3=self.s3,
            publish=publish or self.publish,
        )
        return await run_job(job)

    async def publish(self, subject: str, payload: bytes) -> None:
        await publish_event(self.js, subject, payload)

    async def events(self, job_id: str, *, wait: float = 1.0) -> list[JobEvent]:
        """Every event of the job in the `JOBS` stream, in stream order."""
        subscription = await self.js.subscribe(f"jobs.{job_id}.*", ordered_consumer=True)
        found: list[JobEvent] = []
        try:
            while True:
                message = await subscription.next_msg(timeout=wait)
                _, kind = job_events.parse_subject(message.subject)
                found.append(job_events.parse_event(kind, message.data))
        except TimeoutError:
            return found
        finally:
            await subscription.unsubscribe()


async def _serve(servicer: Any, add: Callable[[Any, grpc.aio.Server], None]) -> tuple[Any, str]:
    server = grpc.aio.server()
    add(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


@pytest.fixture
async def harness(infrastructure: Infrastructure, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = ExecutorSettings(
        nats_url=infrastructure.nats_url,
        s3_endpoint=infrastructure.s3_endpoint,
        s3_access_key=infrastructure.s3_credentials.access_key,
        s3_secret_key=infrastructure.s3_credentials.secret_key,
        scratch_dir=tmp_path / "scratch",
        results_bucket=BUCKET,
        job_heartbeat_seconds=0.2,
        job_event_retry_seconds=5.0,
        dask_threads=2,
    )
    nats = await connect_nats(infrastructure.nats_url, name="run-job-test")
    js = nats.jetstream()
    await job_events.ensure_jobs_stream(js)
    try:
        yield Harness(jobs=Specs(), nats=nats, js=js, s3=connect_s3(settings), settings=settings)
    finally:
        await nats.close()


def _statuses(events: list[JobEvent]) -> list[StatusEvent]:
    return [event for event in events if isinstance(event, StatusEvent)]


def _logs(events: list[JobEvent]) -> list[LogEvent]:
    return [event for event in events if isinstance(event, LogEvent)]


async def test_finished_job_reports_assets_and_usage_and_uploads_per_date_gtiffs(
    harness: Harness, written: tuple[LocalCatalog, dict[Any, Any]], tmp_path: Path
) -> None:
    catalog, arrays = written
    job_id = harness.jobs.add(GRAPH)

    assert await harness.run(job_id, SlowCatalog(catalog)) == 0

    events = await harness.events(job_id)
    statuses = _statuses(events)
    assert [event.status for event in statuses] == ["finished"]
    # `running` is the scheduler's; the executor's first event is its first heartbeat.
    assert isinstance(events[0], ProgressEvent) and events[0].progress == 0.0
    assert events[-1] == statuses[-1]
    assert any(isinstance(event, ProgressEvent) for event in events)
    messages = [event.message for event in _logs(events)]
    assert messages[0] == f"job {job_id} started"
    assert any(
        message.startswith("read 16,384 input pixels (32,768 bytes)") for message in messages
    )
    names = [f"result_{iso.replace(':', '-')}.tif" for iso in DATES.values()]
    for name in names:
        assert any(message.startswith(f"wrote {name}") for message in messages)

    # What save_result writes for the same graph, independently of run-job.
    reference = tmp_path / "reference"
    reference.mkdir()
    env = Environment(catalog=catalog, scratch_dir=reference, limits=Limits(single_file=False))
    expected = {output.path.name: output.path.read_bytes() for output in run_process(GRAPH, env)}
    assert sorted(expected) == sorted(names)

    finished = statuses[-1]
    assert [asset["name"] for asset in finished.assets] == names
    for asset, (date, iso) in zip(finished.assets, DATES.items(), strict=True):
        key = f"jobs/{job_id}/{asset['name']}"
        stored = harness.s3.get_object(BUCKET, key).read()
        assert stored == expected[asset["name"]]
        assert asset == {
            "name": asset["name"],
            "key": key,
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["data"],
            "file:size": len(stored),
            "datetime": iso,
            "proj:code": "EPSG:32632",
            "proj:epsg": 32632,
            "proj:shape": [SIZE, SIZE],
            "proj:transform": [10.0, 0.0, WEST, 0.0, -10.0, NORTH],
            "proj:bbox": [WEST, NORTH - 10 * SIZE, WEST + 10 * SIZE, NORTH],
            "bands": [{"name": band, "data_type": "float32", "nodata": "nan"} for band in BANDS],
            "raster:bands": asset["raster:bands"],
            "bbox": asset["bbox"],
        }
        # The footprint in WGS 84, for the results Item: UTM 32N near 11.2 E, 46.5 N.
        west, south, east, north = asset["bbox"]
        assert 11.2 < west < east < 11.3 and 46.5 < south < north < 46.6
        assert (east - west) * 75_000 == pytest.approx(10 * SIZE, rel=0.05)
        content_type = harness.s3.stat_object(BUCKET, key).content_type
        assert content_type == asset["type"]
        local = tmp_path / asset["name"]
        local.write_bytes(stored)
        with rasterio.open(local) as dataset:
            for index, band in enumerate(BANDS, start=1):
                np.testing.assert_array_equal(dataset.read(index), arrays[(date, band)])
                described = asset["raster:bands"][index - 1]
                assert (described["data_type"], described["nodata"]) == ("float32", "nan")
                valid = dataset.read(index, masked=True).compressed().astype(np.float64)
                assert described["statistics"]["minimum"] == valid.min()
                assert described["statistics"]["mean"] == pytest.approx(valid.mean())

    usage = finished.usage
    pixels = len(DATES) * len(BANDS) * SIZE * SIZE
    assert usage["input_pixels"] == {"value": pixels, "unit": "pixels"}
    assert usage["input"] == {"value": pixels * 2, "unit": "bytes"}
    sizes = sum(len(content) for content in expected.values())
    assert usage["output"] == {"value": sizes, "unit": "bytes"}
    assert usage["duration"]["value"] >= 0.6
    assert usage["cpu"]["value"] > 0 and usage["memory"]["value"] > 0


async def test_openeo_error_is_reported_with_its_message(
    harness: Harness, written: tuple[LocalCatalog, dict[Any, Any]]
) -> None:
    job_id = harness.jobs.add({"process_graph": {"load": {**_load("S3"), "result": True}}})

    assert await harness.run(job_id, written[0]) == 1

    events = await harness.events(job_id)
    message = CollectionNotFound().message
    assert [(event.status, event.message) for event in _statuses(events)] == [
        ("error", message),
    ]
    errors = [event for event in _logs(events) if event.level == "error"]
    assert [(event.message, event.data) for event in errors] == [
        (message, {"code": "CollectionNotFound"})
    ]


# Both bands merged with themselves renamed: 4 bands of the 2 read, twice the pixels.
MERGED = {
    "process_graph": {
        "load": _load(),
        "renamed": {
            "process_id": "rename_labels",
            "arguments": {
                "data": {"from_node": "load"},
                "dimension": "bands",
                "target": ["R04", "R08"],
                "source": list(BANDS),
            },
        },
        "merged": {
            "process_id": "merge_cubes",
            "arguments": {"cube1": {"from_node": "load"}, "cube2": {"from_node": "renamed"}},
        },
        "save": {**SAVE_GTIFF, "arguments": {"data": {"from_node": "merged"}, "format": "GTiff"}},
    }
}


@pytest.mark.parametrize(
    ("limits", "code"),
    [
        ({"max_pixels": 30_000}, "ProcessGraphComplexity"),
        ({"paid_pixels": 30_000}, "PaymentRequired"),
    ],
)
async def test_a_job_producing_more_than_its_limits_ends_in_error_before_reading(
    harness: Harness,
    written: tuple[LocalCatalog, dict[Any, Any]],
    limits: dict[str, int],
    code: str,
) -> None:
    """The jobs service checked the estimate when the job started; what it runs may differ
    (a user-defined process changed since), so the run is held to the same limits: the
    16,384 pixels read fit, the 32,768 of the merged cube do not. The catalog is never
    read (`UnreadableCatalog`)."""
    job_id = harness.jobs.add(MERGED, **limits)

    assert await harness.run(job_id, UnreadableCatalog(written[0])) == 1

    statuses = _statuses(await harness.events(job_id))
    assert [event.status for event in statuses] == ["error"]
    assert "would read and produce 32,768 pixels, more than the 30,000" in statuses[-1].message
    errors = [event for event in _logs(await harness.events(job_id)) if event.level == "error"]
    assert errors[0].data == {"code": code}


async def test_usage_counts_the_pixels_produced(
    harness: Harness, written: tuple[LocalCatalog, dict[Any, Any]]
) -> None:
    job_id = harness.jobs.add(MERGED, max_pixels=32_768, paid_pixels=32_768)

    assert await harness.run(job_id, written[0]) == 0

    finished = _statuses(await harness.events(job_id))[-1]
    assert finished.usage["input_pixels"] == {"value": 16_384, "unit": "pixels"}
    assert finished.usage["produced_pixels"] == {"value": 16_384, "unit": "pixels"}


async def test_unexpected_exception_is_an_internal_error(harness: Harness) -> None:
    class BrokenCatalog:
        def collection(self, collection_id: str) -> dict[str, Any]:
            raise RuntimeError("the catalog has a bug")

    job_id = harness.jobs.add(GRAPH)

    assert await harness.run(job_id, BrokenCatalog()) == 1

    statuses = _statuses(await harness.events(job_id))
    assert [(event.status, event.message) for event in statuses] == [
        ("error", "internal error (RuntimeError)"),
    ]


async def test_final_status_survives_a_publisher_failing_for_a_while(
    harness: Harness, written: tuple[LocalCatalog, dict[Any, Any]]
) -> None:
    failures = {"finished": 3}

    async def flaky(subject: str, payload: bytes) -> None:
        status = json.loads(payload).get("status")
        if failures.get(status, 0) > 0:
            failures[status] -= 1
            raise ConnectionError("NATS is restarting")
        await harness.publish(subject, payload)

    job_id = harness.jobs.add(GRAPH)

    assert await harness.run(job_id, written[0], publish=flaky) == 0

    assert failures == {"finished": 0}
    statuses = _statuses(await harness.events(job_id))
    assert [event.status for event in statuses] == ["finished"]


async def test_publishing_gives_up_after_the_retry_window() -> None:
    attempts: list[float] = []

    async def down(subject: str, payload: bytes) -> None:
        attempts.append(time.monotonic())
        raise ConnectionError("NATS is down")

    events = JobEvents("j-1", down, retry_seconds=1.0)
    with pytest.raises(ConnectionError):
        await events.status("finished")
    assert len(attempts) >= 2
    assert 1.0 <= attempts[-1] - attempts[0] < 2.0


async def test_sigterm_ends_the_job_at_once_without_a_final_status(
    harness: Harness, infrastructure: Infrastructure, tmp_path: Path
) -> None:
    catalog_server, catalog_address = await _serve(
        HangingCatalog(), data_discovery_pb2_grpc.add_DataDiscoveryServiceServicer_to_server
    )
    job_id = harness.jobs.add(GRAPH)
    spec_file = tmp_path / "spec"
    spec_file.write_bytes(harness.jobs.specs[job_id].SerializeToString())
    env = {
        **os.environ,
        **infrastructure.env,
        "OPENEO_DATA_DISCOVERY_ADDRESS": catalog_address,
        "OPENEO_JOBS_RESULTS_BUCKET": BUCKET,
        "OPENEO_EXECUTOR_SCRATCH_DIR": str(tmp_path / "scratch"),
        "OPENEO_RPC_TIMEOUT_SECONDS": "60",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "eoplex_executor", "run-job", job_id, str(spec_file), env=env
    )
    try:
        await _eventually(lambda: _has_started(harness, job_id), seconds=30)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = await asyncio.wait_for(process.wait(), timeout=10)
        assert time.monotonic() - started < 5
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await catalog_server.stop(0)
    assert code == EXIT_CANCELED
    assert _statuses(await harness.events(job_id)) == []


async def _has_started(harness: Harness, job_id: str) -> bool:
    return any(
        isinstance(event, LogEvent) and event.message.endswith("started")
        for event in await harness.events(job_id, wait=0.3)
    )


async def _eventually(condition: Callable[[], Awaitable[bool]], *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


def test_the_spec_is_read_from_a_file_or_standard_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = jobs_pb2.JobSpec(job=jobs_pb2.Job(job_id="j-1", process_json="{}"), max_pixels=7)
    path = tmp_path / "spec"
    path.write_bytes(spec.SerializeToString())
    assert read_spec(str(path), job_id="j-1") == spec
    with path.open("rb") as stdin:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stdin))
        assert read_spec("-", job_id="j-1") == spec


def test_a_spec_of_another_job_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "spec"
    path.write_bytes(jobs_pb2.JobSpec(job=jobs_pb2.Job(job_id="j-2")).SerializeToString())
    with pytest.raises(ValueError, match="the spec is of job 'j-2', not of 'j-1'"):
        read_spec(str(path), job_id="j-1")
