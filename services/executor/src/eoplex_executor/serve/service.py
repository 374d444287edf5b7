"""Synchronous processing (`POST /result`): per-user limits, a pool of warm worker processes.

Process graphs run in worker processes, never in the server's process: a worker
that runs too long, whose client went away, or that crashed (e.g. killed for lack
of memory) is killed and replaced without touching the others. Every request gets
a scratch directory of its own, removed when the request fails or, once the result
has been sent, by `discard`.
"""

import asyncio
import logging
import multiprocessing
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from eoplex_common.context import request_id
from eoplex_common.errors import Internal, RequestTimeout, TooManyRequests, error_for_code
from eoplex_common.pricing import price
from eoplex_executor.engine.environment import Catalog
from eoplex_executor.io.clients import GrpcCatalog, Workspace, caller_workspace
from eoplex_executor.serve.estimate import ProcessEstimate, estimate_process
from eoplex_executor.serve.worker import (
    PRELOADED_MODULES,
    Done,
    Failed,
    SyncTask,
    WorkerConfig,
    worker_main,
    worker_workspace,
)
from eoplex_executor.udf.scratch import ScratchDir

log = logging.getLogger(__name__)

STOP_SECONDS = 5.0


@dataclass(frozen=True)
class _Worker:
    process: BaseProcess
    connection: Connection


class WorkerPool:
    """`size` worker processes, each running one synchronous request at a time; a request
    waits for a free one.

    Workers are forked from a forkserver that imported the heavy modules once
    (`PRELOADED_MODULES`), so replacing a worker takes milliseconds.
    """

    def __init__(self, *, size: int, config: WorkerConfig) -> None:
        self.size = size
        self.config = config
        self._context = multiprocessing.get_context("forkserver")
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: set[_Worker] = set()
        self._replacements: set[asyncio.Task[None]] = set()
        self._closing = False
        self.catalog_generation = 0

    async def start(self) -> None:
        """Start every worker; the first start also starts the forkserver and its imports."""
        self._context.set_forkserver_preload(list(PRELOADED_MODULES))
        for _ in range(self.size):
            self._add(await asyncio.to_thread(self._spawn))

    async def run(self, task: SyncTask, *, timeout_seconds: float) -> Done | Failed:
        """Run `task` on the next free worker, waiting for one within the same timeout.

        Raises RequestTimeout (naming the limit and batch jobs) after `timeout_seconds`,
        Internal when the worker died; in both cases, and when the caller is cancelled,
        the worker is replaced.
        """
        try:
            async with asyncio.timeout(timeout_seconds):
                worker = await self._idle.get()
                return await self._run_on(worker, task)
        except TimeoutError:
            raise RequestTimeout(
                f"The request did not finish within {timeout_seconds:g} seconds, the longest "
                "this back-end computes a result synchronously (waiting for a free worker "
                "included). Run the process as a batch job, which has no such limit."
            ) from None
        except (EOFError, OSError):
            log.error("an executor worker died while it ran a request")
            raise Internal(
                "Server error: the process ended unexpectedly, e.g. for lack of memory. "
                "A batch job may have the resources it needs."
            ) from None

    def catalog_changed(self) -> None:
        """A collection changed (a re-ingest overwrites its assets in place): each worker
        forgets the remote files it cached before its next task."""
        self.catalog_generation += 1

    async def stop(self) -> None:
        """Let replacements finish, then end every worker (killing those still busy)."""
        self._closing = True
        await asyncio.gather(*self._replacements, return_exceptions=True)
        workers = list(self._workers)
        for worker in workers:
            worker.connection.close()
        await asyncio.to_thread(_end, workers)
        self._workers.clear()

    async def _run_on(self, worker: _Worker, task: SyncTask) -> Done | Failed:
        try:
            worker.connection.send(replace(task, catalog_generation=self.catalog_generation))
            reply: Done | Failed = await _receive(worker.connection)
        except BaseException:
            # Timed out, cancelled, or dead: nobody knows what the worker does now.
            self._replace(worker)
            raise
        self._idle.put_nowait(worker)
        return reply

    def _spawn(self) -> _Worker:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(
            target=worker_main, args=(child_end, self.config), name="executor-worker", daemon=True
        )
        process.start()
        # Only the worker holds its end now, so its death reads as end-of-file here.
        child_end.close()
        return _Worker(process, parent_end)

    def _add(self, worker: _Worker) -> None:
        self._workers.add(worker)
        self._idle.put_nowait(worker)

    def _replace(self, worker: _Worker) -> None:
        log.warning("replacing executor worker %s", worker.process.pid)
        worker.process.kill()
        worker.connection.close()
        self._workers.discard(worker)
        if self._closing:
            return
        task = asyncio.create_task(self._respawn(worker))
        self._replacements.add(task)
        task.add_done_callback(self._replacements.discard)

    async def _respawn(self, old: _Worker) -> None:
        try:
            await asyncio.to_thread(_end, [old])
            self._add(await asyncio.to_thread(self._spawn))
        except Exception:
            log.exception("cannot start an executor worker; the pool has one worker less")


