"""Batch jobs, answered by the jobs service: `/jobs` and below.

The jobs service owns the jobs, their queue, logs and results; the routes here turn
request bodies into its messages and its messages into openEO documents, confined to
the authenticated caller's jobs (a foreign job answers `JobNotFound`, as a missing one).
"""

import json
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from eoplex_common.errors import BadRequest
from eoplex_gateway.dependencies import Clients, Page, Principal, Settings
from eoplex_gateway.links import Limit, Token, link
from eoplex_gateway.request_members import (
    LOG_LEVELS,
    JsonObjectBody,
    budget_of,
    check_log_level,
    process_of,
    text_member,
)
from eoplex_gateway.urls import api_url
from eoplex_proto.openeo.auth.v1 import auth_pb2
from eoplex_proto.openeo.jobs.v1 import jobs_pb2 as pb

router = APIRouter()

JobBody = JsonObjectBody

# The members of a `POST /jobs` body that the API defines; any other member is a job
# option, as are the members of `job_options` (how the openeo Python client sends them).
DEFINED_MEMBERS = frozenset({"process", "title", "description", "plan", "budget", "log_level"})
# `PATCH /jobs/{job_id}` member -> the `UpdateJobRequest` field it sets.
UPDATABLE = {
    "title": "title",
    "description": "description",
    "process": "process_json",
    "plan": "plan",
    "budget": "budget",
    "job_options": "job_options_json",
    "log_level": "log_level",
}


def owner_of(principal: auth_pb2.Principal) -> pb.Owner:
    """The owner the jobs service confines every call to."""
    return pb.Owner(user_id=principal.user_id, tenant_id=principal.tenant_id)


def job_url(root: str, job_id: str) -> str:
    """`<api>/jobs/<id>`, the id escaped as a path segment."""
    return f"{root}jobs/{quote(job_id, safe='')}"


def job_options_of(body: dict[str, Any]) -> dict[str, Any]:
    """The job options: the members the API does not define, and those of `job_options`.

    BadRequest when `job_options` is neither an object nor null.
    """
    extra = {k: v for k, v in body.items() if k not in DEFINED_MEMBERS and k != "job_options"}
    return {**extra, **_options(body.get("job_options"))}


