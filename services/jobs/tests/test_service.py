"""The jobs service through its gRPC API, with the real processes service and catalog for
validation, a stand-in executor for estimates, and real MongoDB, NATS and S3."""

import asyncio
import io
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import grpc
import pytest
from nats.aio.msg import Msg

from conftest import Infrastructure
from eoplex_common.errors import (
    BadRequest,
    BudgetInvalid,
    CollectionNotFound,
    JobFailed,
    JobLocked,
    JobNotFinished,
    JobNotFound,
    PaymentRequired,
    PermissionsInsufficient,
    ProcessGraphComplexity,
    ProcessGraphInvalid,
    ProcessUnsupported,
    PropertyNotEditable,
    RangeNotSatisfiable,
    ResultLinkExpired,
)
from eoplex_common.rpc import GrpcService
from eoplex_jobs.scheduler import Scheduler
from eoplex_proto.openeo.executor.v1 import executor_pb2, executor_pb2_grpc
from eoplex_proto.openeo.jobs.v1 import jobs_pb2 as pb
from services.jobs.tests.jobs_server import RunningJobs, jobs_settings, running_jobs
from services.processes.tests.processes_server import running_processes
from tests.data_discovery_server import (
    RunningDataDiscovery,
    collection_document,
    load_and_save,
    register,
)
from tests.stac_validation import validate_stac_item

ALICE = pb.Owner(user_id="alice", tenant_id="t1")
BOB = pb.Owner(user_id="bob", tenant_id="t1")
ALICE_ELSEWHERE = pb.Owner(user_id="alice", tenant_id="t2")
API = "https://openeo.example/openeo/1.2/"
ABSOLUTE = {
    "process_graph": {"a": {"process_id": "absolute", "arguments": {"x": -1}, "result": True}}
}
FIGURES = {
    "pixels_read": 250_000_000,
    "bytes_read": 500_000_000,
    "pixels_produced": 50_000_000,
    "pixels_written": 10_000_000,
    "bytes_written": 40_000_000,
    "files_written": 3,
}
# 300 Mpixel read and produced at the default 0.01 per Mpixel.
COSTS = 3.0


class FakeExecutor(executor_pb2_grpc.ExecutorServiceServicer):
    """Answers `Estimate` with fixed figures; CollectionNotFound for collection 'MISSING'."""

    def __init__(self) -> None:
        self.requests: list[executor_pb2.EstimateRequest] = []

    async def Estimate(
        self, request: executor_pb2.EstimateRequest, context: grpc.aio.ServicerContext
    ) -> executor_pb2.EstimateResponse:
        self.requests.append(request)
        if "MISSING" in request.process_json:
            raise CollectionNotFound(identifier="MISSING")
        return executor_pb2.EstimateResponse(**FIGURES)


@pytest.fixture
async def executor() -> AsyncIterator[tuple[str, FakeExecutor]]:
    fake = FakeExecutor()
    server = GrpcService(name="executor", listen="127.0.0.1:0", grace_seconds=0.1)
    executor_pb2_grpc.add_ExecutorServiceServicer_to_server(fake, server.server)
    await server.start()
    try:
        yield f"127.0.0.1:{server.port}", fake
    finally:
        await server.stop()


@pytest.fixture
async def service(
    infrastructure: Infrastructure,
    data_discovery: RunningDataDiscovery,
    executor: tuple[str, FakeExecutor],
) -> AsyncIterator[RunningJobs]:
    await register(data_discovery.stub, collection_document("S2"), [])
    async with running_processes(
        data_discovery_address=data_discovery.address, mongodb_url=infrastructure.mongodb_url
    ) as processes:
        async with running_jobs(
            infrastructure, processes_address=processes.address, executor_address=executor[0]
        ) as running:
            yield running


async def create(
    running: RunningJobs, owner: pb.Owner = ALICE, process: Any = ABSOLUTE, **fields: Any
) -> pb.Job:
    request = pb.CreateJobRequest(owner=owner, process_json=json.dumps(process), **fields)
    return await running.jobs.CreateJob(request)


