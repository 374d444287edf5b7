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

import xarray as xr

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import DimensionArray, RasterCube, label_values
from eoplex_executor.engine.registry import process

log = logging.getLogger(__name__)

LEVELS = {
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}
# Labels and list items shown per dimension or list; the rest is counted.
SHOWN = 10
TEXT_LIMIT = 2000

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
    summary = summarize(data)
    text = f"{code}: {message}" if message else code
    log.log(LEVELS[level], "%s %s", text, summary)
    for sink in list(_sinks):
        sink(level, text, summary)
    return data


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
                    "labels": _shown(data.labels(dim)),
                }
                for dim in data.dims
            },
        }
    if isinstance(data, DimensionArray):
        return {"type": "labeled-array", "dimension": data.dimension, **_array(data.data)}
    if isinstance(data, xr.DataArray):
        return {"type": "array", **_array(data)}
    if isinstance(data, list | tuple):
        return _shown([summarize(item) for item in data])
    if isinstance(data, dict):
        return {str(key): summarize(value) for key, value in data.items()}
    if isinstance(data, str) and len(data) > TEXT_LIMIT:
        return data[:TEXT_LIMIT] + "..."
    if data is None or isinstance(data, bool | int | float | str):
        return data
    return repr(data)[:TEXT_LIMIT]


def _array(values: xr.DataArray) -> dict[str, Any]:
    return {
        "dtype": str(values.dtype),
        "dimensions": {str(dim): int(size) for dim, size in values.sizes.items()},
        "labels": {
            str(dim): _shown(label_values(values.coords[dim].values))
            for dim in values.dims
            if dim in values.coords
        },
    }


def _shown(items: list[Any]) -> list[Any]:
    if len(items) <= SHOWN:
        return items
    return [*items[:SHOWN], f"... {len(items) - SHOWN} more"]


@contextmanager
def forwarded_logs(sink: LogSink) -> Iterator[None]:
    """While inside, every `inspect` entry is also passed to `sink(level, message, data)`
    (a batch job's log events), whatever level this process logs at."""
    _sinks.append(sink)
    try:
        yield
    finally:
        _sinks.remove(sink)
