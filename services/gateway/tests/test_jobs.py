"""`/jobs` and below through the gateway, with an in-process fake jobs service.

The fake keeps jobs in memory with the contract's rules (owner confinement, status
transitions, JobLocked, JobNotFinished) and records every request, so the tests check
both what the gateway answers and what it asked. Every body is checked against
openapi.yaml.
"""

import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc
import httpx
import pytest

from eoplex.servers import free_port
from eoplex_common import errors
from eoplex_common.rpc import GrpcService
from eoplex_proto.openeo.jobs.v1 import jobs_pb2 as pb
from eoplex_proto.openeo.jobs.v1 import jobs_pb2_grpc
from services.gateway.tests.conftest import Stack, gateway_client
from tests.openapi_validation import checked_body, validate_response

API = "/openeo/1.2"
ROOT = f"http://testserver{API}/"
CREATED = "2024-05-01T10:00:00Z"
Headers = Callable[[str], dict[str, str]]

GRAPH = {
    "process_graph": {
        "add": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True},
    }
}
LOGS: list[dict[str, Any]] = [
    {"id": "1", "level": "debug", "message": "loading", "time": CREATED},
    {"id": "2", "level": "info", "message": "running", "time": CREATED},
    {"id": "3", "level": "error", "message": "boom", "time": CREATED, "data": {"x": 1}},
]
LEVELS = ("debug", "info", "warning", "error")
RESULTS: dict[str, Any] = {
    "stac_version": "1.0.0",
    "id": "j-1",
    "type": "Feature",
    "geometry": None,
    "properties": {"datetime": CREATED},
    "assets": {
        "result.tif": {
            "href": "https://s3.example/eoplex-results/jobs/j-1/result.tif?X-Amz-Signature=abc",
            "type": "image/tiff; application=geotiff",
            "roles": ["data"],
            "file:size": 1234,
        }
    },
    "links": [],
    "openeo:status": "finished",
}
ESTIMATE = {"costs": 0.5, "duration": "PT12S", "size": 4096}


