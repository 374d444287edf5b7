"""The executor's outbound adapters, over gRPC's blocking API: the data-discovery catalog
(collections, item search) and the calling user's own things an execution may use, their
user-defined processes (the processes service), their files (the files service) and their
finished batch jobs' results (the jobs service's `GetResults`, for load_stac).

Processes run in worker threads and processes without an event loop, so these use gRPC's
blocking API; failed calls become the openEO error the service raised. A `Workspace`
holds the channels of one executor process; `for_owner` binds them to the caller of one
execution, so nothing reaches another user's processes, files or jobs.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import grpc

from eoplex_common.errors import ProcessGraphNotFound, ServiceUnavailable
from eoplex_common.rpc import CHANNEL_OPTIONS, error_from_rpc
from eoplex_executor.engine.environment import (
    LEAST_CLOUDY_FIRST,
    CollectionAccess,
    ItemSearch,
    JobResults,
    NoJobResults,
    NoUserFiles,
    UserFiles,
    UserProcesses,
    no_user_processes,
)
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2 as pb
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2_grpc
from eoplex_proto.openeo.files.v1 import files_pb2, files_pb2_grpc
from eoplex_proto.openeo.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from eoplex_proto.openeo.processes.v1 import processes_pb2, processes_pb2_grpc

# Items per page of a catalog search.
PAGE_SIZE = 1000
# A whole download, however large, must end within this (the per-call timeout bounds
# only small calls); a stalled files service fails the execution instead of hanging it.
DOWNLOAD_TIMEOUT_SECONDS = 600.0


class GrpcCatalog:
    """`Catalog` (see `eoplex_executor.engine.environment`) over the data-discovery gRPC API."""

    def __init__(self, address: str, timeout_seconds: float) -> None:
        self.channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        self.stub = data_discovery_pb2_grpc.DataDiscoveryServiceStub(self.channel)
        self.timeout_seconds = timeout_seconds

    def _call(self, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self.timeout_seconds)
        except grpc.RpcError as error:
            raise error_from_rpc(cast(Any, error), service="data-discovery") from None

    def _call_or_none(self, method: Any, request: Any) -> Any:
        """The answer, or None where the catalog does not implement the method."""
        try:
            return method(request, timeout=self.timeout_seconds)
        except grpc.RpcError as error:
            if cast(Any, error).code() == grpc.StatusCode.UNIMPLEMENTED:
                return None
            raise error_from_rpc(cast(Any, error), service="data-discovery") from None

    def collection(self, collection_id: str) -> dict[str, Any]:
        """The STAC Collection; CollectionNotFound if there is none."""
        request = pb.GetCollectionRequest(collection_id=collection_id)
        document: dict[str, Any] = json.loads(self._call(self.stub.GetCollection, request).json)
        return document

    def search_items(self, search: ItemSearch) -> list[dict[str, Any]]:
        """Every matching item, following the pages of the search; `property_filter` as the
        catalog's `property_filter_json` takes it (`{"eo:cloud_cover": {"lte": 20}}`)."""
        property_filter = search.property_filter
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            request = pb.SearchItemsRequest(
                collection_id=search.collection_id,
                bbox=search.bbox or [],
                bbox_crs=search.bbox_crs,
                datetime_start=search.start,
                datetime_end=search.end,
                bands=search.bands,
                property_filter_json=json.dumps(property_filter) if property_filter else "",
                limit=PAGE_SIZE,
                page_token=token,
            )
            page = self._call(self.stub.SearchItems, request)
            items.extend(json.loads(text) for text in page.items_json)
            token = page.next_page_token
            if not token:
                return items

    def access(self, collection_id: str) -> CollectionAccess:
        """How the collection's assets are read; CollectionNotFound if there is none. A
        catalog older than external collections (UNIMPLEMENTED, while a rolling update
        reaches it) holds ingested ones only."""
        request = pb.GetCollectionRequest(collection_id=collection_id)
        answer = self._call_or_none(self.stub.GetCollectionAccess, request)
        if answer is None:
            return CollectionAccess()
        return CollectionAccess(
            kind=answer.kind or "ingest",
            gdal_options=dict(answer.gdal_options),
            signing=answer.signing,
            signing_url=answer.signing_url,
            mosaic=answer.mosaic or LEAST_CLOUDY_FIRST,
        )

    def upstreams(self) -> list[str]:
        """The landing-page URLs of the registered STAC APIs."""
        answer = self._call_or_none(self.stub.ListUpstreams, pb.ListUpstreamsRequest())
        return list(answer.urls) if answer is not None else []

    def close(self) -> None:
        self.channel.close()


@dataclass(frozen=True)
class CallerWorkspace:
    """What one execution may use of its caller's workspace (nothing by default)."""

    user_processes: UserProcesses = no_user_processes
    user_files: UserFiles = field(default_factory=NoUserFiles)
    job_results: JobResults = field(default_factory=NoJobResults)


