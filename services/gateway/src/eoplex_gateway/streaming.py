"""A service's streamed chunks as the body of an HTTP response (`GET /files/{path}`,
`POST /result`, the assets of job results), whole or the one byte range asked for."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Protocol

from fastapi import Request, Response

from eoplex_common.errors import RangeNotSatisfiable
from eoplex_gateway.errors import error_response
from eoplex_gateway.middleware import header_number

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class Chunk(Protocol):
    """A message of a streamed file: `files.DownloadChunk`, `executor.ResultChunk`."""

    data: bytes


async def file_bytes(call: Any, chunks: AsyncIterator[Chunk]) -> AsyncIterator[bytes]:
    """The file's bytes as they arrive; the call ends with the response, however it ends."""
    try:
        async for chunk in chunks:
            yield chunk.data
    finally:
        # After a client disconnect this stops the service's work (the executor removes its
        # scratch files); after the last chunk it does nothing.
        call.cancel()


async def first_message(call: Any) -> tuple[Any, AsyncIterator[Any]]:
    """The first message of a streamed call (its header) and the rest; the call is
    cancelled if the first does not come, so the service's errors are raised here, before
    any byte is sent."""
    messages = aiter(call)
    try:
        first = await anext(messages)
    except BaseException:
        call.cancel()
        raise
    return first, messages


def range_headers(
    *, offset: int, length: int, size: int, modified: str, partial: bool
) -> dict[str, str]:
    """`Content-Length`, `Accept-Ranges`, `Last-Modified` and, for a part (206),
    `Content-Range` of `length` bytes from `offset` of a file of `size` bytes."""
    headers = {
        "Content-Length": str(length),
        "Accept-Ranges": "bytes",
        "Last-Modified": http_date(modified),
    }
    if partial:
        headers["Content-Range"] = f"bytes {offset}-{offset + length - 1}/{size}"
    return headers


@dataclass(frozen=True)
class FileFacts:
    """What a download's header tells of the whole file."""

    size: int
    # RFC 3339.
    modified: str
    media_type: str


class RangedDownload(Protocol):
    """A file a service streams from any offset (`DownloadFile`, `DownloadResult`)."""

    async def probe(self) -> FileFacts:
        """The file's size, last modification and media type, without its bytes."""
        ...

    async def send(self, *, offset: int, length: int, partial: bool) -> Response:
        """200 (or 206 with `Content-Range`) streaming `length` bytes (-1: all) from
        `offset`; the service's errors are raised before any byte is sent."""
        ...


async def ranged_response(request: Request, download: RangedDownload) -> Response:
    """The file, or the single `Range: bytes=...` asked for (206); an unsatisfiable one
    is 416 (RangeNotSatisfiable, `Content-Range: bytes */<size>`); a malformed or multiple
    range, or an `If-Range` that no longer matches, gets the whole file. `HEAD` gets the
    headers of the whole file and no byte of it (the service sends none either)."""
    if request.method == "HEAD":
        facts = await download.probe()
        headers = range_headers(
            offset=0, length=facts.size, size=facts.size, modified=facts.modified, partial=False
        )
        return Response(headers=headers, media_type=facts.media_type)
    wanted = parse_range(request.headers.get("range"))
    if wanted is None:
        return await download.send(offset=0, length=-1, partial=False)
    # A range needs the size (for `-suffix` and for the answer to an unsatisfiable one).
    facts = await download.probe()
    size = facts.size
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range != http_date(facts.modified):
        return await download.send(offset=0, length=-1, partial=False)
    resolved = wanted.resolve(size)
    if resolved is None:
        unsatisfiable = RangeNotSatisfiable(size=size)
        return error_response(unsatisfiable, headers={"Content-Range": f"bytes */{size}"})
    offset, length = resolved
    return await download.send(offset=offset, length=length, partial=True)


@dataclass(frozen=True)
class ByteRange:
    """One range of a `Range: bytes=...` header: `first-last`, `first-` or `-suffix`."""

    first: int | None
    last: int | None

    def resolve(self, size: int) -> tuple[int, int] | None:
        """(offset, length) within a file of `size` bytes, or None if unsatisfiable."""
        if self.first is None:
            suffix = self.last or 0
            if suffix == 0 or size == 0:
                return None
            offset = max(size - suffix, 0)
            return offset, size - offset
        if self.first >= size:
            return None
        last = size - 1 if self.last is None else min(self.last, size - 1)
        return self.first, last - self.first + 1


def parse_range(header: str | None) -> ByteRange | None:
    """The single byte range asked for, or None to send the whole file: without a
    header, and (as RFC 9110 allows) for a malformed one or several ranges."""
    match = _RANGE.match(header or "")
    if match is None:
        return None
    first, last = (header_number(value) if value else None for value in match.groups())
    if first is None and last is None:
        return None
    if first is not None and last is not None and last < first:
        return None
    return ByteRange(first=first, last=last)


def http_date(modified: str) -> str:
    """RFC 3339 (`2026-01-03T10:55:29Z`) -> HTTP date (`Sat, 03 Jan 2026 10:55:29 GMT`)."""
    return format_datetime(datetime.fromisoformat(modified.replace("Z", "+00:00")), usegmt=True)