async def launch_spec(running: RunningJobs, job_id: str) -> pb.JobSpec:
    """The spec the service's scheduler hands the launcher when it launches the job (these
    tests run no auth service, so the scheduler admits nothing itself)."""
    [scheduler] = [task for task in running.server.background if isinstance(task, Scheduler)]
    job = await running.store.get(job_id)
    assert job is not None
    return scheduler.specs.of(job)


async def status_of(running: RunningJobs, job_id: str) -> str:
    job = await running.jobs.GetJob(pb.JobRequest(owner=ALICE, job_id=job_id))
    return str(job.status)


async def force_status(running: RunningJobs, job_id: str, status: str, **fields: Any) -> None:
    await running.store.update_fields(job_id, {"status": status, **fields})


def put_result(running: RunningJobs, job_id: str, name: str, content: bytes) -> str:
    key = f"jobs/{job_id}/{name}"
    running.s3.put_object(running.settings.results_bucket, key, io.BytesIO(content), len(content))
    return key


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


def results_request(job_id: str, owner: pb.Owner = ALICE) -> pb.GetResultsRequest:
    return pb.GetResultsRequest(owner=owner, job_id=job_id, api_url=API)


def result_link(url: str) -> pb.ResultLink:
    """The link of a URL `<API>jobs/<id>/results/signed[/<asset>]?expires=...&signature=...`,
    as the gateway reads it."""
    parts = urlsplit(url)
    assert url.startswith(API)
    job_id, results, signed, *asset = parts.path.removeprefix(urlsplit(API).path).split("/")[1:]
    assert (results, signed) == ("results", "signed")
    query = parse_qs(parts.query)
    return pb.ResultLink(
        job_id=job_id,
        asset=asset[0] if asset else "",
        expires=int(query["expires"][0]),
        signature=query["signature"][0],
    )


async def download_link(
    running: RunningJobs, link: pb.ResultLink, *, offset: int = 0, length: int = -1
) -> tuple[pb.ResultHeader, bytes]:
    request = pb.DownloadResultRequest(link=link, offset=offset, length=length)
    header, *pieces = [chunk async for chunk in running.jobs.DownloadResult(request)]
    return header.header, b"".join(piece.data for piece in pieces)


def refusal(url: str) -> int:
    """The HTTP status S3 refuses `url` with."""
    with pytest.raises(urllib.error.HTTPError) as refused:
        download(url)
    refused.value.close()
    return refused.value.code


async def test_a_created_job_is_stored_as_given(service: RunningJobs) -> None:
    created = await create(
        service,
        title="ndvi",
        description="max NDVI",
        budget=5.0,
        job_options_json=json.dumps({"memory": "2Gi"}),
    )
    job = await service.jobs.GetJob(pb.JobRequest(owner=ALICE, job_id=created.job_id))
    assert job.job_id.startswith("j-")
    assert (job.title, job.description, job.status, job.budget) == (
        "ndvi",
        "max NDVI",
        "created",
        5.0,
    )
    assert json.loads(job.process_json) == ABSOLUTE
    assert json.loads(job.job_options_json) == {"memory": "2Gi"}
    assert datetime.fromisoformat(job.created.replace("Z", "+00:00")) <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("process", "error"),
    [
        ("{not json", ProcessGraphInvalid),
        (
            {"process_graph": {"t": {"process_id": "teleport", "arguments": {}, "result": True}}},
            ProcessUnsupported,
        ),
        (load_and_save("NOPE"), CollectionNotFound),
    ],
)
async def test_an_invalid_process_is_refused_with_its_openeo_error(
    service: RunningJobs, process: Any, error: type[Exception]
) -> None:
    text = process if isinstance(process, str) else json.dumps(process)
    with pytest.raises(error):
        await service.jobs.CreateJob(pb.CreateJobRequest(owner=ALICE, process_json=text))
    listed = await service.jobs.ListJobs(pb.ListJobsRequest(owner=ALICE))
    assert list(listed.jobs) == []


