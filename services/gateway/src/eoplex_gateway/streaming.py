"""A service's streamed chunks as the body of an HTTP response (`GET /files/{path}`,
`POST /result`)."""

from collections.abc import AsyncIterator
from typing import Any, Protocol


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
