"""The user workspaces in S3: one prefix per user, `<tenant>/<user>/`, one object per file.

The minio SDK blocks, so every call runs in a worker thread. An upload is streamed:
`put_object` reads parts of `PART_BYTES` from a `ChunkReader`, which pulls the next
piece from the caller's async iterator on the event loop; memory stays at about one
part per upload, and a failure while reading aborts the multipart upload, so S3 never
completes a partial object and a file of the same path stays as it was.
"""

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import urllib3
from minio import Minio
from minio.error import S3Error

from eoplex_common.errors import OpenEOError, RequestTimeout, StorageFailure
from eoplex_common.s3 import ensure_bucket

log = logging.getLogger(__name__)

# The size of each part of a multipart upload (S3's minimum is 5 MiB): the memory one
# upload holds.
PART_BYTES = 8 * 1024 * 1024
# The largest piece of a download, as the contract allows (1 MiB).
DOWNLOAD_CHUNK_BYTES = 1024 * 1024
# How often a worker thread waiting for the next piece of an upload checks whether the
# upload was abandoned (the call canceled).
_POLL_SECONDS = 0.25
_MISSING = ("NoSuchKey", "NoSuchObject", "NoSuchBucket")


def user_prefix(*, tenant_id: str, user_id: str) -> str:
    """The S3 prefix that confines one user's files."""
    return f"{tenant_id}/{user_id}/"


@dataclass(frozen=True)
class Workspace:
    """One user's workspace; every key it names starts with the user's prefix."""

    tenant_id: str
    user_id: str

    @property
    def prefix(self) -> str:
        """`<tenant>/<user>/`."""
        return user_prefix(tenant_id=self.tenant_id, user_id=self.user_id)

    def key(self, path: str) -> str:
        """The object key of a normalised path."""
        return self.prefix + path


@dataclass(frozen=True)
class StoredFile:
    """A file as S3 holds it: its normalised path, size and last modification."""

    path: str
    size: int
    modified: datetime


class UploadAbandoned(Exception):
    """The caller stopped waiting for the upload (its call was canceled)."""