async def test_a_known_collection_is_accepted_and_bad_budgets_and_options_are_refused(
    service: RunningJobs,
) -> None:
    await create(service, process=load_and_save("S2"))
    with pytest.raises(BudgetInvalid):
        await create(service, budget=-1)
    # No job document could be written with it, and no listing could show it.
    with pytest.raises(BudgetInvalid):
        await create(service, budget=float("inf"))
    with pytest.raises(BadRequest):
        await create(service, job_options_json="[1]")


async def test_jobs_are_listed_for_their_owner_only_and_paged(service: RunningJobs) -> None:
    ids = [(await create(service, title=f"job {n}")).job_id for n in range(5)]
    await create(service, owner=BOB)
    await create(service, owner=ALICE_ELSEWHERE)
    seen: list[str] = []
    token = ""
    while True:
        page = await service.jobs.ListJobs(
            pb.ListJobsRequest(owner=ALICE, limit=2, page_token=token)
        )
        assert all(job.process_json == "" for job in page.jobs)
        seen += [job.job_id for job in page.jobs]
        token = page.next_page_token
        if not token:
            break
    assert seen == ids[::-1]
    with pytest.raises(BadRequest):
        await service.jobs.ListJobs(pb.ListJobsRequest(owner=ALICE, page_token="garbage"))


async def test_another_user_gets_job_not_found_for_every_operation(service: RunningJobs) -> None:
    job_id = (await create(service)).job_id
    await force_status(service, job_id, "finished")
    for owner in (BOB, ALICE_ELSEWHERE):
        request = pb.JobRequest(owner=owner, job_id=job_id)
        calls = [
            service.jobs.GetJob(request),
            service.jobs.UpdateJob(
                pb.UpdateJobRequest(owner=owner, job_id=job_id, fields=["title"], title="x")
            ),
            service.jobs.StartJob(request),
            service.jobs.CancelJob(request),
            service.jobs.GetResults(results_request(job_id, owner)),
            service.jobs.GetLogs(pb.GetLogsRequest(owner=owner, job_id=job_id)),
            service.jobs.EstimateJob(request),
            service.jobs.DeleteJob(request),
        ]
        for call in calls:
            with pytest.raises(JobNotFound) as raised:
                await call
            assert raised.value.message == f"The batch job '{job_id}' does not exist."
    job = await service.jobs.GetJob(pb.JobRequest(owner=ALICE, job_id=job_id))
    assert (job.status, job.title) == ("finished", "")


async def test_updates_change_only_named_fields_and_are_locked_while_queued_or_running(
    service: RunningJobs,
) -> None:
    job_id = (await create(service, title="a", description="d")).job_id
    update = pb.UpdateJobRequest(
        owner=ALICE, job_id=job_id, fields=["title"], title="b", description="ignored"
    )
    job = await service.jobs.UpdateJob(update)
    assert (job.title, job.description) == ("b", "d")
    unchanged = await service.jobs.UpdateJob(pb.UpdateJobRequest(owner=ALICE, job_id=job_id))
    assert (unchanged.title, unchanged.description) == ("b", "d")
    with pytest.raises(PropertyNotEditable):
        await service.jobs.UpdateJob(
            pb.UpdateJobRequest(owner=ALICE, job_id=job_id, fields=["status"])
        )
    with pytest.raises(ProcessUnsupported):
        bad = {"process_graph": {"t": {"process_id": "teleport", "arguments": {}, "result": True}}}
        await service.jobs.UpdateJob(
            pb.UpdateJobRequest(
                owner=ALICE, job_id=job_id, fields=["process_json"], process_json=json.dumps(bad)
            )
        )
    for status in ("queued", "running"):
        await force_status(service, job_id, status)
        with pytest.raises(JobLocked):
            await service.jobs.UpdateJob(update)
        await service.jobs.UpdateJob(pb.UpdateJobRequest(owner=ALICE, job_id=job_id))
    await force_status(service, job_id, "canceled")
    assert (await service.jobs.UpdateJob(update)).title == "b"


