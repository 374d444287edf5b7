"""The user workspace through the files service's gRPC API, on the real S3 of the test
session: upload, list, download, delete, and every way an upload can fail."""

import asyncio
import os
import re
from collections.abc import Iterator

import pytest

from eoplex_common.errors import (
    BadRequest,
    FileNotFound,
    FileOperationUnsupported,
    FilePathInvalid,
    FileSizeExceeded,
    RangeNotSatisfiable,
    RequestTimeout,
    StorageQuotaExceeded,
)
from eoplex_files import servicer
from eoplex_files.store import DOWNLOAD_CHUNK_BYTES, PART_BYTES
from eoplex_proto.openeo.files.v1 import files_pb2
from services.files.tests.workspace import (
    ALICE,
    BOB,
    MAX_FILE_BYTES,
    PIECE_BYTES,
    FilesUnderTest,
    download,
    list_paths,
    upload,
)

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


async def usage(files: FilesUnderTest, owner: files_pb2.Owner) -> int:
    query = files_pb2.GetStorageUsageRequest(tenant_id=owner.tenant_id, user_id=owner.user_id)
    return int((await files.stub.GetStorageUsage(query)).used_bytes)


async def assert_old_content_kept(files: FilesUnderTest) -> None:
    """Alice's data.bin still holds b"old content", and nothing else is stored."""
    _, pieces = await download(files, ALICE, "data.bin")
    assert b"".join(pieces) == b"old content"
    assert files.keys() == ["t1/alice/data.bin"]


