"""The members that the bodies of `POST /result`, `POST /jobs` and `PATCH /jobs/{job_id}`
share (`process`, `budget`, `plan`, `log_level`, ...), read and checked in one place."""

import math
from typing import Any

from eoplex_common.errors import BadRequest, ProcessGraphMissing

LOG_LEVELS = ("debug", "info", "warning", "error")


def process_of(body: dict[str, Any]) -> dict[str, Any]:
    """The body's `process`; ProcessGraphMissing when it has no `process_graph`."""
    process = body.get("process")
    if not isinstance(process, dict) or "process_graph" not in process:
        raise ProcessGraphMissing()
    return process


def text_member(body: dict[str, Any], name: str) -> str:
    """A string member; absent or null is ""; BadRequest for another type."""
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(reason=f"'{name}' must be a string or null")
    return value


def budget_of(body: dict[str, Any]) -> float:
    """`budget`: a finite non-negative number; absent or null is 0, which means no budget.

    BadRequest otherwise, also for numbers no float holds (`1e400` parses as infinity,
    `10**400` overflows), which could be neither stored nor written back as JSON.
    """
    value = body.get("budget")
    if value is None:
        return 0.0
    budget = _finite(value) if isinstance(value, int | float) else None
    if isinstance(value, bool) or budget is None or budget < 0:
        raise BadRequest(reason="'budget' must be a finite non-negative number or null")
    return budget


def _finite(value: int | float) -> float | None:
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def check_log_level(body: dict[str, Any]) -> None:
    """BadRequest unless `log_level` is absent, null or one of LOG_LEVELS."""
    level = body.get("log_level")
    if level is not None and level not in LOG_LEVELS:
        raise BadRequest(reason=f"'log_level' must be one of {', '.join(LOG_LEVELS)}")