async def test_concurrent_starts_queue_the_job_once(service: RunningJobs) -> None:
    job_id = (await create(service)).job_id
    received: list[str] = []

    async def record(message: Msg) -> None:
        received.append(message.data.decode())

    subscription = await service.nats.subscribe("jobqueue.start", cb=record)
    request = pb.JobRequest(owner=ALICE, job_id=job_id)
    await asyncio.gather(*(service.jobs.StartJob(request) for _ in range(5)))
    await service.nats.flush()
    await asyncio.sleep(0.3)
    await subscription.unsubscribe()
    assert received == [job_id]
    assert await status_of(service, job_id) == "queued"
    stored = await service.store.get(job_id)
    assert stored is not None and stored["queued_at"] is not None


async def test_starting_a_running_or_finished_job_changes_nothing(service: RunningJobs) -> None:
    job_id = (await create(service)).job_id
    for status in ("running", "finished"):
        await force_status(service, job_id, status)
        await service.jobs.StartJob(pb.JobRequest(owner=ALICE, job_id=job_id))
        assert await status_of(service, job_id) == status
    await force_status(service, job_id, "error")
    await service.jobs.StartJob(pb.JobRequest(owner=ALICE, job_id=job_id))
    assert await status_of(service, job_id) == "queued"


async def test_cancel_stops_the_executor_and_removes_partial_results(service: RunningJobs) -> None:
    job_id = (await create(service)).job_id
    other_id = (await create(service)).job_id
    await force_status(service, job_id, "running")
    put_result(service, job_id, "part.tif", b"partial")
    kept = put_result(service, other_id, "out.tif", b"other")
    await service.jobs.CancelJob(pb.JobRequest(owner=ALICE, job_id=job_id))
    assert await status_of(service, job_id) == "canceled"
    assert service.launcher.canceled == [job_id]
    bucket = service.settings.results_bucket
    assert [
        o.object_name for o in service.s3.list_objects(bucket, prefix="jobs/", recursive=True)
    ] == [kept]
    # Canceling a job that does not run changes nothing.
    await service.jobs.CancelJob(pb.JobRequest(owner=ALICE, job_id=other_id))
    assert await status_of(service, other_id) == "created"
    assert service.launcher.canceled == [job_id]


async def test_delete_stops_the_job_and_removes_results_logs_and_record(
    service: RunningJobs,
) -> None:
    job_id = (await create(service)).job_id
    await force_status(service, job_id, "running")
    await service.store.append_log(job_id, level="info", message="hello")
    put_result(service, job_id, "out.tif", b"data")
    await service.jobs.DeleteJob(pb.JobRequest(owner=ALICE, job_id=job_id))
    assert service.launcher.canceled == [job_id]
    with pytest.raises(JobNotFound):
        await service.jobs.GetJob(pb.JobRequest(owner=ALICE, job_id=job_id))
    assert await service.database["logs"].count_documents({"job_id": job_id}) == 0
    assert (
        list(
            service.s3.list_objects(
                service.settings.results_bucket, prefix=f"jobs/{job_id}/", recursive=True
            )
        )
        == []
    )


def tif_asset(key: str, size: int) -> dict[str, Any]:
    return {
        "name": "out.tif",
        "key": key,
        "type": "image/tiff; application=geotiff",
        "roles": ["data"],
        "file:size": size,
        "proj:epsg": 32633,
        "proj:shape": [10, 20],
        "proj:bbox": [500000.0, 5000000.0, 500200.0, 5000100.0],
        "raster:bands": [{"data_type": "float32"}],
        "eo:bands": [{"name": "B04"}],
        "bbox": [15.0, 45.1, 15.1, 45.2],
        "datetime": "2024-05-01T00:00:00Z",
    }


async def test_results_are_refused_until_the_job_finished(service: RunningJobs) -> None:
    job_id = (await create(service)).job_id
    for status in ("created", "queued", "running", "canceled"):
        await force_status(service, job_id, status)
        with pytest.raises(JobNotFinished):
            await service.jobs.GetResults(results_request(job_id))


