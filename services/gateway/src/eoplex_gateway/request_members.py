"""JSON request bodies: the type of every body the gateway reads whole (`JsonObjectBody`),
and the members that the bodies of `POST /result`, `POST /jobs` and `PATCH /jobs/{job_id}`
share (`process`, `budget`, `plan`, `log_level`, ...), read and checked in one place."""

import math
from typing import Annotated, Any

from fastapi import Body
from pydantic import AfterValidator

from eoplex_common.errors import BadRequest, ProcessGraphMissing

LOG_LEVELS = ("debug", "info", "warning", "error")
# How deeply a body's objects and arrays may nest (the body itself is level 1). Process
# graphs need a few levels per child graph (at most 10 of them) and some for GeoJSON;
# the services' recursive code (pickling a graph for a worker, for one) failed from
# about 500 levels, as a 500.
MAX_JSON_DEPTH = 128


def within_json_depth(body: dict[str, Any]) -> dict[str, Any]:
    """`body`, if it nests at most MAX_JSON_DEPTH levels; a ValueError (answered 400
    BadRequest) otherwise. Iterative, so that it cannot exhaust the stack itself."""
    pending: list[tuple[Any, int]] = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return body


# A body that must be a JSON object (anything else is a BadRequest), nested within limits.
JsonObjectBody = Annotated[dict[str, Any], Body(), AfterValidator(within_json_depth)]


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
