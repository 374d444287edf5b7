"""The files service's logic, free of transport code: the user workspace (`/files`) and
storage accounting for `GET /me`.

Every call names its owner; paths are normalised with `normalize_path` and confined to
the owner's prefix, so another user's file cannot even be named. A folder is the set of
files below it: it exists while they do, and a path cannot be a file and a folder.
"""

import base64
import binascii
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from eoplex_common.errors import (
    BadRequest,
    FileNotFound,
    FileOperationUnsupported,
    FilePathInvalid,
    FileSizeExceeded,
    RangeNotSatisfiable,
)
from eoplex_common.files import normalize_path
from eoplex_files.quota import QuotaCheck, QuotaLedger, Reservation
from eoplex_files.store import StoredFile, Workspace, WorkspaceStore

DEFAULT_MAX_FILE_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class Download:
    """A file being sent: the whole file, the range `[offset, offset + length)` and its
    bytes in pieces."""

    file: StoredFile
    offset: int
    length: int
    chunks: AsyncGenerator[bytes, None]


def workspace_of(*, tenant_id: str, user_id: str) -> Workspace:
    """The owner's workspace. BadRequest without a user or tenant, or with a `/` in one
    (which would reach into another prefix)."""
    if not tenant_id or not user_id:
        raise BadRequest(reason="user_id and tenant_id are required")
    if "/" in tenant_id or "/" in user_id:
        raise BadRequest(reason="user_id and tenant_id must not contain '/'")
    return Workspace(tenant_id=tenant_id, user_id=user_id)


def encode_page_token(path: str) -> str:
    """The opaque token of the page that starts after `path`."""
    return base64.urlsafe_b64encode(path.encode()).decode().rstrip("=")


def decode_page_token(token: str) -> str:
    """The path a page token continues after. BadRequest for a token we did not issue."""
    try:
        path = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        # The decoder skips characters outside the alphabet: only what we issued counts.
        if encode_page_token(path) == token and normalize_path(path) == path:
            return path
    except (binascii.Error, UnicodeDecodeError, ValueError, FilePathInvalid):
        pass
    raise BadRequest(reason="the page token is invalid")