async def test_results_of_a_failed_job_are_its_last_error(service: RunningJobs) -> None:
    """HTTP 424 with the last error the job logged, as the spec asks for status `error`."""
    job_id = (await create(service)).job_id
    await force_status(service, job_id, "error")
    with pytest.raises(JobFailed, match="no error message was recorded"):
        await service.jobs.GetResults(results_request(job_id))
    await service.store.append_log(job_id, level="error", message="first failure")
    await service.store.append_log(job_id, level="error", message="band B99 does not exist")
    await service.store.append_log(job_id, level="info", message="cleaned up")
    with pytest.raises(JobFailed, match="band B99 does not exist"):
        await service.jobs.GetResults(results_request(job_id))


async def test_results_are_a_stac_item_whose_signed_links_download_the_files(
    service: RunningJobs,
) -> None:
    job_id = (await create(service, title="ndvi")).job_id
    content = b"GeoTIFF bytes" * 100
    key = put_result(service, job_id, "out.tif", content)
    finished = datetime.now(UTC)
    await force_status(
        service, job_id, "finished", assets=[tif_asset(key, len(content))], finished_at=finished
    )
    request = results_request(job_id)
    document = json.loads((await service.jobs.GetResults(request)).document_json)
    validate_stac_item(document)
    assert (document["id"], document["type"], document["bbox"]) == (
        job_id,
        "Feature",
        [15.0, 45.1, 15.1, 45.2],
    )
    assert document["properties"]["openeo:status"] == "finished"
    assert document["properties"]["datetime"] == "2024-05-01T00:00:00Z"
    expires = datetime.fromisoformat(document["properties"]["expires"].replace("Z", "+00:00"))
    assert abs(expires - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)
    asset = document["assets"]["out.tif"]
    assert {
        name: asset[name] for name in ("type", "roles", "file:size", "proj:epsg", "proj:shape")
    } == {
        "type": "image/tiff; application=geotiff",
        "roles": ["data"],
        "file:size": len(content),
        "proj:epsg": 32633,
        "proj:shape": [10, 20],
    }
    assert "key" not in asset
    # Without a public S3 endpoint, the gateway serves the files: the links point below the
    # API, signed for the job, the asset and the expiry.
    link = result_link(asset["href"])
    assert (link.job_id, link.asset, link.expires) == (job_id, "out.tif", int(expires.timestamp()))
    header, data = await download_link(service, link)
    assert data == content
    assert (header.size, header.offset, header.length) == (len(content), 0, len(content))
    assert header.media_type == "image/tiff; application=geotiff"
    header, data = await download_link(service, link, offset=5, length=20)
    assert (data, header.offset, header.length) == (content[5:25], 5, 20)
    with pytest.raises(RangeNotSatisfiable):
        await download_link(service, link, offset=len(content), length=1)
    # The Item's own signed link (`canonical`) opens it for whoever holds it.
    (canonical,) = [entry for entry in document["links"] if entry["rel"] == "canonical"]
    shared = pb.GetSharedResultsRequest(link=result_link(canonical["href"]), api_url=API)
    assert result_link(canonical["href"]).asset == ""
    assert json.loads((await service.jobs.GetSharedResults(shared)).document_json) == document
    # Each call signs anew.
    await asyncio.sleep(1.1)
    again = json.loads((await service.jobs.GetResults(request)).document_json)
    assert again["assets"]["out.tif"]["href"] != asset["href"]
    _, data = await download_link(service, result_link(again["assets"]["out.tif"]["href"]))
    assert data == content


