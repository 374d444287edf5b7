"""What a UDF prints and logs with `openeo.udf.inspect`, as bounded log entries.

In the UDF process, `ChunkOutput` collects them while one chunk runs: the text the UDF
writes to its standard output (one entry per `TEXT_LIMIT` characters at most, printed
lines run together) and every `openeo.udf.inspect` record (`<code>: <message>` and a
JSON-friendly description of its data, `describe`). A chunk yields at most
`ENTRIES_PER_CHUNK` entries, and one more saying how many were left out. The entries go
back to the executor over the answer pipe ahead of the chunk's answer, as JSON of at most
`ENTRY_BYTES` (`UdfLogEntry.encode`); the executor checks them again (`decode`), since
the UDF process is not trusted.
"""

import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from eoplex_executor.engine.cube import label_values

# Characters of one entry's message, and of a text in a description.
TEXT_LIMIT = 2000
# Labels and list items shown per dimension or list; the rest is counted.
SHOWN = 10
ENTRIES_PER_CHUNK = 20
# One entry as JSON; an entry whose description of its data is longer loses it.
ENTRY_BYTES = 16 * 1024
LEVELS = ("error", "warning", "info", "debug")
# The logger `openeo.udf.inspect` logs to (`OPENEO_UDF_USER_LOGGER` is not passed on).
INSPECT_LOGGER = "openeo.udf.debug.user"


@dataclass(frozen=True)
class UdfLogEntry:
    """One entry of a UDF's output: an openEO log level, a message, the data's description."""

    level: str
    message: str
    data: Any = None

    def encode(self) -> bytes:
        """The entry as JSON of at most ENTRY_BYTES."""
        payload = json.dumps({"level": self.level, "message": self.message, "data": self.data})
        if len(payload.encode()) <= ENTRY_BYTES:
            return payload.encode()
        shorter = {"level": self.level, "message": self.message, "data": "(too large to show)"}
        return json.dumps(shorter).encode()

    @classmethod
    def decode(cls, payload: bytes) -> "UdfLogEntry":
        """The entry `encode` wrote; ValueError for anything else."""
        if len(payload) > ENTRY_BYTES:
            raise ValueError(f"a log entry of more than {ENTRY_BYTES} bytes")
        entry = json.loads(payload)
        if not isinstance(entry, dict) or entry.get("level") not in LEVELS:
            raise ValueError("a log entry without a level")
        message = entry.get("message")
        if not isinstance(message, str):
            raise ValueError("a log entry without a message")
        return cls(entry["level"], _cut(message), entry.get("data"))


class ChunkOutput(logging.Handler):
    """The output of the UDF on one chunk, in order: `capture` it, then take `entries()`."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self._entries: list[UdfLogEntry] = []
        self._printed: list[str] = []
        self._printed_length = 0
        self._omitted = 0

    @contextmanager
    def capture(self) -> Iterator[None]:
        """While inside, standard output and `openeo.udf.inspect` come here."""
        logger = logging.getLogger(INSPECT_LOGGER)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(self)
        try:
            with redirect_stdout(_Stdout(self)):
                yield
        finally:
            logger.removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        """An `openeo.udf.inspect` record."""
        self._end_printed()
        level = record.levelname.lower()
        code = str(getattr(record, "code", "User"))
        message = record.getMessage()
        text = f"{code}: {message}" if message else code
        data = describe(getattr(record, "data", None))
        self._add(UdfLogEntry(level if level in LEVELS else "info", _cut(text), data))

    def write(self, text: str) -> None:
        """Text the UDF printed; a long text is cut into entries of TEXT_LIMIT characters."""
        while text:
            room = TEXT_LIMIT - self._printed_length
            self._printed.append(text[:room])
            self._printed_length += len(text[:room])
            text = text[room:]
            if self._printed_length >= TEXT_LIMIT:
                self._end_printed()

    def entries(self) -> list[UdfLogEntry]:
        """The chunk's entries, and one saying how many more there were."""
        self._end_printed()
        entries, self._entries = self._entries, []
        if self._omitted:
            entries.append(
                UdfLogEntry(
                    "warning",
                    f"{self._omitted} more entries of output of this chunk left out "
                    f"(at most {ENTRIES_PER_CHUNK} per chunk)",
                )
            )
            self._omitted = 0
        return entries

    def _end_printed(self) -> None:
        text = "".join(self._printed).rstrip("\n")
        self._printed, self._printed_length = [], 0
        if text.strip():
            self._add(UdfLogEntry("info", text))

    def _add(self, entry: UdfLogEntry) -> None:
        if len(self._entries) < ENTRIES_PER_CHUNK:
            self._entries.append(entry)
        else:
            self._omitted += 1


class _Stdout(io.TextIOBase):
    """A standard output that hands what is written to a ChunkOutput."""

    def __init__(self, output: ChunkOutput) -> None:
        self._output = output

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._output.write(str(text))
        return len(text)


def describe(data: Any, *, item: Callable[[Any], Any] | None = None) -> Any:
    """A JSON-friendly, bounded description of `data` that computes nothing lazy; `item`
    describes list items and mapping values (by default, `describe`)."""
    item = item or describe
    if isinstance(data, xr.DataArray):
        return {"type": "array", **describe_array(data)}
    if isinstance(getattr(data, "array", None), xr.DataArray):  # openeo.udf's XarrayDataCube
        return describe(data.array)
    if isinstance(data, np.ndarray):
        if data.size <= SHOWN and data.dtype.kind in "biuf":
            return data.tolist()
        return {"type": "array", "dtype": str(data.dtype), "shape": list(data.shape)}
    if isinstance(data, np.generic):
        return describe(data.item())
    if isinstance(data, list | tuple):
        return shown([item(value) for value in data[: SHOWN + 1]], total=len(data))
    if isinstance(data, dict):
        return {str(key): item(value) for key, value in data.items()}
    if isinstance(data, str):
        return _cut(data)
    if data is None or isinstance(data, bool | int | float):
        return data
    return repr(data)[:TEXT_LIMIT]


def describe_array(values: xr.DataArray) -> dict[str, Any]:
    """The data type, dimensions and (some) labels of an array, without its values."""
    return {
        "dtype": str(values.dtype),
        "dimensions": {str(dim): int(size) for dim, size in values.sizes.items()},
        "labels": {
            str(dim): shown(
                label_values(values.coords[dim].values[: SHOWN + 1]), total=len(values.coords[dim])
            )
            for dim in values.dims
            if dim in values.coords
        },
    }


def shown(items: list[Any], *, total: int | None = None) -> list[Any]:
    """The first SHOWN of `total` items (default: all of `items`), and how many more."""
    total = len(items) if total is None else total
    if total <= SHOWN:
        return items[:SHOWN]
    return [*items[:SHOWN], f"... {total - SHOWN} more"]


def _cut(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + "..."