class FilesService:
    """The user workspace: list, upload, download and delete files; storage usage."""

    def __init__(
        self,
        *,
        store: WorkspaceStore,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        upload_idle_timeout_seconds: float = 60.0,
    ) -> None:
        self.store = store
        self.max_file_bytes = max_file_bytes
        self.upload_idle_timeout_seconds = upload_idle_timeout_seconds
        self.quota_ledger = QuotaLedger()

    async def storage_usage(self, *, tenant_id: str, user_id: str) -> int:
        """Bytes the user occupies (`GET /me` storage). Raises `BadRequest` without a user
        or tenant."""
        return await self.store.used_bytes(workspace_of(tenant_id=tenant_id, user_id=user_id))

    async def list_files(
        self, workspace: Workspace, *, limit: int, page_token: str
    ) -> tuple[list[StoredFile], str]:
        """`GET /files`: one page of at most `limit` files (0: all) sorted by path, and
        the token of the next page ("" on the last). BadRequest for a negative limit or
        a token we did not issue."""
        if limit < 0:
            raise BadRequest(reason="limit must not be negative")
        after = decode_page_token(page_token) if page_token else ""
        files = [file for file in await self.store.list_files(workspace) if file.path > after]
        if not limit or len(files) <= limit:
            return files, ""
        page = files[:limit]
        return page, encode_page_token(page[-1].path)

    async def upload(
        self,
        workspace: Workspace,
        *,
        path: str,
        quota_bytes: int,
        size: int,
        chunks: AsyncIterator[bytes],
    ) -> StoredFile:
        """`PUT /files/{path}`: store the bytes of `chunks` as the file `path`, replacing
        a file of that path once everything arrived.

        `size` is the announced size (-1: unknown) and `quota_bytes` the user's storage
        quota (0: none). Raises FilePathInvalid (also where a folder is, or below a
        file), FileSizeExceeded (over `max_file_bytes`), StorageQuotaExceeded (the
        user's files would exceed the quota), BadRequest (fewer or more bytes than
        announced), RequestTimeout (the upload stalled), StorageFailure. Limits are
        checked against the announced size before anything is written and against the
        bytes while they arrive; a failed upload leaves nothing behind. `chunks` raises
        when the caller gave up (see `servicer.upload_data`), which aborts the write.
        """
        path = await self._checked_upload(workspace, path=path, size=size, quota_bytes=quota_bytes)
        reservation = self.quota_ledger.reserve(workspace, path, max(size, 0))
        stored: StoredFile | None = None
        try:
            quota = await self._quota_check(reservation, quota_bytes, size)
            counted = self._counted(chunks, announced=size, quota=quota)
            stored = await self.store.write(
                workspace, path, counted, idle_timeout_seconds=self.upload_idle_timeout_seconds
            )
        finally:
            self.quota_ledger.release(reservation, stored=stored is not None)
        return stored

    async def check_upload(
        self, workspace: Workspace, *, path: str, quota_bytes: int, size: int
    ) -> None:
        """Whether `upload` would accept what the arguments announce, before any byte is
        sent: the errors `upload` raises before reading (FilePathInvalid,
        FileSizeExceeded, StorageQuotaExceeded, BadRequest)."""
        path = await self._checked_upload(workspace, path=path, size=size, quota_bytes=quota_bytes)
        reservation = self.quota_ledger.reserve(workspace, path, 0)
        try:
            await self._quota_check(reservation, quota_bytes, size)
        finally:
            self.quota_ledger.release(reservation, stored=False)

    async def _quota_check(
        self, reservation: Reservation, quota_bytes: int, size: int
    ) -> QuotaCheck | None:
        """The quota of the upload holding `reservation`, checked for `size` (-1: none yet)
        bytes; None without a quota."""
        if not quota_bytes:
            return None
        quota = QuotaCheck(
            ledger=self.quota_ledger, store=self.store, reservation=reservation, quota=quota_bytes
        )
        await quota.check(max(size, 0))
        return quota

    async def _checked_upload(
        self, workspace: Workspace, *, path: str, size: int, quota_bytes: int
    ) -> str:
        """The normalised path, if an upload of `size` bytes may go there."""
        path = normalize_path(path)
        if size < -1 or quota_bytes < 0:
            raise BadRequest(reason="the size and quota must not be negative")
        if size > self.max_file_bytes:
            raise FileSizeExceeded(size=self.max_file_bytes)
        await self._check_free_for_a_file(workspace, path)
        return path

    async def download(
        self, workspace: Workspace, *, path: str, offset: int, length: int
    ) -> Download:
        """`GET /files/{path}` (and the executor reading a user's file): the bytes
        `[offset, offset + length)` (length -1: to the end; clipped at the end).

        Raises FilePathInvalid, FileNotFound, FileOperationUnsupported (a folder),
        RangeNotSatisfiable (a range starting past the end), BadRequest (negative
        values).
        """
        path = normalize_path(path)
        if offset < 0 or length < -1:
            raise BadRequest(reason="offset and length must not be negative")
        stored = await self._existing(workspace, path)
        if offset > stored.size or (length > 0 and offset >= stored.size):
            raise RangeNotSatisfiable(size=stored.size)
        available = stored.size - offset
        length = available if length == -1 else min(length, available)
        chunks = self.store.read(workspace, path, offset=offset, length=length)
        return Download(file=stored, offset=offset, length=length, chunks=chunks)

    async def delete(self, workspace: Workspace, *, path: str) -> None:
        """`DELETE /files/{path}`. Raises FilePathInvalid, FileNotFound,
        FileOperationUnsupported (a folder: delete its files one by one)."""
        path = normalize_path(path)
        await self._existing(workspace, path)
        await self.store.delete(workspace, path)
        self.quota_ledger.stored_bytes_changed(workspace)

    async def _existing(self, workspace: Workspace, path: str) -> StoredFile:
        stored = await self.store.stat(workspace, path)
        if stored is not None:
            return stored
        if await self.store.is_folder(workspace, path):
            raise FileOperationUnsupported()
        raise FileNotFound(file=path)

    async def _check_free_for_a_file(self, workspace: Workspace, path: str) -> None:
        """FilePathInvalid where the path is a folder or lies below a file."""
        if await self.store.is_folder(workspace, path):
            raise FilePathInvalid(reason=f"'{path}' is a folder")
        segments = path.split("/")
        for depth in range(1, len(segments)):
            ancestor = "/".join(segments[:depth])
            if await self.store.stat(workspace, ancestor) is not None:
                raise FilePathInvalid(reason=f"'{ancestor}' is a file, not a folder")

    async def _counted(
        self, chunks: AsyncIterator[bytes], *, announced: int, quota: QuotaCheck | None
    ) -> AsyncIterator[bytes]:
        """The pieces of an upload, checked against the limits as they arrive."""
        received = 0
        async for chunk in chunks:
            received += len(chunk)
            if received > self.max_file_bytes:
                raise FileSizeExceeded(size=self.max_file_bytes)
            if quota is not None:
                await quota.check(received)
            if announced >= 0 and received > announced:
                raise BadRequest(
                    reason=f"the upload is larger than the announced {announced} bytes"
                )
            yield chunk
        if announced >= 0 and received != announced:
            raise BadRequest(reason=f"the upload ended after {received} of {announced} bytes")