async def test_a_link_is_refused_when_anything_it_names_is_changed(service: RunningJobs) -> None:
    job_id = (await create(service)).job_id
    key = put_result(service, job_id, "out.tif", b"data")
    other = put_result(service, job_id, "other.tif", b"secret")
    assets = [tif_asset(key, 4), {**tif_asset(other, 6), "name": "other.tif"}]
    await force_status(service, job_id, "finished", assets=assets)
    document = json.loads((await service.jobs.GetResults(results_request(job_id))).document_json)
    link = result_link(document["assets"]["out.tif"]["href"])
    (canonical,) = [entry for entry in document["links"] if entry["rel"] == "canonical"]
    forged = [
        pb.ResultLink(**{**fields(link), "asset": "other.tif"}),
        pb.ResultLink(**{**fields(link), "asset": ""}),
        pb.ResultLink(**{**fields(link), "expires": link.expires + 3600}),
        pb.ResultLink(**{**fields(link), "signature": link.signature[::-1]}),
        pb.ResultLink(**{**fields(result_link(canonical["href"])), "asset": "out.tif"}),
    ]
    for changed in forged:
        with pytest.raises(PermissionsInsufficient, match="signature does not match"):
            await download_link(service, changed)
    with pytest.raises(PermissionsInsufficient):
        shared = pb.GetSharedResultsRequest(link=pb.ResultLink(**{**fields(link), "asset": ""}))
        await service.jobs.GetSharedResults(shared)
    # Another job's results are not reachable with this job's signature either.
    second = (await create(service)).job_id
    await force_status(service, second, "finished", assets=assets)
    with pytest.raises(PermissionsInsufficient):
        await download_link(service, pb.ResultLink(**{**fields(link), "job_id": second}))
    # A deleted job's links open nothing.
    await service.jobs.DeleteJob(pb.JobRequest(owner=ALICE, job_id=job_id))
    with pytest.raises(JobNotFound):
        await download_link(service, link)


def fields(link: pb.ResultLink) -> dict[str, Any]:
    return {
        "job_id": link.job_id,
        "asset": link.asset,
        "expires": link.expires,
        "signature": link.signature,
    }


async def signed_result_url(running: RunningJobs) -> str:
    """The URL `GetResults` signs for the one result (out.tif, b"data") of a finished job,
    and the link to the Item."""
    job = await running.store.create(
        {"user_id": "alice", "tenant_id": "t1", "process": ABSOLUTE, "status": "finished"}
    )
    key = put_result(running, job["_id"], "out.tif", b"data")
    await running.store.update_fields(job["_id"], {"assets": [tif_asset(key, 4)]})
    response = await running.jobs.GetResults(results_request(job["_id"]))
    return str(json.loads(response.document_json)["assets"]["out.tif"]["href"])


async def test_an_expired_link_is_refused(infrastructure: Infrastructure) -> None:
    settings = jobs_settings(infrastructure, result_url_expiry_seconds=1)
    async with running_jobs(infrastructure, settings=settings) as running:
        href = await signed_result_url(running)
        await asyncio.sleep(2.5)
        with pytest.raises(ResultLinkExpired):
            await download_link(running, result_link(href))


async def test_an_expired_presigned_url_is_refused(infrastructure: Infrastructure) -> None:
    settings = jobs_settings(
        infrastructure, result_url_expiry_seconds=1, s3_public_endpoint=infrastructure.s3_endpoint
    )
    async with running_jobs(infrastructure, settings=settings) as running:
        href = await signed_result_url(running)
        await asyncio.sleep(2.5)
        assert refusal(href) == 403


async def test_urls_are_signed_for_the_public_endpoint(infrastructure: Infrastructure) -> None:
    internal = urlsplit(infrastructure.s3_endpoint)
    public = f"http://localhost:{internal.port}"
    settings = jobs_settings(infrastructure, s3_public_endpoint=public)
    async with running_jobs(infrastructure, settings=settings) as running:
        href = await signed_result_url(running)
        assert href.startswith(f"{public}/{running.settings.results_bucket}/jobs/")
        assert download(href) == b"data"
        # A tampered signature is refused by S3.
        url = urlsplit(href)
        query = parse_qs(url.query)
        signature = query["X-Amz-Signature"][0]
        query["X-Amz-Signature"] = [("0" if signature[0] != "0" else "1") + signature[1:]]
        tampered = urlunsplit(url._replace(query=urlencode(query, doseq=True)))
        assert refusal(tampered) == 403


