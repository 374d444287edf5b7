"""The jobs service's logic: batch jobs of one owner, from creation to results.

Transport-free: the servicer converts protobuf to the arguments here. Every operation
on a job first loads it through `JobStore.owned`, so another user's job answers
JobNotFound exactly like a missing one. Status changes are the store's atomic
transitions; the scheduler, the event consumer and the reconciler do the rest of the
state machine.
"""

import base64
import binascii
import json
import logging
import math
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import bson

from eoplex_common.documents import Document
from eoplex_common.errors import (
    BadRequest,
    BudgetInvalid,
    JobFailed,
    JobLocked,
    JobNotFinished,
    JobNotFound,
    OpenEOError,
    PayloadTooLarge,
    PaymentRequired,
    ProcessGraphComplexity,
    ProcessGraphInvalid,
    PropertyNotEditable,
    RangeNotSatisfiable,
    ResultLinkExpired,
)
from eoplex_common.pricing import price
from eoplex_jobs.estimate import ExecutorFigures, estimate_document
from eoplex_jobs.launcher.protocol import Launcher
from eoplex_jobs.result_links import ResultLink, ResultLinks, StoredResult, link_url
from eoplex_jobs.results import results_document
from eoplex_jobs.store import ACTIVE_STATUSES, LOG_LEVELS, JobStore

log = logging.getLogger(__name__)

# A job can be edited or started again in these statuses.
STARTABLE_STATUSES = ("created", "canceled", "error")
EDITABLE_FIELDS = (
    "title",
    "description",
    "process_json",
    "plan",
    "budget",
    "job_options_json",
    "log_level",
)
# The openEO default of `log_level` (min_log_level_default).
DEFAULT_LOG_LEVEL = "info"


# The most a job's stored fields may take: MongoDB stores documents of up to 16 MiB, and a
# job gains its status, progress, usage and results as it runs. PATCH /jobs edits fields
# one request at a time, each within the gateway's body limit, so they can add up.
MAX_JOB_BYTES = 12 * 1024 * 1024


def _check_size(job: Document) -> None:
    """PayloadTooLarge when `job` would take more than `MAX_JOB_BYTES` stored."""
    if len(bson.encode(job)) > MAX_JOB_BYTES:
        raise PayloadTooLarge(size=MAX_JOB_BYTES)


class ProcessValidator(Protocol):
    """Validates an openEO process (the processes service's `POST /validation`)."""

    async def validate(
        self, process_json: str, *, user_id: str, tenant_id: str
    ) -> list[OpenEOError]:
        """Every problem of the process, calls of the owner's user-defined processes
        included; empty if it is valid."""
        ...


class Estimator(Protocol):
    """Sizes a process without running it (the executor's `Estimate`)."""

    async def estimate(self, process_json: str, *, user_id: str, tenant_id: str) -> ExecutorFigures:
        """What running the process would read and write."""
        ...


class ResultFiles(Protocol):
    """The result files of jobs (`eoplex_jobs.clients.ResultObjects`: S3)."""

    # How long a signed URL stays valid.
    expiry: timedelta
    # Whether clients reach the storage's presigned URLs; else the gateway serves the files.
    public_urls: bool

    def presign(self, key: str, *, expires: datetime) -> str:
        """A URL that downloads `key` without credentials until `expires`."""
        ...

    async def stat(self, key: str) -> StoredResult:
        """The size and last modification of `key`."""
        ...

    def read(self, key: str, *, offset: int, length: int) -> AsyncGenerator[bytes, None]:
        """`length` bytes of `key` from `offset` (within the file), in pieces."""
        ...

    async def remove_job(self, job_id: str) -> None:
        """Delete every result file of the job."""
        ...


class JobQueue(Protocol):
    """The work queue the scheduler admits jobs from."""

    async def publish(self, job_id: str) -> None:
        """Ask for the job to be admitted."""
        ...


@dataclass(frozen=True, kw_only=True)
class Owner:
    """Who is asking: every call is confined to this user's jobs in this tenant."""

    user_id: str
    tenant_id: str