def more_than_a_part(size: int) -> Iterator[files_pb2.UploadChunk]:
    """An upload of Alice's data.bin (`size` announced) as far as its first part and beyond."""
    header = files_pb2.UploadHeader(owner=ALICE, path="data.bin", size=size)
    yield files_pb2.UploadChunk(header=header)
    for _ in range(PART_BYTES // PIECE_BYTES + 1):
        yield files_pb2.UploadChunk(data=os.urandom(PIECE_BYTES))


async def test_upload_list_download_delete(files: FilesUnderTest) -> None:
    # Over two parts of a multipart upload, and not a multiple of anything.
    data = os.urandom(2 * PART_BYTES + 12345)
    info = await upload(files, ALICE, "aoi//./big.bin", data)
    assert (info.path, info.size) == ("aoi/big.bin", len(data))
    assert RFC3339.match(info.modified)
    assert files.keys() == ["t1/alice/aoi/big.bin"]

    listed = await files.stub.ListFiles(files_pb2.ListFilesRequest(owner=ALICE))
    assert list(listed.files) == [info]
    assert listed.next_page_token == ""

    header, pieces = await download(files, ALICE, "aoi/big.bin")
    assert (header.info, header.offset, header.length) == (info, 0, len(data))
    assert b"".join(pieces) == data
    assert max(len(piece) for piece in pieces) <= DOWNLOAD_CHUNK_BYTES
    assert await usage(files, ALICE) == len(data)

    await files.stub.DeleteFile(files_pb2.DeleteFileRequest(owner=ALICE, path="aoi/big.bin"))
    assert await list_paths(files, ALICE) == []
    assert files.keys() == []
    with pytest.raises(FileNotFound, match=r"'aoi/big\.bin' does not exist"):
        await download(files, ALICE, "aoi/big.bin")


async def test_an_empty_file(files: FilesUnderTest) -> None:
    info = await upload(files, ALICE, "empty.txt", b"")
    assert info.size == 0
    header, pieces = await download(files, ALICE, "empty.txt")
    assert (header.info.size, header.length, pieces) == (0, 0, [])


async def test_upload_replaces_a_file(files: FilesUnderTest) -> None:
    await upload(files, ALICE, "notes.txt", b"first version, rather long")
    await upload(files, ALICE, "notes.txt", b"second")
    _, pieces = await download(files, ALICE, "notes.txt")
    assert b"".join(pieces) == b"second"
    assert await usage(files, ALICE) == len(b"second")


async def test_listing_is_sorted_and_paged(files: FilesUnderTest) -> None:
    paths = ["b.txt", "a/x.txt", "a.txt", "a0.txt", "c/d/e.txt", "ü.txt"]
    for path in paths:
        await upload(files, ALICE, path, path.encode())
    await upload(files, BOB, "bobs.txt", b"bob")
    assert await list_paths(files, ALICE) == sorted(paths)

    seen: list[str] = []
    token = ""
    for _ in range(10):
        request = files_pb2.ListFilesRequest(owner=ALICE, limit=4, page_token=token)
        page = await files.stub.ListFiles(request)
        assert len(page.files) <= 4
        seen += [file.path for file in page.files]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(paths)
    assert [file.size for file in (await files.stub.ListFiles(request)).files] == [
        len(path.encode()) for path in sorted(paths)[4:]
    ]


@pytest.mark.parametrize("token", ["!!!", "bm90IGEgcGF0aA==/", "Li4veA"])
async def test_a_forged_page_token_is_a_bad_request(files: FilesUnderTest, token: str) -> None:
    with pytest.raises(BadRequest, match="page token"):
        await files.stub.ListFiles(files_pb2.ListFilesRequest(owner=ALICE, page_token=token))


@pytest.mark.parametrize(
    ("offset", "length", "expected"),
    [
        (0, -1, slice(0, 1000)),
        (10, 20, slice(10, 30)),
        (990, -1, slice(990, 1000)),
        (990, 100, slice(990, 1000)),
        (999, 1, slice(999, 1000)),
        (1000, -1, slice(1000, 1000)),
        (1000, 0, slice(1000, 1000)),
        (0, 0, slice(0, 0)),
    ],
)
async def test_ranges(files: FilesUnderTest, offset: int, length: int, expected: slice) -> None:
    data = os.urandom(1000)
    await upload(files, ALICE, "r.bin", data)
    header, pieces = await download(files, ALICE, "r.bin", offset=offset, length=length)
    assert (header.offset, header.length, header.info.size) == (
        expected.start,
        expected.stop - expected.start,
        1000,
    )
    assert b"".join(pieces) == data[expected]


@pytest.mark.parametrize(("offset", "length"), [(1001, -1), (1000, 1), (5000, 10)])
async def test_a_range_past_the_end_is_not_satisfiable(
    files: FilesUnderTest, offset: int, length: int
) -> None:
    await upload(files, ALICE, "r.bin", os.urandom(1000))
    with pytest.raises(RangeNotSatisfiable, match="the file has 1000 bytes"):
        await download(files, ALICE, "r.bin", offset=offset, length=length)


async def test_another_users_file_is_not_found(files: FilesUnderTest) -> None:
    await upload(files, ALICE, "secret.txt", b"alice's")
    other_tenant = files_pb2.Owner(tenant_id="t2", user_id="alice")
    for owner in (BOB, other_tenant):
        with pytest.raises(FileNotFound):
            await download(files, owner, "secret.txt")
        with pytest.raises(FileNotFound):
            await files.stub.DeleteFile(files_pb2.DeleteFileRequest(owner=owner, path="secret.txt"))
        assert await list_paths(files, owner) == []
    # Nor can a path reach into the neighbour's prefix.
    for path in ("../bob/secret.txt", "../../t1/alice/secret.txt", "/t1/alice/secret.txt"):
        with pytest.raises(FilePathInvalid):
            await download(files, BOB, path)
    assert files.keys() == ["t1/alice/secret.txt"]


@pytest.mark.parametrize(
    "path", ["../x", "/etc/passwd", "a\\b", "a\x00b", "a\nb", "c:x", "", "a/" + "x" * 256]
)
async def test_invalid_paths_are_refused_and_nothing_is_written(
    files: FilesUnderTest, path: str
) -> None:
    with pytest.raises(FilePathInvalid):
        await upload(files, ALICE, path, b"data")
    with pytest.raises(FilePathInvalid):
        await download(files, ALICE, path)
    with pytest.raises(FilePathInvalid):
        await files.stub.DeleteFile(files_pb2.DeleteFileRequest(owner=ALICE, path=path))
    assert files.keys() == []


async def test_a_path_is_either_a_file_or_a_folder(files: FilesUnderTest) -> None:
    await upload(files, ALICE, "folder/file.txt", b"x")
    with pytest.raises(FilePathInvalid, match="'folder' is a folder"):
        await upload(files, ALICE, "folder", b"x")
    with pytest.raises(FilePathInvalid, match=r"'folder/file\.txt' is a file"):
        await upload(files, ALICE, "folder/file.txt/below", b"x")
    with pytest.raises(FileOperationUnsupported):
        await download(files, ALICE, "folder")
    with pytest.raises(FileOperationUnsupported):
        await files.stub.DeleteFile(files_pb2.DeleteFileRequest(owner=ALICE, path="folder"))
    assert await list_paths(files, ALICE) == ["folder/file.txt"]


async def test_an_announced_size_over_the_limit_is_refused_before_any_byte(
    files: FilesUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = files_pb2.UploadHeader(owner=ALICE, path="huge.bin", size=MAX_FILE_BYTES + 1)
    # Asked before the upload starts.
    with pytest.raises(FileSizeExceeded, match=f"Maximum file size: {MAX_FILE_BYTES}"):
        await files.stub.CheckUpload(header)
    ok = files_pb2.UploadHeader(owner=ALICE, path="fine.bin", size=MAX_FILE_BYTES)
    await files.stub.CheckUpload(ok)
    over_quota = files_pb2.UploadHeader(owner=ALICE, path="x", size=1001, quota_bytes=1000)
    for bad, error in (
        (files_pb2.UploadHeader(owner=ALICE, path="../x", size=1), FilePathInvalid),
        (over_quota, StorageQuotaExceeded),
    ):
        with pytest.raises(error):
            await files.stub.CheckUpload(bad)

    # Sent anyway: refused once the caller stops sending (here: the drain's time is up).
    monkeypatch.setattr(servicer, "DRAIN_LIMIT_SECONDS", 0.5)

    async def header_then_stall() -> object:
        yield files_pb2.UploadChunk(header=header)
        await asyncio.sleep(30)

    with pytest.raises(FileSizeExceeded, match=f"Maximum file size: {MAX_FILE_BYTES}"):
        await asyncio.wait_for(files.stub.UploadFile(header_then_stall()), timeout=5)
    assert files.keys() == []


@pytest.mark.parametrize("announced", [-1, MAX_FILE_BYTES])
async def test_more_bytes_than_the_limit_are_refused_and_the_old_file_stays(
    files: FilesUnderTest, announced: int
) -> None:
    await upload(files, ALICE, "data.bin", b"old content")
    with pytest.raises(FileSizeExceeded):
        await upload(files, ALICE, "data.bin", os.urandom(MAX_FILE_BYTES + 1), size=announced)
    await assert_old_content_kept(files)


async def test_fewer_bytes_than_announced_keep_nothing(files: FilesUnderTest) -> None:
    with pytest.raises(BadRequest, match="ended after 3 of 10 bytes"):
        await upload(files, ALICE, "short.bin", b"abc", size=10)
    assert files.keys() == []


async def test_quota(files: FilesUnderTest) -> None:
    await upload(files, ALICE, "a.bin", os.urandom(600), quota=1000)
    # Announced over the quota: refused up front.
    with pytest.raises(StorageQuotaExceeded):
        await upload(files, ALICE, "b.bin", os.urandom(401), quota=1000)
    # Not announced: refused while it arrives.
    with pytest.raises(StorageQuotaExceeded):
        await upload(files, ALICE, "b.bin", os.urandom(401), quota=1000, size=-1)
    assert await list_paths(files, ALICE) == ["a.bin"]
    # Exactly full is fine; replacing a file frees its bytes first.
    await upload(files, ALICE, "b.bin", os.urandom(400), quota=1000)
    await upload(files, ALICE, "a.bin", os.urandom(600), quota=1000)
    with pytest.raises(StorageQuotaExceeded):
        await upload(files, ALICE, "a.bin", os.urandom(601), quota=1000, size=-1)
    assert await usage(files, ALICE) == 1000
    # Another user's bytes do not count; no quota means no limit.
    await upload(files, BOB, "b.bin", os.urandom(1000), quota=1000)
    await upload(files, ALICE, "c.bin", os.urandom(5000))


def held_upload(
    path: str, first: bytes, rest: bytes, *, size: int, go_on: asyncio.Event, sent: asyncio.Event
) -> object:
    """An upload of `first + rest` to ALICE (quota 1000) that stops after `first` until
    `go_on` is set."""

    async def messages() -> object:
        header = files_pb2.UploadHeader(owner=ALICE, path=path, quota_bytes=1000, size=size)
        yield files_pb2.UploadChunk(header=header)
        yield files_pb2.UploadChunk(data=first)
        sent.set()
        await go_on.wait()
        yield files_pb2.UploadChunk(data=rest, end=True)

    return messages()


@pytest.mark.parametrize("size", [600, -1], ids=["announced", "chunked"])
async def test_two_uploads_at_once_cannot_both_fill_the_free_space(
    files: FilesUnderTest, size: int
) -> None:
    # The first holds 600 bytes (announced, or arrived) while the second arrives.
    go_on, sent = asyncio.Event(), asyncio.Event()
    first = asyncio.ensure_future(
        files.stub.UploadFile(
            held_upload(
                "a.bin",
                b"a" * (600 if size < 0 else 300),
                b"a" * (0 if size < 0 else 300),
                size=size,
                go_on=go_on,
                sent=sent,
            )
        )
    )
    await sent.wait()
    await asyncio.sleep(0.3)  # the service has taken the first piece
    with pytest.raises(StorageQuotaExceeded):
        await upload(files, ALICE, "b.bin", os.urandom(401), quota=1000, size=-1)
    await upload(files, ALICE, "b.bin", os.urandom(400), quota=1000, size=-1)
    go_on.set()
    await first
    assert await usage(files, ALICE) == 1000


async def test_an_upload_in_progress_counts_a_file_stored_meanwhile(
    files: FilesUnderTest,
) -> None:
    go_on, sent = asyncio.Event(), asyncio.Event()
    slow = asyncio.ensure_future(
        files.stub.UploadFile(
            held_upload("slow.bin", b"s" * 100, b"s" * 400, size=-1, go_on=go_on, sent=sent)
        )
    )
    await sent.wait()
    await asyncio.sleep(0.3)
    # 100 held by the slow upload: 900 are free, and then only 0 are.
    await upload(files, ALICE, "fast.bin", os.urandom(900), quota=1000)
    go_on.set()
    with pytest.raises(StorageQuotaExceeded):
        await slow
    assert await list_paths(files, ALICE) == ["fast.bin"]
    # A deleted file frees its bytes for the uploads that follow.
    await files.stub.DeleteFile(files_pb2.DeleteFileRequest(owner=ALICE, path="fast.bin"))
    await upload(files, ALICE, "slow.bin", os.urandom(1000), quota=1000, size=-1)


@pytest.mark.parametrize("size", [2 * PART_BYTES, -1], ids=["announced", "chunked"])
async def test_a_canceled_upload_keeps_nothing(files: FilesUnderTest, size: int) -> None:
    # gRPC hands the server the end of a canceled stream like a complete one: the
    # missing end message tells them apart, with or without an announced size.
    await upload(files, ALICE, "data.bin", b"old content")
    sent = asyncio.Event()

    async def part_then_stall() -> object:
        for chunk in more_than_a_part(size):
            yield chunk
        sent.set()
        await asyncio.sleep(30)

    task = asyncio.ensure_future(files.stub.UploadFile(part_then_stall()))
    await sent.wait()
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(1)
    await assert_old_content_kept(files)


async def test_a_header_after_the_content_aborts_the_upload(files: FilesUnderTest) -> None:
    await upload(files, ALICE, "data.bin", b"old content")

    async def part_then_abort() -> object:
        for chunk in more_than_a_part(-1):
            yield chunk
        yield files_pb2.UploadChunk(header=files_pb2.UploadHeader())

    with pytest.raises(BadRequest, match="one header"):
        await files.stub.UploadFile(part_then_abort())
    await assert_old_content_kept(files)


async def test_an_upload_without_its_end_keeps_nothing(files: FilesUnderTest) -> None:
    # What the service sees when the gateway dies during a chunked upload.
    await upload(files, ALICE, "data.bin", b"old content")

    async def part_then_nothing() -> object:
        for chunk in more_than_a_part(-1):
            yield chunk

    with pytest.raises(BadRequest, match="abandoned before its end"):
        await files.stub.UploadFile(part_then_nothing())
    await assert_old_content_kept(files)


async def test_a_stalled_upload_times_out(files: FilesUnderTest) -> None:
    async def stall() -> object:
        header = files_pb2.UploadHeader(owner=ALICE, path="slow.bin", size=-1)
        yield files_pb2.UploadChunk(header=header)
        yield files_pb2.UploadChunk(data=b"some")
        await asyncio.sleep(30)

    with pytest.raises(RequestTimeout, match="No data of the upload arrived for 1 s"):
        await asyncio.wait_for(files.stub.UploadFile(stall()), timeout=10)
    assert files.keys() == []


async def test_an_upload_starts_with_one_header(files: FilesUnderTest) -> None:
    async def data_first() -> object:
        yield files_pb2.UploadChunk(data=b"x")

    async def two_headers() -> object:
        yield files_pb2.UploadChunk(header=files_pb2.UploadHeader(owner=ALICE, path="x.bin"))
        yield files_pb2.UploadChunk(header=files_pb2.UploadHeader(owner=ALICE, path="y"))

    async def nothing() -> object:
        return
        yield

    for messages in (data_first(), two_headers(), nothing()):
        with pytest.raises(BadRequest, match="header"):
            await files.stub.UploadFile(messages)
    assert files.keys() == []


async def test_unknown_owner_is_a_bad_request(files: FilesUnderTest) -> None:
    for owner in (files_pb2.Owner(), files_pb2.Owner(tenant_id="t1/alice", user_id="x")):
        with pytest.raises(BadRequest):
            await files.stub.ListFiles(files_pb2.ListFilesRequest(owner=owner))