async def test_logs_are_filtered_paged_and_available_while_queued_and_running(
    service: RunningJobs,
) -> None:
    job_id = (await create(service, log_level="debug")).job_id

    async def logs(**fields: Any) -> tuple[list[tuple[str, str]], str, str]:
        response = await service.jobs.GetLogs(
            pb.GetLogsRequest(owner=ALICE, job_id=job_id, **fields)
        )
        entries = [json.loads(text) for text in response.logs_json]
        return (
            [(entry["level"], entry["message"]) for entry in entries],
            response.next_offset,
            response.level,
        )

    await force_status(service, job_id, "queued")
    await service.store.append_log(job_id, level="info", message="queued")
    assert await logs() == ([("info", "queued")], "1", "debug")
    await force_status(service, job_id, "running")
    for level in ("debug", "warning", "error", "info"):
        await service.store.append_log(job_id, level=level, message=level, data={"n": 1})
    assert (await logs(level="warning"))[0] == [("warning", "warning"), ("error", "error")]
    first, offset, _ = await logs(limit=2)
    assert first == [("info", "queued"), ("debug", "debug")]
    second, offset, _ = await logs(limit=2, offset=offset)
    assert second == [("warning", "warning"), ("error", "error")]
    third, offset, _ = await logs(limit=2, offset=offset)
    assert third == [("info", "info")]
    assert await logs(offset=offset) == ([], "", "debug")
    response = await service.jobs.GetLogs(pb.GetLogsRequest(owner=ALICE, job_id=job_id, limit=1))
    entry = json.loads(response.logs_json[0])
    assert set(entry) == {"id", "level", "message", "time"}
    for bad in ({"level": "loud"}, {"offset": "x"}, {"limit": -1}):
        with pytest.raises(BadRequest):
            await service.jobs.GetLogs(pb.GetLogsRequest(owner=ALICE, job_id=job_id, **bad))


async def test_estimates_are_derived_from_the_executors_figures(
    service: RunningJobs, executor: tuple[str, FakeExecutor]
) -> None:
    job_id = (await create(service, process=load_and_save("S2"))).job_id
    response = await service.jobs.EstimateJob(pb.JobRequest(owner=ALICE, job_id=job_id))
    # 250 Mpixel read and 50 produced at 0.01 per Mpixel; 300 Mpixel at 50 Mpixel/s; 40 MB
    # written.
    assert json.loads(response.estimate_json) == {
        "costs": COSTS,
        "duration": "PT6S",
        "size": 40_000_000,
        "downloads_included": None,
    }
    request = executor[1].requests[-1]
    assert (request.user_id, request.tenant_id) == ("alice", "t1")
    assert json.loads(request.process_json) == load_and_save("S2")


async def test_estimate_errors_of_the_executor_come_back_as_they_are(service: RunningJobs) -> None:
    job_id = (await create(service, process=load_and_save("S2"))).job_id
    await service.store.update_fields(job_id, {"process": load_and_save("MISSING")})
    with pytest.raises(CollectionNotFound):
        await service.jobs.EstimateJob(pb.JobRequest(owner=ALICE, job_id=job_id))


async def test_a_job_costing_more_than_its_budget_is_refused_when_started(
    service: RunningJobs,
) -> None:
    """Read and produced pixels are priced, as the estimate prices them; the job stays as it
    was (the API's PaymentRequired: refused, not queued)."""
    over = (await create(service, process=load_and_save("S2"), budget=COSTS - 0.01)).job_id
    within = (await create(service, process=load_and_save("S2"), budget=COSTS)).job_id

    with pytest.raises(PaymentRequired, match=r"more than its budget of 2\.99"):
        await service.jobs.StartJob(pb.JobRequest(owner=ALICE, job_id=over))
    await service.jobs.StartJob(pb.JobRequest(owner=ALICE, job_id=within))

    assert await status_of(service, over) == "created"
    assert await status_of(service, within) == "queued"