async def _receive(connection: Connection) -> Any:
    """The worker's next message, awaited without blocking the event loop.

    Raises EOFError when the worker died.
    """
    loop = asyncio.get_running_loop()
    readable = loop.create_future()
    fd = connection.fileno()
    loop.add_reader(fd, _set_ready, readable)
    try:
        await readable
    finally:
        loop.remove_reader(fd)
    return connection.recv()


def _set_ready(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _end(workers: list[_Worker]) -> None:
    """Wait for workers to exit (they do once their pipe is closed), killing stragglers."""
    for worker in workers:
        worker.process.join(STOP_SECONDS)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.process.close()


@dataclass(frozen=True, kw_only=True)
class SyncRequest:
    """`POST /result`: the process (`{"process_graph": ...}`) and who asks, within which limit."""

    process: Mapping[str, Any]
    user_id: str
    tenant_id: str = ""
    # The tenant's most pixels one synchronous request may read and produce (see
    # `eoplex_executor.engine.pixel_meter`); 0: no limit.
    max_pixels: int = 0


@dataclass(frozen=True, kw_only=True)
class SyncResult:
    """The one result file of a synchronous request, in its own scratch directory."""

    path: Path
    media_type: str
    costs: float
    scratch: ScratchDir

    @property
    def size(self) -> int:
        """The file's size in bytes."""
        return self.path.stat().st_size


class SyncProcessingService:
    """Runs synchronous requests on a `WorkerPool`, at most `max_concurrent_per_user` per user,
    and estimates batch jobs in this process (they read no pixel)."""

    def __init__(
        self,
        *,
        pool: WorkerPool,
        scratch_root: Path,
        max_concurrent_per_user: int,
        timeout_seconds: float,
        cost_per_megapixel: float,
        catalog: Catalog | None = None,
        workspace: Workspace | None = None,
    ) -> None:
        self.pool = pool
        # Estimates ask the same catalog and services as the workers do, unless a test
        # gives its own.
        self.catalog = catalog or GrpcCatalog(
            pool.config.catalog_address, pool.config.catalog_timeout_seconds
        )
        self.workspace = workspace or worker_workspace(pool.config)
        self.scratch_root = scratch_root
        self.max_concurrent_per_user = max_concurrent_per_user
        self.timeout_seconds = timeout_seconds
        self.cost_per_megapixel = cost_per_megapixel
        self._running: Counter[str] = Counter()

    async def execute(self, request: SyncRequest) -> SyncResult:
        """`POST /result`: run the process to its one result file.

        Raises TooManyRequests at once when the user already runs
        `max_concurrent_per_user` requests, RequestTimeout, Internal (the worker died),
        and every openEO error of validation and of the processes (ProcessGraphInvalid,
        ProcessUnsupported, ProcessParameterInvalid, CollectionNotFound,
        ProcessGraphComplexity when it would read and produce more than `max_pixels`,
        refused before any pixel is read, ...). Hand the result to `discard` once it is
        sent.
        """
        if self._running[request.user_id] >= self.max_concurrent_per_user:
            raise TooManyRequests(
                f"You already run {self.max_concurrent_per_user} synchronous requests, the "
                "most allowed at once. Wait until one has finished, or use batch jobs."
            )
        self._running[request.user_id] += 1
        try:
            return await self._run(request)
        finally:
            self._running[request.user_id] -= 1
            if not self._running[request.user_id]:
                del self._running[request.user_id]

    async def estimate(
        self, process: Mapping[str, Any], *, user_id: str, tenant_id: str
    ) -> ProcessEstimate:
        """`GET /jobs/{job_id}/estimate` (through the jobs service): what `process` would read
        and write as a batch job, with the user-defined processes and files of its owner,
        evaluated lazily in a thread (the catalog calls block).

        Raises the openEO errors of validation and of the processes before they read data
        (ProcessGraphInvalid, ProcessUnsupported, ProcessParameterInvalid,
        CollectionNotFound, ...).
        """
        caller = caller_workspace(self.workspace, user_id=user_id, tenant_id=tenant_id)
        return await asyncio.to_thread(estimate_process, process, self.catalog, caller=caller)

    def discard(self, result: SyncResult) -> None:
        """Remove the result's scratch directory (after it was sent, or when sending stopped)."""
        result.scratch.remove()

    def costs(self, pixels: int) -> float:
        """The price of `pixels` read and produced (`eoplex_common.pricing`)."""
        return price(pixels, cost_per_megapixel=self.cost_per_megapixel)

    async def _run(self, request: SyncRequest) -> SyncResult:
        scratch = ScratchDir.claim(self.scratch_root, prefix="sync-")
        task = SyncTask(
            process=request.process,
            scratch_dir=scratch.path,
            max_pixels=request.max_pixels,
            request_id=request_id.get(),
            user_id=request.user_id,
            tenant_id=request.tenant_id,
        )
        try:
            reply = await self.pool.run(task, timeout_seconds=self.timeout_seconds)
            if isinstance(reply, Failed):
                raise error_for_code(reply.code, reply.message)
        except BaseException:
            # Also when the worker was killed: its UDF processes go with the directory.
            scratch.remove()
            raise
        return SyncResult(
            path=reply.path,
            media_type=reply.media_type,
            costs=self.costs(reply.pixels),
            scratch=scratch,
        )