@dataclass(frozen=True, kw_only=True)
class JobDraft:
    """The user's fields of a job (`POST /jobs`, `PATCH /jobs/{job_id}`)."""

    process_json: str = ""
    title: str = ""
    description: str = ""
    plan: str = ""
    budget: float = 0.0
    job_options_json: str = ""
    # The least severe log level the job keeps; empty for the spec's default, info.
    log_level: str = ""


@dataclass(frozen=True, kw_only=True)
class ResultDownload:
    """The bytes [offset, offset + length) of a result file, as they are read."""

    asset: Document
    stored: StoredResult
    offset: int
    length: int
    chunks: AsyncGenerator[bytes, None]


@dataclass(frozen=True, kw_only=True)
class JobsPage:
    """One page of `GET /jobs` and the token of the next one ("" for none)."""

    jobs: list[Document]
    next_token: str = ""


@dataclass(frozen=True, kw_only=True)
class LogsPage:
    """One page of `GET /jobs/{job_id}/logs`."""

    logs: list[Document]
    next_offset: str
    level: str


def _parse_process(process_json: str) -> Any:
    try:
        return json.loads(process_json)
    except (json.JSONDecodeError, RecursionError):
        raise ProcessGraphInvalid("Invalid process graph: the process is not valid JSON.") from None