async def test_a_job_the_executor_cannot_estimate_starts_and_is_held_to_its_limits_while_running(
    service: RunningJobs,
) -> None:
    job_id = (await create(service, process=load_and_save("S2"), budget=1.0)).job_id
    await service.store.update_fields(job_id, {"process": load_and_save("MISSING")})

    await service.jobs.StartJob(pb.JobRequest(owner=ALICE, job_id=job_id))

    assert await status_of(service, job_id) == "queued"
    spec = await launch_spec(service, job_id)
    # A budget of 1.0 at 0.01 per Mpixel pays for 100 Mpixel; the default batch limit.
    assert (spec.paid_pixels, spec.max_pixels) == (100_000_000, 10_000_000_000)


async def test_a_job_beyond_its_tenants_batch_limit_is_refused_when_started(
    infrastructure: Infrastructure,
    data_discovery: RunningDataDiscovery,
    executor: tuple[str, FakeExecutor],
) -> None:
    await register(data_discovery.stub, collection_document("S2"), [])
    pixels = FIGURES["pixels_read"] + FIGURES["pixels_produced"]
    settings = jobs_settings(
        infrastructure, max_pixels=pixels, tenant_max_pixels={"t2": pixels - 1}
    )
    async with running_processes(
        data_discovery_address=data_discovery.address, mongodb_url=infrastructure.mongodb_url
    ) as processes:
        async with running_jobs(
            infrastructure,
            processes_address=processes.address,
            executor_address=executor[0],
            settings=settings,
        ) as running:
            limited = (await create(running, ALICE_ELSEWHERE, load_and_save("S2"))).job_id
            allowed = (await create(running, ALICE, load_and_save("S2"))).job_id

            with pytest.raises(ProcessGraphComplexity, match=f"more than the {pixels - 1:,}"):
                await running.jobs.StartJob(pb.JobRequest(owner=ALICE_ELSEWHERE, job_id=limited))
            await running.jobs.StartJob(pb.JobRequest(owner=ALICE, job_id=allowed))
            spec = await launch_spec(running, limited)

            assert spec.max_pixels == pixels - 1 and spec.paid_pixels == 0
            refused = await running.jobs.GetJob(
                pb.JobRequest(owner=ALICE_ELSEWHERE, job_id=limited)
            )
            started = await running.jobs.GetJob(pb.JobRequest(owner=ALICE, job_id=allowed))
            assert (refused.status, started.status) == ("created", "queued")


async def test_the_launch_spec_carries_the_job_and_its_owner(service: RunningJobs) -> None:
    job_id = (await create(service, title="t")).job_id
    spec = await launch_spec(service, job_id)
    assert (spec.job.job_id, spec.job.title, spec.owner.user_id, spec.owner.tenant_id) == (
        job_id,
        "t",
        "alice",
        "t1",
    )
    assert json.loads(spec.job.process_json) == ABSOLUTE


async def test_a_job_keeps_log_entries_from_its_log_level_on(service: RunningJobs) -> None:
    """`log_level` (default info) is the least severe level a job stores; PATCH changes it."""
    job = await create(service)
    assert job.log_level == "info"
    await service.store.append_log(job.job_id, level="debug", message="dropped")
    await service.store.append_log(job.job_id, level="info", message="kept")
    request = pb.UpdateJobRequest(
        owner=ALICE, job_id=job.job_id, fields=["log_level"], log_level="error"
    )
    assert (await service.jobs.UpdateJob(request)).log_level == "error"
    await service.store.append_log(job.job_id, level="warning", message="dropped too")
    await service.store.append_log(job.job_id, level="error", message="failed")
    response = await service.jobs.GetLogs(pb.GetLogsRequest(owner=ALICE, job_id=job.job_id))
    assert [json.loads(text)["message"] for text in response.logs_json] == ["kept", "failed"]
    with pytest.raises(BadRequest):
        await create(service, log_level="loud")