def _options(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(reason="'job_options' must be an object or null")
    return value


def create_request(body: dict[str, Any], owner: pb.Owner) -> pb.CreateJobRequest:
    """`POST /jobs` body -> CreateJobRequest; ProcessGraphMissing, BadRequest."""
    check_log_level(body)
    return pb.CreateJobRequest(
        owner=owner,
        process_json=json.dumps(process_of(body)),
        title=text_member(body, "title"),
        description=text_member(body, "description"),
        plan=text_member(body, "plan"),
        budget=budget_of(body),
        job_options_json=json.dumps(job_options_of(body)),
        log_level=body.get("log_level") or "",
    )


def update_request(body: dict[str, Any], owner: pb.Owner, job_id: str) -> pb.UpdateJobRequest:
    """`PATCH /jobs/{job_id}` body -> UpdateJobRequest naming the members given.

    A null `plan` keeps the plan (openEO `billing_plan_null`); a null title,
    description or budget clears it; `{}` changes nothing. BadRequest for a member of
    the wrong type, ProcessGraphMissing for a `process` without `process_graph`.
    """
    check_log_level(body)
    given = [name for name in UPDATABLE if name in body]
    if "plan" in given and body["plan"] is None:
        given.remove("plan")
    request = pb.UpdateJobRequest(owner=owner, job_id=job_id, fields=[UPDATABLE[n] for n in given])
    if "title" in given:
        request.title = text_member(body, "title")
    if "description" in given:
        request.description = text_member(body, "description")
    if "process" in given:
        request.process_json = json.dumps(process_of(body))
    if "plan" in given:
        request.plan = text_member(body, "plan")
    if "budget" in given:
        request.budget = budget_of(body)
    if "job_options" in given:
        request.job_options_json = json.dumps(_options(body["job_options"]))
    if "log_level" in given:
        request.log_level = body["log_level"] or ""
    return request


def build_job(job: pb.Job, *, full: bool) -> dict[str, Any]:
    """A job as openEO shows it; the listing (`full=False`) omits the process.

    Unset values are left out rather than sent empty: progress (-1 when unknown),
    plan, usage (until the job ended), budget (0 means none).
    """
    document: dict[str, Any] = {
        "id": job.job_id,
        "title": job.title or None,
        "description": job.description or None,
        "status": job.status,
        "created": job.created,
    }
    if full:
        document["process"] = json.loads(job.process_json)
    if job.progress >= 0:
        document["progress"] = job.progress
    if job.updated:
        document["updated"] = job.updated
    if job.plan:
        document["plan"] = job.plan
    document["costs"] = job.costs
    document["budget"] = job.budget if job.budget > 0 else None
    if job.usage:
        document["usage"] = usage_document(job.usage)
    return document


def usage_document(usage: Mapping[str, pb.UsageMetric]) -> dict[str, Any]:
    """The openEO `usage` object: `{metric: {"value": ..., "unit": ...}}`."""
    return {
        name: {
            "value": getattr(metric, metric.WhichOneof("value") or "amount"),
            "unit": metric.unit,
        }
        for name, metric in usage.items()
    }


def build_logs(
    response: pb.GetLogsResponse, *, url: str, level: str, limit: int | None
) -> dict[str, Any]:
    """`GET /jobs/{job_id}/logs`: the entries, the level they are filtered by, and a
    `next` link from the service's offset (kept while the job may still log more)."""
    links = []
    if response.next_offset:
        query = {"offset": response.next_offset, "level": level, "limit": limit}
        next_url = f"{url}?{urlencode({k: v for k, v in query.items() if v})}"
        links.append(link(next_url, "next"))
    document: dict[str, Any] = {
        "logs": [json.loads(text) for text in response.logs_json],
        "links": links,
    }
    if response.level:
        document["level"] = response.level
    return document


def _level(level: str) -> str:
    if level and level not in LOG_LEVELS:
        raise BadRequest(reason=f"level must be one of {', '.join(LOG_LEVELS)}")
    return level


@router.post("/jobs")
async def create_job(
    body: JobBody, request: Request, principal: Principal, settings: Settings, clients: Clients
) -> Response:
    """`POST /jobs`: 201 with `Location` and `OpenEO-Identifier`, no body.

    Raises ProcessGraphMissing, BadRequest, every validation error of the process
    (ProcessGraphInvalid, ProcessUnsupported, CollectionNotFound, ...), and the
    authentication errors.
    """
    job = await clients.jobs.CreateJob(create_request(body, owner_of(principal)))
    location = job_url(api_url(request, settings), job.job_id)
    headers = {"Location": location, "OpenEO-Identifier": job.job_id}
    return Response(status_code=201, headers=headers)


@router.get("/jobs")
async def list_jobs(page: Page, principal: Principal, clients: Clients) -> JSONResponse:
    """`GET /jobs`: the caller's jobs, paged; BadRequest for a bad limit or token."""
    query = pb.ListJobsRequest(
        owner=owner_of(principal), limit=page.limit or 0, page_token=page.token
    )
    response = await clients.jobs.ListJobs(query)
    jobs = [build_job(job, full=False) for job in response.jobs]
    return JSONResponse(page.listing("jobs", response.next_page_token, jobs=jobs))


@router.get("/jobs/{job_id}")
async def describe_job(job_id: str, principal: Principal, clients: Clients) -> JSONResponse:
    """`GET /jobs/{job_id}`: the job with its process; JobNotFound."""
    job = await clients.jobs.GetJob(pb.JobRequest(owner=owner_of(principal), job_id=job_id))
    return JSONResponse(build_job(job, full=True))


@router.patch("/jobs/{job_id}")
async def update_job(
    job_id: str, body: JobBody, principal: Principal, clients: Clients
) -> Response:
    """`PATCH /jobs/{job_id}`: 204; JobNotFound, JobLocked (queued or running),
    BadRequest, ProcessGraphMissing and the validation errors of a new process."""
    await clients.jobs.UpdateJob(update_request(body, owner_of(principal), job_id))
    return Response(status_code=204)


@router.delete("/jobs/{job_id}")
async def delete_job(job_id: str, principal: Principal, clients: Clients) -> Response:
    """`DELETE /jobs/{job_id}`: 204; stops the job if needed, deletes it, its logs and
    its results. JobNotFound."""
    await clients.jobs.DeleteJob(pb.JobRequest(owner=owner_of(principal), job_id=job_id))
    return Response(status_code=204)


@router.post("/jobs/{job_id}/results")
async def start_job(job_id: str, principal: Principal, clients: Clients) -> Response:
    """`POST /jobs/{job_id}/results`: 202, the job is queued (no-op when it is queued or
    running already). JobNotFound."""
    await clients.jobs.StartJob(pb.JobRequest(owner=owner_of(principal), job_id=job_id))
    return Response(status_code=202)


@router.delete("/jobs/{job_id}/results")
async def stop_job(job_id: str, principal: Principal, clients: Clients) -> Response:
    """`DELETE /jobs/{job_id}/results`: 204, a queued or running job is canceled.
    JobNotFound."""
    await clients.jobs.CancelJob(pb.JobRequest(owner=owner_of(principal), job_id=job_id))
    return Response(status_code=204)


@router.get("/jobs/{job_id}/results")
async def list_results(
    job_id: str, request: Request, principal: Principal, settings: Settings, clients: Clients
) -> Response:
    """`GET /jobs/{job_id}/results`: the STAC document of the results, with signed asset
    URLs (below the API, `routes.shared_results`, unless clients reach S3) and a signed
    `canonical` link issued for this call. JobNotFound, JobNotFinished, JobFailed."""
    response = await clients.jobs.GetResults(
        pb.GetResultsRequest(
            owner=owner_of(principal), job_id=job_id, api_url=api_url(request, settings)
        )
    )
    return Response(response.document_json, media_type="application/json")


@router.get("/jobs/{job_id}/logs")
async def job_logs(
    job_id: str,
    request: Request,
    principal: Principal,
    settings: Settings,
    clients: Clients,
    offset: Token = "",
    level: Annotated[str, Query(max_length=10)] = "",
    limit: Limit = None,
) -> JSONResponse:
    """`GET /jobs/{job_id}/logs`: entries after `offset` at `level` and above, at most
    `limit`; available in every status. JobNotFound, BadRequest."""
    query = pb.GetLogsRequest(
        owner=owner_of(principal),
        job_id=job_id,
        offset=offset,
        level=_level(level),
        limit=limit or 0,
    )
    response = await clients.jobs.GetLogs(query)
    url = f"{job_url(api_url(request, settings), job_id)}/logs"
    return JSONResponse(build_logs(response, url=url, level=level, limit=limit))


@router.get("/jobs/{job_id}/estimate")
async def estimate_job(job_id: str, principal: Principal, clients: Clients) -> Response:
    """`GET /jobs/{job_id}/estimate`: costs, duration and size of running the job.
    JobNotFound, and the executor's errors about the process."""
    response = await clients.jobs.EstimateJob(
        pb.JobRequest(owner=owner_of(principal), job_id=job_id)
    )
    return Response(response.estimate_json, media_type="application/json")
