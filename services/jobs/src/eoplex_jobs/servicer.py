"""gRPC <-> domain for the jobs service (openeo.jobs.v1)."""

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, TypeAlias

import grpc

from eoplex_jobs.result_links import ResultLink
from eoplex_jobs.results import rfc3339
from eoplex_jobs.service import JobDraft, JobsService, Owner
from eoplex_proto.openeo.jobs.v1 import jobs_pb2 as pb
from eoplex_proto.openeo.jobs.v1 import jobs_pb2_grpc

Context: TypeAlias = grpc.aio.ServicerContext


def _owner(owner: pb.Owner) -> Owner:
    return Owner(user_id=owner.user_id, tenant_id=owner.tenant_id)


def _link(link: pb.ResultLink) -> ResultLink:
    return ResultLink(
        job_id=link.job_id, asset=link.asset, expires=link.expires, signature=link.signature
    )


def _instant(value: datetime | None) -> str:
    return "" if value is None else rfc3339(value.astimezone(UTC))


def job_message(job: dict[str, Any], *, with_process: bool = True) -> pb.Job:
    """A stored job as `openeo.jobs.v1.Job`."""
    progress = job.get("progress")
    return pb.Job(
        job_id=job["_id"],
        title=job.get("title") or "",
        description=job.get("description") or "",
        process_json=json.dumps(job["process"]) if with_process and "process" in job else "",
        status=job["status"],
        progress=-1.0 if progress is None else float(progress),
        created=_instant(job.get("created")),
        updated=_instant(job.get("updated")),
        plan=job.get("plan") or "",
        costs=float(job.get("costs") or 0.0),
        budget=float(job.get("budget") or 0.0),
        usage=usage_message(job.get("usage") or {}),
        job_options_json=json.dumps(job.get("job_options") or {}),
        log_level=job.get("log_level") or "info",
    )


def usage_message(usage: dict[str, Any]) -> dict[str, pb.UsageMetric]:
    """The executor's openEO `usage` (`{"cpu": {"value": 1.5, "unit": "cpu-seconds"}}`) as
    `UsageMetric`s: whole numbers as counts, others as amounts. A metric without a number
    (no executor reports one) is left out."""
    metrics = {}
    for name, metric in usage.items():
        value, unit = metric.get("value"), str(metric.get("unit") or "")
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if isinstance(value, int):
            metrics[name] = pb.UsageMetric(count=value, unit=unit)
        else:
            metrics[name] = pb.UsageMetric(amount=value, unit=unit)
    return metrics


def _draft(request: pb.CreateJobRequest | pb.UpdateJobRequest) -> JobDraft:
    return JobDraft(
        process_json=request.process_json,
        title=request.title,
        description=request.description,
        plan=request.plan,
        budget=request.budget,
        job_options_json=request.job_options_json,
        log_level=request.log_level,
    )


class JobsServicer(jobs_pb2_grpc.JobsServiceServicer):
    """Thin adapter from `openeo.jobs.v1.JobsService` to `JobsService`."""

    def __init__(self, service: JobsService) -> None:
        self.service = service

    async def CreateJob(self, request: pb.CreateJobRequest, context: Context) -> pb.Job:
        return job_message(await self.service.create_job(_owner(request.owner), _draft(request)))

    async def ListJobs(self, request: pb.ListJobsRequest, context: Context) -> pb.ListJobsResponse:
        page = await self.service.list_jobs(
            _owner(request.owner), limit=request.limit, page_token=request.page_token
        )
        return pb.ListJobsResponse(
            jobs=[job_message(job, with_process=False) for job in page.jobs],
            next_page_token=page.next_token,
        )

    async def GetJob(self, request: pb.JobRequest, context: Context) -> pb.Job:
        return job_message(await self.service.get_job(_owner(request.owner), request.job_id))

    async def UpdateJob(self, request: pb.UpdateJobRequest, context: Context) -> pb.Job:
        job = await self.service.update_job(
            _owner(request.owner), request.job_id, _draft(request), list(request.fields)
        )
        return job_message(job)

    async def DeleteJob(self, request: pb.JobRequest, context: Context) -> pb.Empty:
        await self.service.delete_job(_owner(request.owner), request.job_id)
        return pb.Empty()

    async def StartJob(self, request: pb.JobRequest, context: Context) -> pb.Empty:
        await self.service.start_job(_owner(request.owner), request.job_id)
        return pb.Empty()

    async def CancelJob(self, request: pb.JobRequest, context: Context) -> pb.Empty:
        await self.service.cancel_job(_owner(request.owner), request.job_id)
        return pb.Empty()

    async def GetResults(
        self, request: pb.GetResultsRequest, context: Context
    ) -> pb.GetResultsResponse:
        document = await self.service.results(
            _owner(request.owner), request.job_id, api_url=request.api_url
        )
        return pb.GetResultsResponse(document_json=json.dumps(document))

    async def GetSharedResults(
        self, request: pb.GetSharedResultsRequest, context: Context
    ) -> pb.GetResultsResponse:
        document = await self.service.shared_results(_link(request.link), api_url=request.api_url)
        return pb.GetResultsResponse(document_json=json.dumps(document))

    async def DownloadResult(
        self, request: pb.DownloadResultRequest, context: Context
    ) -> AsyncIterator[pb.ResultChunk]:
        download = await self.service.download_result(
            _link(request.link), offset=request.offset, length=request.length
        )
        header = pb.ResultHeader(
            size=download.stored.size,
            media_type=download.asset.get("type") or "application/octet-stream",
            modified=_instant(download.stored.modified),
            offset=download.offset,
            length=download.length,
        )
        yield pb.ResultChunk(header=header)
        # Closed also when the caller goes away, which releases the S3 connection.
        async with contextlib.aclosing(download.chunks) as chunks:
            async for data in chunks:
                yield pb.ResultChunk(data=data)

    async def GetLogs(self, request: pb.GetLogsRequest, context: Context) -> pb.GetLogsResponse:
        page = await self.service.logs(
            _owner(request.owner),
            request.job_id,
            offset=request.offset,
            level=request.level,
            limit=request.limit,
        )
        return pb.GetLogsResponse(
            logs_json=[json.dumps(log_entry(record)) for record in page.logs],
            next_offset=page.next_offset,
            level=page.level,
        )

    async def EstimateJob(self, request: pb.JobRequest, context: Context) -> pb.EstimateResponse:
        estimate = await self.service.estimate(_owner(request.owner), request.job_id)
        return pb.EstimateResponse(estimate_json=json.dumps(estimate))


def log_entry(record: dict[str, Any]) -> dict[str, Any]:
    """A stored log record as the openEO log entry `{id, code?, level, message, time, data}`:
    the openEO error code of an error the executor reported (in its `data`) is also the
    entry's `code`, where clients (the Python client's `LogEntry`) look for it."""
    entry = {
        "id": record["id"],
        "level": record["level"],
        "message": record["message"],
        "time": _instant(record.get("time")),
    }
    data = record.get("data")
    if data is not None:
        entry["data"] = data
    if isinstance(data, dict) and isinstance(data.get("code"), str):
        entry["code"] = data["code"]
    return entry
