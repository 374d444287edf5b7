"""A finished job's results by signed link, for whoever holds one until it expires:
`/jobs/{job_id}/results/signed` (the results Item, its `canonical` link) and
`/jobs/{job_id}/results/signed/{asset}` (an asset's bytes, streamed, with `Range`).

No authentication: the jobs service checks that it signed the link as it is (job, asset
and expiry) and answers PermissionsInsufficient or ResultLinkExpired otherwise. Asset
links are what `GET /jobs/{job_id}/results` hands out when clients do not reach S3
(`OPENEO_S3_PUBLIC_ENDPOINT` unset), so that the API's one public port serves downloads.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from eoplex_gateway.clients import ServiceClients
from eoplex_gateway.dependencies import Clients, Settings
from eoplex_gateway.streaming import (
    FileFacts,
    file_bytes,
    first_message,
    range_headers,
    ranged_response,
)
from eoplex_gateway.urls import api_url
from eoplex_proto.openeo.jobs.v1 import jobs_pb2 as pb

router = APIRouter()

Expires = Annotated[int, Query(ge=0, le=2**62)]
Signature = Annotated[str, Query(max_length=128)]


@router.get("/jobs/{job_id}/results/signed")
async def shared_results(
    job_id: str,
    expires: Expires,
    signature: Signature,
    request: Request,
    settings: Settings,
    clients: Clients,
) -> Response:
    """The results Item of a `canonical` link, its URLs expiring with the link.
    PermissionsInsufficient, ResultLinkExpired, JobNotFound, JobNotFinished."""
    link = pb.ResultLink(job_id=job_id, expires=expires, signature=signature)
    query = pb.GetSharedResultsRequest(link=link, api_url=api_url(request, settings))
    response = await clients.jobs.GetSharedResults(query)
    return Response(response.document_json, media_type="application/geo+json")


@router.api_route("/jobs/{job_id}/results/signed/{asset}", methods=["GET", "HEAD"])
async def download_shared_asset(
    job_id: str,
    asset: str,
    expires: Expires,
    signature: Signature,
    request: Request,
    settings: Settings,
    clients: Clients,
) -> Response:
    """An asset of a job's results, streamed.

    A single `Range: bytes=...` gets 206 with `Content-Range`, an unsatisfiable one 416
    (RangeNotSatisfiable); a malformed or multiple range, or an `If-Range` that no longer
    matches, gets the whole file. PermissionsInsufficient, ResultLinkExpired (also when
    the job's results were made again since), JobNotFound.
    """
    download = AssetDownload(
        clients=clients,
        link=pb.ResultLink(job_id=job_id, asset=asset, expires=expires, signature=signature),
        timeout_seconds=settings.file_transfer_timeout_seconds,
    )
    return await ranged_response(request, download)


@dataclass(frozen=True)
class AssetDownload:
    """`DownloadResult` calls for the asset one link names."""

    clients: ServiceClients
    link: pb.ResultLink
    timeout_seconds: float

    async def open(
        self, *, offset: int, length: int
    ) -> tuple[pb.ResultHeader, Any, AsyncIterator[pb.ResultChunk]]:
        """The header of the range, the call, and its remaining messages; the service's
        errors are raised here, before any byte is sent."""
        request = pb.DownloadResultRequest(link=self.link, offset=offset, length=length)
        call = self.clients.jobs.DownloadResult(request, timeout=self.timeout_seconds)
        first, chunks = await first_message(call)
        return first.header, call, chunks

    async def probe(self) -> FileFacts:
        """The asset's size, last modification and media type, without its bytes."""
        header, call, _ = await self.open(offset=0, length=0)
        call.cancel()
        return FileFacts(size=header.size, modified=header.modified, media_type=header.media_type)

    async def send(self, *, offset: int, length: int, partial: bool) -> StreamingResponse:
        """200 (or 206 with `Content-Range`) streaming the range; the service's errors are
        raised before any byte is sent."""
        header, call, chunks = await self.open(offset=offset, length=length)
        return self.response(header, call, chunks, partial=partial)

    @staticmethod
    def headers(header: pb.ResultHeader, *, partial: bool) -> dict[str, str]:
        """Length, type, ranges and modification of what follows."""
        headers = range_headers(
            offset=header.offset,
            length=header.length,
            size=header.size,
            modified=header.modified,
            partial=partial,
        )
        return {**headers, "Content-Type": header.media_type}

    def response(
        self,
        header: pb.ResultHeader,
        call: Any,
        chunks: AsyncIterator[pb.ResultChunk],
        *,
        partial: bool,
    ) -> StreamingResponse:
        """200 (or 206 with `Content-Range`) streaming the range the header announced."""
        return StreamingResponse(
            file_bytes(call, chunks),
            status_code=206 if partial else 200,
            media_type=header.media_type,
            headers=self.headers(header, partial=partial),
        )