class FakeJobsServicer(jobs_pb2_grpc.JobsServiceServicer):
    """The jobs contract in memory: jobs by id with their owner; every request recorded."""

    def __init__(self) -> None:
        self.jobs: dict[str, tuple[pb.Owner, pb.Job]] = {}
        self.requests: list[Any] = []

    def _owned(self, owner: pb.Owner, job_id: str) -> pb.Job:
        stored = self.jobs.get(job_id)
        if stored is None or stored[0] != owner:
            raise errors.JobNotFound(identifier=job_id)
        return stored[1]

    def add(self, owner: pb.Owner, **fields: Any) -> pb.Job:
        """A stored job of `owner` (status `created` unless given)."""
        job = pb.Job(
            job_id=f"j-{len(self.jobs) + 1}",
            process_json=json.dumps(GRAPH),
            status="created",
            progress=-1,
            created=CREATED,
            updated=CREATED,
            job_options_json="{}",
        )
        for name, value in fields.items():
            setattr(job, name, value)
        self.jobs[job.job_id] = (owner, job)
        return job

    async def CreateJob(
        self, request: pb.CreateJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.Job:
        self.requests.append(request)
        graph = json.loads(request.process_json)["process_graph"]
        for node in graph.values():
            if node["process_id"] == "teleport":
                raise errors.ProcessUnsupported(process="teleport", namespace="backend")
        return self.add(
            request.owner,
            process_json=request.process_json,
            title=request.title,
            description=request.description,
            plan=request.plan,
            budget=request.budget,
            job_options_json=request.job_options_json,
        )

    async def ListJobs(
        self, request: pb.ListJobsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListJobsResponse:
        self.requests.append(request)
        if request.page_token and not request.page_token.isdigit():
            raise errors.BadRequest(reason="page token is invalid")
        owned = [job for owner, job in self.jobs.values() if owner == request.owner]
        start = int(request.page_token or 0)
        end = start + (request.limit or len(owned))
        listed = []
        for job in owned[start:end]:
            copy = pb.Job()
            copy.CopyFrom(job)
            copy.ClearField("process_json")
            listed.append(copy)
        token = str(end) if end < len(owned) else ""
        return pb.ListJobsResponse(jobs=listed, next_page_token=token)

    async def GetJob(self, request: pb.JobRequest, context: grpc.aio.ServicerContext) -> pb.Job:
        self.requests.append(request)
        return self._owned(request.owner, request.job_id)

    async def UpdateJob(
        self, request: pb.UpdateJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.Job:
        self.requests.append(request)
        job = self._owned(request.owner, request.job_id)
        if job.status in ("queued", "running"):
            raise errors.JobLocked()
        for field in request.fields:
            setattr(job, field, getattr(request, field))
        return job

    async def DeleteJob(
        self, request: pb.JobRequest, context: grpc.aio.ServicerContext
    ) -> pb.Empty:
        self.requests.append(request)
        self._owned(request.owner, request.job_id)
        del self.jobs[request.job_id]
        return pb.Empty()

    def _move(self, request: pb.JobRequest, sources: tuple[str, ...], target: str) -> pb.Empty:
        """The owner's job goes to `target` if its status is one of `sources`."""
        self.requests.append(request)
        job = self._owned(request.owner, request.job_id)
        if job.status in sources:
            job.status = target
        return pb.Empty()

    async def StartJob(self, request: pb.JobRequest, context: grpc.aio.ServicerContext) -> pb.Empty:
        return self._move(request, ("created", "canceled", "error"), "queued")

    async def CancelJob(
        self, request: pb.JobRequest, context: grpc.aio.ServicerContext
    ) -> pb.Empty:
        return self._move(request, ("queued", "running"), "canceled")

    async def GetResults(
        self, request: pb.GetResultsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetResultsResponse:
        self.requests.append(request)
        status = self._owned(request.owner, request.job_id).status
        if status == "error":
            raise errors.JobFailed(reason="band B99 does not exist")
        if status != "finished":
            raise errors.JobNotFinished()
        return pb.GetResultsResponse(document_json=json.dumps(RESULTS))

    async def GetLogs(
        self, request: pb.GetLogsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetLogsResponse:
        """LOGS after the offset (an entry id), at the level or above, at most `limit`."""
        self.requests.append(request)
        self._owned(request.owner, request.job_id)
        level = request.level or "debug"
        after = int(request.offset or 0)
        entries = [e for e in LOGS if int(e["id"]) > after]
        entries = [e for e in entries if LEVELS.index(e["level"]) >= LEVELS.index(level)]
        entries = entries[: request.limit or len(entries)]
        offset = entries[-1]["id"] if entries else request.offset
        return pb.GetLogsResponse(
            logs_json=[json.dumps(e) for e in entries], next_offset=offset, level=level
        )

    async def EstimateJob(
        self, request: pb.JobRequest, context: grpc.aio.ServicerContext
    ) -> pb.EstimateResponse:
        self.requests.append(request)
        self._owned(request.owner, request.job_id)
        return pb.EstimateResponse(estimate_json=json.dumps(ESTIMATE))


ALICE = pb.Owner(user_id="alice", tenant_id="t1")
BOB = pb.Owner(user_id="bob", tenant_id="t1")


@pytest.fixture
def jobs() -> FakeJobsServicer:
    return FakeJobsServicer()


@pytest.fixture
async def jobs_server(jobs: FakeJobsServicer) -> AsyncIterator[GrpcService]:
    server = GrpcService(name="jobs", listen=f"127.0.0.1:{free_port()}", grace_seconds=0.1)
    jobs_pb2_grpc.add_JobsServiceServicer_to_server(jobs, server.server)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http(stack: Stack, jobs_server: GrpcService) -> AsyncIterator[httpx.AsyncClient]:
    addresses = stack.addresses.model_copy(update={"jobs_address": jobs_server.listen})
    async with gateway_client(addresses) as client:
        yield client


async def test_create_job_answers_201_with_location_and_identifier(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    body = {
        "title": "ndvi",
        "description": "max NDVI",
        "process": GRAPH,
        "plan": "free",
        "budget": 12.5,
        "log_level": "info",
        "job_options": {"memory": "2Gi"},
        "driver-cores": 2,
    }
    response = await http.post(f"{API}/jobs", json=body, headers=bearer("alice"))
    checked_body(response, "POST", "/jobs", 201)
    assert response.content == b""
    assert response.headers["openeo-identifier"] == "j-1"
    assert response.headers["location"] == f"{ROOT}jobs/j-1"
    (request,) = jobs.requests
    assert request.owner == ALICE
    assert json.loads(request.process_json) == GRAPH
    assert (request.title, request.description, request.plan) == ("ndvi", "max NDVI", "free")
    assert request.budget == 12.5
    assert json.loads(request.job_options_json) == {"memory": "2Gi", "driver-cores": 2}
    assert request.log_level == "info"


async def test_create_job_without_optional_members(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    body = {"process": GRAPH, "title": None, "budget": None, "job_options": None}
    response = await http.post(f"{API}/jobs", json=body, headers=bearer("bob"))
    checked_body(response, "POST", "/jobs", 201)
    (request,) = jobs.requests
    assert request.owner == BOB
    assert (request.title, request.plan, request.budget) == ("", "", 0)
    assert json.loads(request.job_options_json) == {}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "ProcessGraphMissing"),
        ({"process": {"title": "no graph"}}, "ProcessGraphMissing"),
        ({"process": GRAPH, "title": 3}, "BadRequest"),
        ({"process": GRAPH, "budget": -1}, "BadRequest"),
        ({"process": GRAPH, "budget": "lots"}, "BadRequest"),
        # No float holds it: it could be neither stored nor written back as JSON.
        ({"process": GRAPH, "budget": 10**400}, "BadRequest"),
        ({"process": GRAPH, "job_options": ["memory"]}, "BadRequest"),
        ({"process": GRAPH, "log_level": "verbose"}, "BadRequest"),
    ],
)
async def test_create_job_refuses_bad_bodies_before_the_service(
    http: httpx.AsyncClient,
    jobs: FakeJobsServicer,
    bearer: Headers,
    body: dict[str, Any],
    code: str,
) -> None:
    response = await http.post(f"{API}/jobs", json=body, headers=bearer("alice"))
    assert checked_body(response, "POST", "/jobs", 400)["code"] == code
    assert jobs.requests == []


async def test_an_infinite_budget_is_a_bad_request(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    # JSON's 1e400 parses as infinity, which the job listing could not write back.
    content = json.dumps({"process": GRAPH, "budget": 0}).replace('"budget": 0', '"budget": 1e400')
    headers = {**bearer("alice"), "Content-Type": "application/json"}
    response = await http.post(f"{API}/jobs", content=content, headers=headers)
    assert checked_body(response, "POST", "/jobs", 400)["code"] == "BadRequest"
    assert jobs.requests == []


async def test_create_job_passes_validation_errors_through(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    graph = {"process_graph": {"t": {"process_id": "teleport", "arguments": {}, "result": True}}}
    response = await http.post(f"{API}/jobs", json={"process": graph}, headers=bearer("alice"))
    assert checked_body(response, "POST", "/jobs", 400)["code"] == "ProcessUnsupported"
    assert jobs.jobs == {}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/jobs"),
        ("GET", "/jobs"),
        ("GET", "/jobs/j-1"),
        ("PATCH", "/jobs/j-1"),
        ("DELETE", "/jobs/j-1"),
        ("POST", "/jobs/j-1/results"),
        ("GET", "/jobs/j-1/results"),
        ("DELETE", "/jobs/j-1/results"),
        ("GET", "/jobs/j-1/logs"),
        ("GET", "/jobs/j-1/estimate"),
    ],
)
async def test_every_route_needs_authentication(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, method: str, path: str
) -> None:
    content = json.dumps({"process": GRAPH}) if method in ("POST", "PATCH") else None
    response = await http.request(method, f"{API}{path}", content=content)
    assert checked_body(response, method, path, 401)["code"] == "AuthenticationRequired"
    assert jobs.requests == []


async def test_describe_job_renders_the_job_message(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    usage = {"cpu": {"value": 12.5, "unit": "cpu-seconds"}, "duration": {"value": 30, "unit": "s"}}
    jobs.add(
        ALICE,
        title="ndvi",
        description="max",
        status="finished",
        progress=100,
        updated="2024-05-01T10:05:00Z",
        plan="free",
        costs=0.75,
        budget=10,
    )
    job = jobs.jobs["j-1"][1]
    job.usage["cpu"].amount, job.usage["cpu"].unit = 12.5, "cpu-seconds"
    job.usage["duration"].count, job.usage["duration"].unit = 30, "s"
    response = await http.get(f"{API}/jobs/j-1", headers=bearer("alice"))
    body = checked_body(response, "GET", "/jobs/{job_id}", 200)
    assert body == {
        "id": "j-1",
        "title": "ndvi",
        "description": "max",
        "process": GRAPH,
        "status": "finished",
        "progress": 100,
        "created": CREATED,
        "updated": "2024-05-01T10:05:00Z",
        "plan": "free",
        "costs": 0.75,
        "budget": 10,
        "usage": usage,
    }
    assert jobs.requests == [pb.JobRequest(owner=ALICE, job_id="j-1")]


async def test_a_new_job_leaves_unknown_values_out(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    jobs.add(ALICE)
    body = checked_body(
        await http.get(f"{API}/jobs/j-1", headers=bearer("alice")), "GET", "/jobs/{job_id}", 200
    )
    assert body["status"] == "created"
    assert body["title"] is None and body["budget"] is None
    assert not {"progress", "plan", "usage"} & body.keys()


async def test_list_jobs_is_paged_and_omits_the_process(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    for n in range(5):
        jobs.add(ALICE, title=f"job {n}")
    jobs.add(BOB, title="not alice's")
    url: str | None = f"{API}/jobs?limit=2"
    titles: list[str] = []
    while url:
        body = checked_body(await http.get(url, headers=bearer("alice")), "GET", "/jobs", 200)
        assert all("process" not in job for job in body["jobs"])
        assert len(body["jobs"]) <= 2
        titles += [job["title"] for job in body["jobs"]]
        assert body["links"][0] == {
            "href": f"{ROOT}jobs",
            "rel": "self",
            "type": "application/json",
        }
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        assert url is None or url.startswith(f"{ROOT}jobs?limit=2&token=")
    assert titles == [f"job {n}" for n in range(5)]
    assert all(request.owner == ALICE for request in jobs.requests)


async def test_a_bad_page_token_is_a_bad_request(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    response = await http.get(f"{API}/jobs?token=garbage", headers=bearer("alice"))
    assert checked_body(response, "GET", "/jobs", 400)["code"] == "BadRequest"
    response = await http.get(f"{API}/jobs?limit=0", headers=bearer("alice"))
    assert checked_body(response, "GET", "/jobs", 400)["code"] == "BadRequest"


async def test_update_job_sends_only_the_members_given(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    jobs.add(ALICE, title="old", description="keep", plan="free", budget=3)
    new_graph = {"process_graph": {"n": {"process_id": "pi", "arguments": {}, "result": True}}}
    body = {"title": "new", "process": new_graph, "plan": None, "budget": None}
    response = await http.patch(f"{API}/jobs/j-1", json=body, headers=bearer("alice"))
    checked_body(response, "PATCH", "/jobs/{job_id}", 204)
    (request,) = jobs.requests
    assert request.owner == ALICE and request.job_id == "j-1"
    assert list(request.fields) == ["title", "process_json", "budget"]
    assert request.title == "new" and request.budget == 0
    assert json.loads(request.process_json) == new_graph
    job = jobs.jobs["j-1"][1]
    assert (job.title, job.description, job.plan, job.budget) == ("new", "keep", "free", 0)


async def test_update_job_options(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    jobs.add(ALICE)
    body = {"job_options": {"memory": "4Gi"}}
    response = await http.patch(f"{API}/jobs/j-1", json=body, headers=bearer("alice"))
    checked_body(response, "PATCH", "/jobs/{job_id}", 204)
    assert json.loads(jobs.jobs["j-1"][1].job_options_json) == {"memory": "4Gi"}


@pytest.mark.parametrize("status", ["queued", "running"])
async def test_a_queued_or_running_job_is_locked(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers, status: str
) -> None:
    jobs.add(ALICE, status=status, title="old")
    response = await http.patch(f"{API}/jobs/j-1", json={"title": "x"}, headers=bearer("alice"))
    assert checked_body(response, "PATCH", "/jobs/{job_id}", 400)["code"] == "JobLocked"
    assert jobs.jobs["j-1"][1].title == "old"


async def test_start_stop_and_delete(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    jobs.add(ALICE)
    response = await http.post(f"{API}/jobs/j-1/results", headers=bearer("alice"))
    checked_body(response, "POST", "/jobs/{job_id}/results", 202)
    assert response.content == b""
    assert jobs.jobs["j-1"][1].status == "queued"
    response = await http.delete(f"{API}/jobs/j-1/results", headers=bearer("alice"))
    checked_body(response, "DELETE", "/jobs/{job_id}/results", 204)
    assert jobs.jobs["j-1"][1].status == "canceled"
    response = await http.delete(f"{API}/jobs/j-1", headers=bearer("alice"))
    checked_body(response, "DELETE", "/jobs/{job_id}", 204)
    assert jobs.jobs == {}
    assert [type(r).__name__ for r in jobs.requests] == ["JobRequest"] * 3
    assert all(r.owner == ALICE and r.job_id == "j-1" for r in jobs.requests)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/jobs/{job_id}", None),
        ("PATCH", "/jobs/{job_id}", {"title": "mine now"}),
        ("DELETE", "/jobs/{job_id}", None),
        ("POST", "/jobs/{job_id}/results", None),
        ("GET", "/jobs/{job_id}/results", None),
        ("DELETE", "/jobs/{job_id}/results", None),
        ("GET", "/jobs/{job_id}/logs", None),
        ("GET", "/jobs/{job_id}/estimate", None),
    ],
)
async def test_another_users_job_is_not_found(
    http: httpx.AsyncClient,
    jobs: FakeJobsServicer,
    bearer: Headers,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    jobs.add(ALICE, status="finished", title="alice's")
    url = API + path.format(job_id="j-1")
    response = await http.request(method, url, json=body, headers=bearer("bob"))
    error = checked_body(response, method, path, 404)
    assert error["code"] == "JobNotFound"
    assert "j-1" in error["message"]
    assert jobs.jobs["j-1"][1].status == "finished" and jobs.jobs["j-1"][1].title == "alice's"


async def test_results_are_the_services_document(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    jobs.add(ALICE, status="finished")
    response = await http.get(f"{API}/jobs/j-1/results", headers=bearer("alice"))
    assert response.headers["content-type"] == "application/json"
    assert checked_body(response, "GET", "/jobs/{job_id}/results", 200) == RESULTS
    # The service signs its links below the API root the client reached.
    assert jobs.requests[-1].api_url == f"{http.base_url}{API}/"


@pytest.mark.parametrize("status", ["created", "queued", "running", "canceled"])
async def test_results_of_an_unfinished_job(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers, status: str
) -> None:
    jobs.add(ALICE, status=status)
    response = await http.get(f"{API}/jobs/j-1/results", headers=bearer("alice"))
    assert checked_body(response, "GET", "/jobs/{job_id}/results", 400)["code"] == "JobNotFinished"


async def test_results_of_a_failed_job_are_its_last_error_as_a_log_entry(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    jobs.add(ALICE, status="error")
    response = await http.get(f"{API}/jobs/j-1/results", headers=bearer("alice"))
    assert response.status_code == 424, response.text
    entry = response.json()
    validate_response("GET", "/jobs/{job_id}/results", 424, entry)  # a log_entry
    assert entry["code"] == "JobFailed"
    assert entry["level"] == "error" and "band B99 does not exist" in entry["message"]


async def test_logs_with_level_and_next_link(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    jobs.add(ALICE, status="running")
    response = await http.get(f"{API}/jobs/j-1/logs?level=info&limit=1", headers=bearer("alice"))
    body = checked_body(response, "GET", "/jobs/{job_id}/logs", 200)
    assert body["logs"] == [LOGS[1]] and body["level"] == "info"
    (next_link,) = [link for link in body["links"] if link["rel"] == "next"]
    assert next_link["href"].startswith(f"{ROOT}jobs/j-1/logs?")
    assert parse_qs(urlsplit(next_link["href"]).query) == {
        "offset": ["2"],
        "level": ["info"],
        "limit": ["1"],
    }
    response = await http.get(next_link["href"], headers=bearer("alice"))
    assert checked_body(response, "GET", "/jobs/{job_id}/logs", 200)["logs"] == [LOGS[2]]
    request = jobs.requests[0]
    assert (request.owner, request.job_id, request.offset) == (ALICE, "j-1", "")
    assert (request.level, request.limit) == ("info", 1)


async def test_all_logs_by_default(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    jobs.add(ALICE, status="queued")
    response = await http.get(f"{API}/jobs/j-1/logs", headers=bearer("alice"))
    body = checked_body(response, "GET", "/jobs/{job_id}/logs", 200)
    assert body["logs"] == LOGS
    request = jobs.requests[0]
    assert (request.level, request.limit, request.offset) == ("", 0, "")


async def test_a_bad_log_level_is_a_bad_request(
    http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers
) -> None:
    jobs.add(ALICE)
    response = await http.get(f"{API}/jobs/j-1/logs?level=loud", headers=bearer("alice"))
    assert checked_body(response, "GET", "/jobs/{job_id}/logs", 400)["code"] == "BadRequest"
    assert jobs.requests == []


async def test_estimate(http: httpx.AsyncClient, jobs: FakeJobsServicer, bearer: Headers) -> None:
    jobs.add(ALICE)
    response = await http.get(f"{API}/jobs/j-1/estimate", headers=bearer("alice"))
    assert checked_body(response, "GET", "/jobs/{job_id}/estimate", 200) == ESTIMATE


async def test_an_unreachable_jobs_service_is_service_unavailable(
    http: httpx.AsyncClient, jobs_server: GrpcService, bearer: Headers
) -> None:
    await jobs_server.stop()
    response = await http.get(f"{API}/jobs", headers=bearer("alice"))
    assert checked_body(response, "GET", "/jobs", 503)["code"] == "ServiceUnavailable"