class ChunkReader:
    """A blocking file-like `read()` over an async iterator of byte pieces, for the minio
    SDK in a worker thread; each piece is fetched on the event loop `loop`.

    An exception the iterator raises (e.g. a size limit) comes out of `read()`, so the
    SDK aborts the upload. Raises RequestTimeout when no piece arrives within
    `idle_timeout_seconds`, `UploadAbandoned` once `abandoned` is set.
    """

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        *,
        loop: asyncio.AbstractEventLoop,
        idle_timeout_seconds: float,
        abandoned: threading.Event,
    ) -> None:
        self._chunks = chunks
        self._loop = loop
        self._idle_timeout_seconds = idle_timeout_seconds
        self._abandoned = abandoned
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._ended = False

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that remain for -1); fewer only at the end."""
        while not self._ended and (size < 0 or self._pending_bytes < size):
            chunk = self._next_chunk()
            if chunk is None:
                self._ended = True
            else:
                self._pending.append(chunk)
                self._pending_bytes += len(chunk)
        data = b"".join(self._pending)
        if 0 <= size < len(data):
            data, rest = data[:size], data[size:]
            self._pending, self._pending_bytes = [rest], len(rest)
        else:
            self._pending, self._pending_bytes = [], 0
        return data

    def _next_chunk(self) -> bytes | None:
        future = asyncio.run_coroutine_threadsafe(_next_or_none(self._chunks), self._loop)
        deadline = time.monotonic() + self._idle_timeout_seconds
        while True:
            try:
                return future.result(timeout=_POLL_SECONDS)
            except concurrent.futures.TimeoutError:
                if self._abandoned.is_set():
                    self._cancel(future)
                    raise UploadAbandoned() from None
                if time.monotonic() > deadline:
                    self._cancel(future)
                    seconds = self._idle_timeout_seconds
                    raise RequestTimeout(
                        f"No data of the upload arrived for {seconds:g} s."
                    ) from None

    def _cancel(self, future: concurrent.futures.Future[bytes | None]) -> None:
        try:
            future.cancel()
        except RuntimeError:
            # The event loop is closed already (the service is stopping).
            pass


async def _next_or_none(chunks: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return None


def _is_missing(error: S3Error) -> bool:
    return error.code in _MISSING


class WorkspaceStore:
    """Reads and writes of user workspaces in one bucket.

    S3 failures other than a missing object become StorageFailure (logged).
    """

    def __init__(self, *, client: Minio, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    async def ensure_bucket(self) -> None:
        """Create the bucket at start-up if it does not exist."""
        await asyncio.to_thread(ensure_bucket, self.client, self.bucket)

    async def used_bytes(self, workspace: Workspace) -> int:
        """Total size of the objects under the user's prefix."""

        def total() -> int:
            objects = self.client.list_objects(self.bucket, prefix=workspace.prefix, recursive=True)
            return sum(item.size or 0 for item in objects)

        return await self._call(total)

    async def stat(self, workspace: Workspace, path: str) -> StoredFile | None:
        """The file at `path`, or None."""

        def stat() -> StoredFile | None:
            try:
                found = self.client.stat_object(self.bucket, workspace.key(path))
            except S3Error as error:
                if _is_missing(error):
                    return None
                raise
            return StoredFile(path=path, size=found.size or 0, modified=_instant(found))

        return await self._call(stat)

    async def is_folder(self, workspace: Workspace, path: str) -> bool:
        """Whether files exist below `path/`."""

        def any_below() -> bool:
            below = workspace.key(path) + "/"
            objects = self.client.list_objects(self.bucket, prefix=below, recursive=True)
            return next(iter(objects), None) is not None

        return await self._call(any_below)

    async def list_files(self, workspace: Workspace) -> list[StoredFile]:
        """Every file of the workspace, sorted by path.

        Sorted here: S3 lists keys in order, but not every S3 server does (SeaweedFS
        walks folders), and pages must follow one order.
        """

        def listing() -> list[StoredFile]:
            objects = self.client.list_objects(self.bucket, prefix=workspace.prefix, recursive=True)
            files = [
                StoredFile(
                    path=item.object_name.removeprefix(workspace.prefix),
                    size=item.size or 0,
                    modified=_instant(item),
                )
                for item in objects
                if item.object_name and not item.is_dir and not item.object_name.endswith("/")
            ]
            return sorted(files, key=lambda file: file.path)

        return await self._call(listing)

    async def write(
        self,
        workspace: Workspace,
        path: str,
        chunks: AsyncIterator[bytes],
        *,
        idle_timeout_seconds: float,
    ) -> StoredFile:
        """Store the pieces of `chunks` as the file `path`, replacing it only once all
        arrived. An error raised by `chunks` propagates, with nothing stored; so do
        RequestTimeout (no piece for `idle_timeout_seconds`) and StorageFailure."""
        abandoned = threading.Event()
        reader = ChunkReader(
            chunks,
            loop=asyncio.get_running_loop(),
            idle_timeout_seconds=idle_timeout_seconds,
            abandoned=abandoned,
        )

        def upload() -> None:
            # One part at a time: the SDK's parallel parts would hold several parts in
            # memory, and their threads outlive an aborted upload.
            self.client.put_object(
                self.bucket,
                workspace.key(path),
                reader,  # type: ignore[arg-type]
                length=-1,
                part_size=PART_BYTES,
                num_parallel_uploads=1,
                content_type="application/octet-stream",
            )

        try:
            await self._call(upload)
        except asyncio.CancelledError:
            abandoned.set()
            raise
        stored = await self.stat(workspace, path)
        if stored is None:
            raise StorageFailure()
        return stored

    async def read(
        self, workspace: Workspace, path: str, *, offset: int, length: int
    ) -> AsyncGenerator[bytes, None]:
        """`length` bytes of the file from `offset`, in pieces of at most
        `DOWNLOAD_CHUNK_BYTES`; the range must lie within the file. StorageFailure,
        also for a file deleted since the caller looked it up."""
        if length <= 0:
            return

        def open_range() -> Any:
            return self.client.get_object(
                self.bucket, workspace.key(path), offset=offset, length=length
            )

        response = await self._call(open_range)
        try:
            pieces: Iterator[bytes] = response.stream(DOWNLOAD_CHUNK_BYTES)
            while True:
                piece = await self._call(next, pieces, None)
                if piece is None:
                    break
                yield piece
        finally:
            response.close()
            response.release_conn()

    async def delete(self, workspace: Workspace, path: str) -> None:
        """Remove the file `path` (a no-op when it is gone)."""
        await self._call(self.client.remove_object, self.bucket, workspace.key(path))

    async def _call(self, function: Any, *args: Any) -> Any:
        """`function(*args)` in a worker thread; S3 and connection errors -> StorageFailure."""
        try:
            return await asyncio.to_thread(function, *args)
        except (OpenEOError, UploadAbandoned):
            raise
        except (S3Error, urllib3.exceptions.HTTPError, OSError) as error:
            log.error("S3 request on bucket %s failed: %s", self.bucket, error)
            raise StorageFailure() from error


def _instant(item: Any) -> datetime:
    """The last modification of an object (stat or listing), in UTC."""
    modified: datetime | None = item.last_modified
    return modified.astimezone(UTC) if modified else datetime.now(UTC)
