"""inspect: a log line from inside a process graph, the data passed on unchanged.

The line (`<code>: <message>` and a summary of the data) goes to this module's logger,
hence the executor's log; a batch job also sends it to its job log (the `jobs.<id>.log`
events behind `GET /jobs/{job_id}/logs`) through `forwarded_logs`, at any level. Cubes
are summarised from their metadata (dimensions, labels, type), never computed.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import DimensionArray, RasterCube
from eoplex_executor.engine.registry import process
from eoplex_executor.udf.output import describe, describe_array, shown

log = logging.getLogger(__name__)

LEVELS = {
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}

# (openEO level, message, data) of one log entry.
LogSink = Callable[[str, str, Any], None]
# Where entries go besides the logger: one batch job per process, so one sink at most.
_sinks: list[LogSink] = []


@process()
def inspect(data: Any, message: str = "", code: str = "User", level: str = "info") -> Any:
    """openEO `inspect`: log `message` with `code` and a summary of `data` at `level`, and
    return `data` unchanged. Raises ProcessParameterInvalid for an unknown level."""
    if not isinstance(level, str) or level not in LEVELS:
        raise ProcessParameterInvalid(
            process="inspect", parameter="level", reason=f"one of {', '.join(LEVELS)} is required"
        )
    log_entry(level, f"{code}: {message}" if message else code, summarize(data))
    return data


def log_entry(level: str, message: str, data: Any) -> None:
    """One entry of an execution's log: this module's logger, and a batch job's log events
    while `forwarded_logs`; `inspect`'s, and what UDFs print and inspect."""
    if data is None:
        log.log(LEVELS[level], "%s", message)
    else:
        log.log(LEVELS[level], "%s %s", message, data)
    for sink in list(_sinks):
        sink(level, message, data)


def summarize(data: Any) -> Any:
    """A JSON-friendly description of `data` that needs no computation."""
    if isinstance(data, RasterCube):
        return {
            "type": "datacube",
            "crs": data.crs,
            "dtype": str(data.data.dtype),
            "dimensions": {
                dim: {
                    "type": data.dimension_types.get(dim, "other"),
                    "size": data.data.sizes[dim],
                    "labels": shown(data.labels(dim)),
                }
                for dim in data.dims
            },
        }
    if isinstance(data, DimensionArray):
        return {"type": "labeled-array", "dimension": data.dimension, **describe_array(data.data)}
    return describe(data, item=summarize)


@contextmanager
def forwarded_logs(sink: LogSink) -> Iterator[None]:
    """While inside, every `inspect` entry is also passed to `sink(level, message, data)`
    (a batch job's log events), whatever level this process logs at."""
    _sinks.append(sink)
    try:
        yield
    finally:
        _sinks.remove(sink)
