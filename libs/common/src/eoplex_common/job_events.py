"""The batch-job event contract: the subjects and JSON payloads of the `JOBS` stream
(declared with the other streams in `eoplex_common.streams`).

The executor's `run-job` (and the launcher) publish; the jobs service consumes. Both
sides build and parse the payloads only through the pure functions here, so the
contract has one home:

- `jobs.<job_id>.status`: `{"status": "finished"|"error", "time", "message",
  "assets": [...], "usage": {...}}`
- `jobs.<job_id>.progress`: `{"progress": 0-100, "time"}` (also the heartbeat)
- `jobs.<job_id>.log`: `{"level": "debug"|"info"|"warning"|"error", "message", "time", "data"}`
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from nats.js import JetStreamContext

from eoplex_common.streams import JOBS

JOBS_STREAM = JOBS.name

EventKind = Literal["status", "progress", "log"]
EVENT_KINDS: tuple[EventKind, ...] = ("status", "progress", "log")
# The statuses the executor reports; the others (created, queued, running, canceled) are
# the jobs service's own: its scheduler writes `running` when it launches the executor.
REPORTED_STATUSES = ("finished", "error")
LOG_LEVELS = ("debug", "info", "warning", "error")


class InvalidJobEvent(ValueError):
    """A message on a `jobs.*` subject that does not follow the contract."""


@dataclass(frozen=True)
class StatusEvent:
    """A status change reported by the executor."""

    status: str
    time: datetime
    message: str = ""
    assets: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProgressEvent:
    """How far a running job is (0-100); its arrival is the job's heartbeat."""

    progress: float
    time: datetime


@dataclass(frozen=True)
class LogEvent:
    """One log record of a job."""

    level: str
    message: str
    time: datetime
    data: Any = None


JobEvent = StatusEvent | ProgressEvent | LogEvent


async def ensure_jobs_stream(js: JetStreamContext) -> None:
    """Declare the `JOBS` stream, so that events published before any consumer are kept."""
    await JOBS.declare(js)


def subject(job_id: str, kind: EventKind) -> str:
    """`jobs.<job_id>.<kind>`."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown job event kind {kind!r}")
    return f"jobs.{job_id}.{kind}"


def parse_subject(value: str) -> tuple[str, EventKind]:
    """(job id, kind) of a `jobs.<job_id>.<kind>` subject; InvalidJobEvent otherwise."""
    parts = value.split(".")
    if len(parts) != 3 or parts[0] != "jobs" or not parts[1] or parts[2] not in EVENT_KINDS:
        raise InvalidJobEvent(f"not a job event subject: {value!r}")
    kind: EventKind = parts[2]  # type: ignore[assignment]
    return parts[1], kind


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as every openEO timestamp."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def now() -> datetime:
    """The current instant, UTC."""
    return datetime.now(UTC)


def status_payload(
    status: str,
    *,
    message: str = "",
    assets: list[dict[str, Any]] | None = None,
    usage: dict[str, Any] | None = None,
    time: datetime | None = None,
) -> bytes:
    """The JSON of a `jobs.<id>.status` event."""
    if status not in REPORTED_STATUSES:
        raise ValueError(f"the executor does not report status {status!r}")
    return _encode(
        {
            "status": status,
            "time": format_time(time or now()),
            "message": message,
            "assets": assets or [],
            "usage": usage or {},
        }
    )


def progress_payload(progress: float, *, time: datetime | None = None) -> bytes:
    """The JSON of a `jobs.<id>.progress` event; `progress` is clamped to 0-100."""
    return _encode(
        {"progress": min(max(float(progress), 0.0), 100.0), "time": format_time(time or now())}
    )


def log_payload(
    level: str, message: str, *, data: Any = None, time: datetime | None = None
) -> bytes:
    """The JSON of a `jobs.<id>.log` event."""
    if level not in LOG_LEVELS:
        raise ValueError(f"unknown log level {level!r}")
    return _encode(
        {"level": level, "message": message, "time": format_time(time or now()), "data": data}
    )


def parse_event(kind: EventKind, payload: bytes) -> JobEvent:
    """The event of `kind` in `payload`; InvalidJobEvent for anything off contract."""
    document = _decode(payload)
    time = _time(document.get("time"))
    if kind == "status":
        status = document.get("status")
        if status not in REPORTED_STATUSES:
            raise InvalidJobEvent(f"unknown status {status!r}")
        assets, usage = document.get("assets") or [], document.get("usage") or {}
        if not isinstance(assets, list) or not isinstance(usage, dict):
            raise InvalidJobEvent("assets must be a list and usage an object")
        return StatusEvent(status, time, str(document.get("message") or ""), assets, usage)
    if kind == "progress":
        progress = document.get("progress")
        if not isinstance(progress, int | float) or isinstance(progress, bool):
            raise InvalidJobEvent(f"progress must be a number, got {progress!r}")
        return ProgressEvent(min(max(float(progress), 0.0), 100.0), time)
    if kind == "log":
        level = document.get("level")
        if level not in LOG_LEVELS:
            raise InvalidJobEvent(f"unknown log level {level!r}")
        return LogEvent(level, str(document.get("message") or ""), time, document.get("data"))
    raise InvalidJobEvent(f"unknown job event kind {kind!r}")


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _decode(payload: bytes) -> dict[str, Any]:
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidJobEvent("the payload is not JSON") from None
    if not isinstance(document, dict):
        raise InvalidJobEvent("the payload is not a JSON object")
    return document


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidJobEvent(f"time must be an RFC 3339 string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidJobEvent(f"time {value!r} is not RFC 3339") from None
    if parsed.tzinfo is None:
        raise InvalidJobEvent(f"time {value!r} has no time zone")
    return parsed.astimezone(UTC)