def _parse_job_options(text: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        options = json.loads(text)
    except json.JSONDecodeError:
        options = None
    if not isinstance(options, dict):
        raise BadRequest(reason="job options must be a JSON object")
    return options


def _budget(value: float) -> float | None:
    """The budget to store: none for 0 (not given); BudgetInvalid below 0 and for a
    non-finite one, which no job document could be written with."""
    if not math.isfinite(value) or value < 0:
        raise BudgetInvalid()
    return value or None


def _encode_token(job: Document) -> str:
    payload = json.dumps({"created": job["created"].isoformat(), "id": job["_id"]})
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_token(token: str) -> tuple[datetime, str]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return datetime.fromisoformat(payload["created"]), str(payload["id"])
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise BadRequest(reason="the page token is invalid") from None


def _log_level(level: str) -> str:
    """A job's `log_level`: BadRequest unless a level or empty (the default, info)."""
    return _levels_from(level or DEFAULT_LOG_LEVEL)[0]


def _levels_from(level: str) -> tuple[str, ...]:
    if level not in LOG_LEVELS:
        raise BadRequest(reason=f"unknown log level {level!r}")
    return LOG_LEVELS[LOG_LEVELS.index(level) :]


def _log_offset(offset: str) -> int:
    """The sequence number after which logs are listed: the `id` of the last entry seen."""
    if not offset:
        return 0
    if not offset.isdigit():
        raise BadRequest(reason=f"the log offset {offset!r} is invalid")
    return int(offset)


class JobsService:
    """The batch jobs behind `/jobs` and below."""

    def __init__(
        self,
        *,
        store: JobStore,
        validator: ProcessValidator,
        estimator: Estimator,
        launcher: Launcher,
        queue: JobQueue,
        results: ResultFiles,
        links: ResultLinks,
        cost_per_megapixel: float,
        megapixels_per_second: float,
        max_pixels_for: Callable[[str], int] = lambda tenant_id: 0,
    ) -> None:
        self.store = store
        self.validator = validator
        self.estimator = estimator
        self.launcher = launcher
        self.queue = queue
        self.result_objects = results
        self.links = links
        self.cost_per_megapixel = cost_per_megapixel
        self.megapixels_per_second = megapixels_per_second
        # The most pixels one batch job of a tenant may read and produce; 0: no limit.
        self.max_pixels_for = max_pixels_for

    async def _validated_process(self, process_json: str, owner: Owner) -> dict[str, Any]:
        """The process, if valid (it may call the owner's user-defined processes); else its
        first openEO error (ProcessGraphMissing, ProcessUnsupported, CollectionNotFound,
        ...) is raised."""
        process = _parse_process(process_json)
        errors = await self.validator.validate(
            process_json, user_id=owner.user_id, tenant_id=owner.tenant_id
        )
        if errors:
            raise errors[0]
        return dict(process)

    async def create_job(self, owner: Owner, draft: JobDraft) -> Document:
        """`POST /jobs`: validate, then store the job as `created`.

        Raises the process's first validation error, BudgetInvalid, BadRequest (job options),
        PayloadTooLarge (beyond `MAX_JOB_BYTES`).
        """
        process = await self._validated_process(draft.process_json, owner)
        job = {
            "user_id": owner.user_id,
            "tenant_id": owner.tenant_id,
            "title": draft.title or None,
            "description": draft.description or None,
            "process": process,
            "plan": draft.plan or None,
            "budget": _budget(draft.budget),
            "job_options": _parse_job_options(draft.job_options_json),
            "log_level": _log_level(draft.log_level),
        }
        _check_size(job)
        return await self.store.create(job)

    async def list_jobs(self, owner: Owner, *, limit: int, page_token: str) -> JobsPage:
        """`GET /jobs`: the owner's jobs, newest first; `limit` 0 lists all.

        Raises BadRequest for a negative limit or a malformed token.
        """
        if limit < 0:
            raise BadRequest(reason="limit must not be negative")
        after = _decode_token(page_token) if page_token else None
        fetch = 0 if limit == 0 else limit + 1
        jobs = await self.store.list_owned(owner.user_id, owner.tenant_id, limit=fetch, after=after)
        if limit == 0 or len(jobs) <= limit:
            return JobsPage(jobs=jobs)
        page = jobs[:limit]
        return JobsPage(jobs=page, next_token=_encode_token(page[-1]))

    async def get_job(self, owner: Owner, job_id: str) -> Document:
        """`GET /jobs/{job_id}`: JobNotFound."""
        return await self.store.owned(job_id, owner.user_id, owner.tenant_id)

    async def update_job(
        self, owner: Owner, job_id: str, draft: JobDraft, fields: list[str]
    ) -> Document:
        """`PATCH /jobs/{job_id}`: change the named fields of a job that is not queued or
        running; with no field named, the job unchanged.

        Raises JobNotFound, JobLocked, PropertyNotEditable, the new
        process's first validation error, BudgetInvalid, BadRequest, PayloadTooLarge (the
        job would exceed `MAX_JOB_BYTES`, e.g. after several large fields).
        """
        job = await self.store.owned(job_id, owner.user_id, owner.tenant_id)
        if not fields:
            # The request schema allows `{}`: nothing to change, whatever the status.
            return job
        if job["status"] in ACTIVE_STATUSES:
            raise JobLocked()
        for name in fields:
            if name not in EDITABLE_FIELDS:
                raise PropertyNotEditable(property=name)
        changes: Document = {}
        if "process_json" in fields:
            changes["process"] = await self._validated_process(draft.process_json, owner)
        for name in ("title", "description", "plan"):
            if name in fields:
                changes[name] = getattr(draft, name) or None
        if "budget" in fields:
            changes["budget"] = _budget(draft.budget)
        if "job_options_json" in fields:
            changes["job_options"] = _parse_job_options(draft.job_options_json)
        if "log_level" in fields:
            changes["log_level"] = _log_level(draft.log_level)
        _check_size({**job, **changes})
        editable = ("created", "canceled", "error", "finished")
        updated = await self.store.update_in_status(job_id, statuses=editable, fields=changes)
        if updated is None:
            # Started (or deleted) since it was read: the edit must not reach a running job.
            await self.store.owned(job_id, owner.user_id, owner.tenant_id)
            raise JobLocked()
        return updated

    async def start_job(self, owner: Owner, job_id: str) -> None:
        """`POST /jobs/{job_id}/results`: `created|canceled|error -> queued`, and the job on
        the work queue; a queued, running or finished job is left as it is.

        Raises JobNotFound, and, from the executor's estimate of a job that would be
        queued, ProcessGraphComplexity when it would read and produce more pixels than one
        batch job of its tenant may, PaymentRequired when it would cost more than its
        budget (as the API asks: refused, not queued). The running job is held to both
        again (its launch spec, `JobSpecs`), as what it reads may change after the start
        (e.g. a user-defined process it calls).
        """
        stored = await self.store.owned(job_id, owner.user_id, owner.tenant_id)
        if stored["status"] in STARTABLE_STATUSES:
            await self._check_pixels(stored)
        fields = {
            "queued_at": datetime.now(UTC),
            "progress": 0.0,
            "started_at": None,
            "finished_at": None,
            "heartbeat_at": None,
            "error": None,
            "assets": [],
            "usage": {},
            "costs": None,
            "launcher_ref": None,
        }
        job = await self.store.transition(
            job_id, expected=STARTABLE_STATUSES, to="queued", fields=fields
        )
        if job is not None:
            await self.queue.publish(job_id)

    async def _check_pixels(self, job: Document) -> None:
        """ProcessGraphComplexity or PaymentRequired when the executor's estimate of `job`
        is beyond its tenant's limit or its budget. A job the executor cannot estimate (a
        UDF whose result only running it tells, an error its run will report, the executor
        unavailable) is not refused here: its run is held to the same limits."""
        try:
            figures = await self.estimator.estimate(
                json.dumps(job["process"]), user_id=job["user_id"], tenant_id=job["tenant_id"]
            )
        except OpenEOError as error:
            log.info("job %s starts without an estimate: %s", job["_id"], error.message)
            return
        limit = self.max_pixels_for(job["tenant_id"])
        if limit and figures.pixels > limit:
            raise ProcessGraphComplexity(
                f"The job would read and produce {figures.pixels:,} pixels, more than the "
                f"{limit:,} one batch job of its tenant may. Reduce the spatial or temporal "
                "extent, the bands or the resolution, or split it into several jobs."
            )
        budget = job.get("budget")
        costs = price(figures.pixels, cost_per_megapixel=self.cost_per_megapixel)
        if budget is not None and costs > budget:
            raise PaymentRequired(
                f"The job would cost {costs:g} ({figures.pixels:,} pixels read and produced "
                f"at {self.cost_per_megapixel:g} per megapixel), more than its budget of "
                f"{budget:g}. Raise the budget, or reduce the spatial or temporal extent, the "
                "bands or the resolution."
            )

    async def _stop(self, job_id: str) -> None:
        """`queued|running -> canceled`, the executor stopped, the partial results removed."""
        job = await self.store.transition(
            job_id,
            expected=ACTIVE_STATUSES,
            to="canceled",
            fields={"finished_at": datetime.now(UTC)},
        )
        if job is None:
            return
        await self.launcher.cancel(job)
        await self.result_objects.remove_job(job_id)
        await self.store.update_fields(job_id, {"assets": []})

    async def cancel_job(self, owner: Owner, job_id: str) -> None:
        """`DELETE /jobs/{job_id}/results`: stop a queued or running job; otherwise nothing
        changes. JobNotFound."""
        await self.store.owned(job_id, owner.user_id, owner.tenant_id)
        await self._stop(job_id)

    async def delete_job(self, owner: Owner, job_id: str) -> None:
        """`DELETE /jobs/{job_id}`: stop it if needed, then delete its results, logs and
        record. JobNotFound."""
        await self.store.owned(job_id, owner.user_id, owner.tenant_id)
        await self._stop(job_id)
        await self.result_objects.remove_job(job_id)
        await self.store.delete(job_id)

    async def results(self, owner: Owner, job_id: str, *, api_url: str) -> Document:
        """`GET /jobs/{job_id}/results`: the STAC Item with freshly signed URLs (below
        `api_url` when clients do not reach the storage).

        Raises JobNotFound, JobFailed (status error, with the job's last error message),
        JobNotFinished (any other status but finished).
        """
        job = await self.store.owned(job_id, owner.user_id, owner.tenant_id)
        await self._check_finished(job)
        # Whole seconds, as links carry it.
        expires = (datetime.now(UTC) + self.result_objects.expiry).replace(microsecond=0)
        return self._results_document(job, api_url=api_url, expires=expires)

    async def shared_results(self, link: ResultLink, *, api_url: str) -> Document:
        """`GET /jobs/{job_id}/results/signed` (the `canonical` link): the STAC Item to
        whoever holds the link, its URLs expiring with it.

        Raises PermissionsInsufficient (a link not signed as it is), ResultLinkExpired, and
        the errors of `results`.
        """
        job = await self._shared_job(link)
        expires = datetime.fromtimestamp(link.expires, UTC)
        return self._results_document(job, api_url=api_url, expires=expires)

    async def download_result(
        self, link: ResultLink, *, offset: int, length: int
    ) -> ResultDownload:
        """`GET /jobs/{job_id}/results/signed/{asset}`: the bytes [offset, offset + length)
        (length -1: to the end; clipped at the end) of the asset the link names.

        Raises the errors of `shared_results`, ResultLinkExpired also when the job's
        results were made again since (the asset is gone), RangeNotSatisfiable (a range
        starting past the end), BadRequest (negative values).
        """
        if offset < 0 or length < -1:
            raise BadRequest(reason="offset and length must not be negative")
        job = await self._shared_job(link)
        named = [asset for asset in job.get("assets") or [] if asset["name"] == link.asset]
        if not link.asset or not named:
            raise ResultLinkExpired()
        stored = await self.result_objects.stat(named[0]["key"])
        if offset > stored.size or (length > 0 and offset >= stored.size):
            raise RangeNotSatisfiable(size=stored.size)
        available = stored.size - offset
        length = available if length == -1 else min(length, available)
        chunks = self.result_objects.read(named[0]["key"], offset=offset, length=length)
        return ResultDownload(
            asset=named[0], stored=stored, offset=offset, length=length, chunks=chunks
        )

    async def _shared_job(self, link: ResultLink) -> Document:
        """The finished job a valid, unexpired link names."""
        self.links.check(link)
        job = await self.store.get(link.job_id)
        if job is None:
            raise JobNotFound(identifier=link.job_id)
        await self._check_finished(job)
        return job

    async def _check_finished(self, job: Document) -> None:
        """JobFailed (with the job's last error message) or JobNotFinished unless `job` is
        finished."""
        if job["status"] == "error":
            last = await self.store.last_log(job["_id"], level="error")
            raise JobFailed(reason=last["message"] if last else "no error message was recorded")
        if job["status"] != "finished":
            raise JobNotFinished()

    def _results_document(self, job: Document, *, api_url: str, expires: datetime) -> Document:
        """The results Item of `job` whose URLs are valid until `expires`: presigned S3 URLs
        when clients reach S3, else links the gateway serves."""

        def href(asset: Document) -> str:
            if self.result_objects.public_urls:
                return self.result_objects.presign(asset["key"], expires=expires)
            return link_url(
                api_url, self.links.sign(job["_id"], asset=asset["name"], expires=expires)
            )

        canonical = link_url(api_url, self.links.sign(job["_id"], asset="", expires=expires))
        return results_document(job, href=href, canonical=canonical, expires=expires)

    async def logs(
        self, owner: Owner, job_id: str, *, offset: str, level: str, limit: int
    ) -> LogsPage:
        """`GET /jobs/{job_id}/logs`: entries after `offset` (the last `id` seen) of at
        least `level` (default debug), at most `limit` (0: all), in any status.

        Raises JobNotFound, BadRequest (level, offset or limit).
        """
        await self.store.owned(job_id, owner.user_id, owner.tenant_id)
        level = level or "debug"
        if limit < 0:
            raise BadRequest(reason="limit must not be negative")
        records = await self.store.logs(
            job_id, after_seq=_log_offset(offset), levels=_levels_from(level), limit=limit
        )
        next_offset = records[-1]["id"] if records else ""
        return LogsPage(logs=records, next_offset=next_offset, level=level)

    async def estimate(self, owner: Owner, job_id: str) -> Document:
        """`GET /jobs/{job_id}/estimate`: costs, duration and size derived from what the
        executor finds the process would read and write.

        Raises JobNotFound, and the executor's openEO errors (e.g. CollectionNotFound).
        """
        job = await self.store.owned(job_id, owner.user_id, owner.tenant_id)
        figures = await self.estimator.estimate(
            json.dumps(job["process"]), user_id=owner.user_id, tenant_id=owner.tenant_id
        )
        return estimate_document(
            figures,
            cost_per_megapixel=self.cost_per_megapixel,
            megapixels_per_second=self.megapixels_per_second,
        )