class GrpcUserProcesses:
    """`UserProcesses` of one owner over the processes service's `GetUserProcess`.

    Each process is fetched once per execution, so validation and evaluation see the
    same version of it.
    """

    def __init__(
        self,
        stub: processes_pb2_grpc.ProcessesServiceStub,
        *,
        user_id: str,
        tenant_id: str,
        timeout_seconds: float,
    ) -> None:
        self.stub = stub
        self.owner = processes_pb2.Owner(user_id=user_id, tenant_id=tenant_id)
        self.timeout_seconds = timeout_seconds
        self._fetched: dict[str, dict[str, Any] | None] = {}

    def __call__(self, process_id: str) -> dict[str, Any] | None:
        """The owner's process (with `process_graph` and `parameters`), or None if the owner
        has none of this id. Raises ServiceUnavailable when the service does not answer."""
        if process_id not in self._fetched:
            self._fetched[process_id] = self._fetch(process_id)
        return self._fetched[process_id]

    def _fetch(self, process_id: str) -> dict[str, Any] | None:
        request = processes_pb2.UserProcessRequest(owner=self.owner, process_graph_id=process_id)
        try:
            response = self.stub.GetUserProcess(request, timeout=self.timeout_seconds)
        except grpc.RpcError as error:
            openeo_error = error_from_rpc(cast(Any, error), service="processes")
            if isinstance(openeo_error, ProcessGraphNotFound):
                return None
            raise openeo_error from None
        process: dict[str, Any] = json.loads(response.process_json)
        return process


class GrpcUserFiles:
    """`UserFiles` of one owner over the files service's `DownloadFile` stream."""

    def __init__(
        self,
        stub: files_pb2_grpc.FilesServiceStub,
        *,
        user_id: str,
        tenant_id: str,
        timeout_seconds: float = DOWNLOAD_TIMEOUT_SECONDS,
    ) -> None:
        self.stub = stub
        self.owner = files_pb2.Owner(user_id=user_id, tenant_id=tenant_id)
        self.timeout_seconds = timeout_seconds

    def download(self, path: str, target: Path) -> Path:
        """Copy the owner's file `path` to `target` (its folder created); return `target`.

        Raises FileNotFound (also for another user's file), FilePathInvalid, and
        ServiceUnavailable when the service does not answer or the stream ends short;
        nothing is left at `target` then.
        """
        request = files_pb2.DownloadFileRequest(owner=self.owner, path=path, offset=0, length=-1)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._write(self.stub.DownloadFile(request, timeout=self.timeout_seconds), target)
        except grpc.RpcError as error:
            target.unlink(missing_ok=True)
            raise error_from_rpc(cast(Any, error), service="files") from None
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target

    @staticmethod
    def _write(chunks: Any, target: Path) -> None:
        """The header first (the length that follows), then the data, checked for length."""
        expected: int | None = None
        written = 0
        with target.open("wb") as file:
            for chunk in chunks:
                if chunk.WhichOneof("part") == "header":
                    expected = chunk.header.length
                else:
                    file.write(chunk.data)
                    written += len(chunk.data)
        if expected is None or written != expected:
            # The stream ended without its header or short of it: the service broke off.
            raise ServiceUnavailable(service="files")


@dataclass(frozen=True)
class GrpcJobResults:
    """`JobResults` of `owner` over the jobs service's `GetResults` (read-only)."""

    stub: jobs_pb2_grpc.JobsServiceStub
    owner: jobs_pb2.Owner
    timeout_seconds: float

    def results(self, job_id: str) -> dict[str, Any]:
        """The results STAC Item of the owner's job. Raises JobNotFound (also for another
        user's job), JobNotFinished, JobFailed, ServiceUnavailable."""
        # No API URL: the executor reads the assets from storage, not through the links.
        request = jobs_pb2.GetResultsRequest(owner=self.owner, job_id=job_id, api_url="")
        try:
            response = self.stub.GetResults(request, timeout=self.timeout_seconds)
        except grpc.RpcError as error:
            raise error_from_rpc(cast(Any, error), service="jobs") from None
        document: dict[str, Any] = json.loads(response.document_json)
        return document


class Workspace:
    """Channels to the processes, files and (where an address is given) jobs services,
    shared by the executions of one executor process."""

    def __init__(
        self,
        *,
        processes_address: str,
        files_address: str,
        jobs_address: str | None = None,
        timeout_seconds: float,
    ) -> None:
        processes = grpc.insecure_channel(processes_address, options=CHANNEL_OPTIONS)
        files = grpc.insecure_channel(files_address, options=CHANNEL_OPTIONS)
        self._channels = [processes, files]
        self.processes = processes_pb2_grpc.ProcessesServiceStub(processes)
        self.files = files_pb2_grpc.FilesServiceStub(files)
        self.jobs: jobs_pb2_grpc.JobsServiceStub | None = None
        if jobs_address is not None:
            jobs = grpc.insecure_channel(jobs_address, options=CHANNEL_OPTIONS)
            self._channels.append(jobs)
            self.jobs = jobs_pb2_grpc.JobsServiceStub(jobs)
        self.timeout_seconds = timeout_seconds

    def for_owner(self, *, user_id: str, tenant_id: str) -> CallerWorkspace:
        """The user-defined processes, files and job results of this caller, for one
        execution."""
        return CallerWorkspace(
            user_processes=GrpcUserProcesses(
                self.processes,
                user_id=user_id,
                tenant_id=tenant_id,
                timeout_seconds=self.timeout_seconds,
            ),
            user_files=GrpcUserFiles(self.files, user_id=user_id, tenant_id=tenant_id),
            job_results=(
                GrpcJobResults(
                    self.jobs,
                    jobs_pb2.Owner(user_id=user_id, tenant_id=tenant_id),
                    self.timeout_seconds,
                )
                if self.jobs is not None
                else NoJobResults()
            ),
        )

    def close(self) -> None:
        """Close every channel."""
        for channel in self._channels:
            channel.close()


def caller_workspace(
    workspace: Workspace | None, *, user_id: str, tenant_id: str
) -> CallerWorkspace:
    """The caller's workspace, or an empty one where no workspace is configured."""
    if workspace is None:
        return CallerWorkspace()
    return workspace.for_owner(user_id=user_id, tenant_id=tenant_id)
