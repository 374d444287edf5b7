"""The jobs service's MongoDB collections: `jobs` (one document per batch job) and `logs`.

Every status change is one `find_one_and_update` whose filter names the statuses the
job may come from, so two racing changes (two starts, a cancel and a finish) cannot
both win. Owner-facing reads filter on `user_id` and `tenant_id` together, and a job
of someone else answers exactly like a missing one (JobNotFound).
"""

import secrets
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from eoplex_common.documents import Document
from eoplex_common.errors import JobNotFound

# Job statuses in which the executor may still be running (or about to).
ACTIVE_STATUSES = ("queued", "running")
LOG_LEVELS = ("debug", "info", "warning", "error")


def new_job_id() -> str:
    """A random, unguessable job id: 'j-' and 24 hex characters."""
    return f"j-{secrets.token_hex(12)}"


def _now() -> datetime:
    return datetime.now(UTC)


class JobStore:
    """Every read and write of the jobs service's database."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self.jobs = database["jobs"]
        self.log_records = database["logs"]

    async def ensure_indexes(self) -> None:
        """Indexes for listing a user's jobs, finding jobs by status, and paging logs."""
        await self.jobs.create_index(
            [("tenant_id", ASCENDING), ("user_id", ASCENDING), ("created", DESCENDING)]
        )
        await self.jobs.create_index([("status", ASCENDING)])
        await self.log_records.create_index([("job_id", ASCENDING), ("seq", ASCENDING)])

    async def create(self, doc: Document) -> Document:
        """Store a new job; `_id`, `created`, `updated`, `status` and `progress` are filled in
        unless given."""
        now = _now()
        document = {
            "_id": new_job_id(),
            "status": "created",
            "progress": 0.0,
            "created": now,
            "updated": now,
            "log_seq": 0,
            **doc,
        }
        await self.jobs.insert_one(document)
        return document

    async def get(self, job_id: str) -> Document | None:
        """The job, whoever owns it (internal use: scheduler, reconciler, run-job)."""
        return await self.jobs.find_one({"_id": job_id})

    async def owned(self, job_id: str, user_id: str, tenant_id: str) -> Document:
        """The job if it belongs to this user of this tenant; JobNotFound otherwise."""
        job = await self.jobs.find_one({"_id": job_id, "user_id": user_id, "tenant_id": tenant_id})
        if job is None:
            raise JobNotFound(identifier=job_id)
        return job

    async def list_owned(
        self, user_id: str, tenant_id: str, *, limit: int, after: tuple[datetime, str] | None
    ) -> list[Document]:
        """Up to `limit` of the user's jobs, newest first, after the (created, id) position."""
        query: Document = {"user_id": user_id, "tenant_id": tenant_id}
        if after is not None:
            created, job_id = after
            query["$or"] = [
                {"created": {"$lt": created}},
                {"created": created, "_id": {"$lt": job_id}},
            ]
        cursor = self.jobs.find(query, {"process": 0}).sort(
            [("created", DESCENDING), ("_id", DESCENDING)]
        )
        return [job async for job in cursor.limit(limit)]

    async def transition(
        self, job_id: str, *, expected: tuple[str, ...], to: str, fields: Document | None = None
    ) -> Document | None:
        """Atomically move the job from one of `expected` to `to`, setting `fields` too;
        the new document, or None if the job is missing or in another status."""
        return await self.jobs.find_one_and_update(
            {"_id": job_id, "status": {"$in": list(expected)}},
            {"$set": {**(fields or {}), "status": to, "updated": _now()}},
            return_document=ReturnDocument.AFTER,
        )

    async def update_fields(self, job_id: str, fields: Document) -> Document | None:
        """Set `fields` whatever the status; the new document, or None if it is missing."""
        return await self.jobs.find_one_and_update(
            {"_id": job_id},
            {"$set": {**fields, "updated": _now()}},
            return_document=ReturnDocument.AFTER,
        )

    async def update_in_status(
        self, job_id: str, *, statuses: tuple[str, ...], fields: Document
    ) -> Document | None:
        """Set `fields` only while the job is in one of `statuses` (e.g. progress while
        running, edits while not locked); the new document, or None."""
        return await self.jobs.find_one_and_update(
            {"_id": job_id, "status": {"$in": list(statuses)}},
            {"$set": {**fields, "updated": _now()}},
            return_document=ReturnDocument.AFTER,
        )

    async def in_status(self, *statuses: str) -> list[Document]:
        """Every job in one of `statuses`, oldest first (without the process)."""
        cursor = self.jobs.find({"status": {"$in": list(statuses)}}, {"process": 0})
        return [job async for job in cursor.sort([("created", ASCENDING), ("_id", ASCENDING)])]

    async def running_counts(self, *, tenant_id: str, user_id: str) -> tuple[int, int]:
        """How many jobs are running for the tenant, and for the user within it."""
        tenant = await self.jobs.count_documents({"tenant_id": tenant_id, "status": "running"})
        user = await self.jobs.count_documents(
            {"tenant_id": tenant_id, "user_id": user_id, "status": "running"}
        )
        return tenant, user

    async def append_log(
        self,
        job_id: str,
        *,
        level: str,
        message: str,
        data: Any = None,
        time: datetime | None = None,
        event_id: str | None = None,
    ) -> bool:
        """Add a log record with the job's next sequence number; False if the job is gone,
        keeps no record of this `level` (its `log_level` is more severe), or the record
        with this `event_id` (a redelivered event) is already stored."""
        rank = LOG_LEVELS.index(level) if level in LOG_LEVELS else len(LOG_LEVELS)
        more_severe = LOG_LEVELS[rank + 1 :]
        job = await self.jobs.find_one_and_update(
            {"_id": job_id, "log_level": {"$nin": list(more_severe)}},
            {"$inc": {"log_seq": 1}},
            projection={"log_seq": 1},
            return_document=ReturnDocument.AFTER,
        )
        if job is None:
            return False
        record: Document = {
            "job_id": job_id,
            "seq": job["log_seq"],
            "id": str(job["log_seq"]),
            "level": level,
            "message": message,
            "time": time or _now(),
            "data": data,
        }
        if event_id is not None:
            # One record per event: a redelivery collides on `_id` instead of duplicating.
            record["_id"] = f"{job_id}/{event_id}"
        try:
            await self.log_records.insert_one(record)
        except DuplicateKeyError:
            return False
        return True

    async def logs(
        self, job_id: str, *, after_seq: int, levels: tuple[str, ...], limit: int
    ) -> list[Document]:
        """Up to `limit` log records of the job after `after_seq`, of the given levels."""
        cursor = self.log_records.find(
            {"job_id": job_id, "seq": {"$gt": after_seq}, "level": {"$in": list(levels)}}
        )
        cursor = cursor.sort("seq", ASCENDING)
        return [record async for record in (cursor.limit(limit) if limit > 0 else cursor)]

    async def last_log(self, job_id: str, *, level: str) -> Document | None:
        """The job's most recent log record of `level`, or None."""
        cursor = self.log_records.find({"job_id": job_id, "level": level})
        records = [record async for record in cursor.sort("seq", DESCENDING).limit(1)]
        return records[0] if records else None

    async def delete(self, job_id: str) -> None:
        """Remove the job and its logs."""
        await self.jobs.delete_one({"_id": job_id})
        await self.log_records.delete_many({"job_id": job_id})
