"""`/jobs/{job_id}/results/signed[/{asset}]`: a job's results by signed link, without
credentials, against a jobs service that holds one asset and accepts one signature."""

from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest

from eoplex.servers import free_port
from eoplex_common import errors
from eoplex_common.rpc import GrpcService
from eoplex_proto.openeo.jobs.v1 import jobs_pb2 as pb
from eoplex_proto.openeo.jobs.v1 import jobs_pb2_grpc
from services.gateway.tests.conftest import Stack, gateway_client
from tests.openapi_validation import validate_error

API = "/openeo/1.2"
CONTENT = bytes(range(256)) * 40
ASSET = f"{API}/jobs/j-1/results/signed/result.tif"
VALID = {"expires": "4102444800", "signature": "good"}
MODIFIED = "2024-05-01T10:00:00Z"
ITEM = {"type": "Feature", "id": "j-1"}


class SharingJobs(jobs_pb2_grpc.JobsServiceServicer):
    """Signs nothing; accepts the signature "good" for job j-1, asset result.tif."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    def _check(self, link: pb.ResultLink, *, asset: str) -> None:
        if (link.job_id, link.asset, link.signature) != ("j-1", asset, "good"):
            raise errors.PermissionsInsufficient("The link to the batch job results is invalid.")

    async def GetSharedResults(
        self, request: pb.GetSharedResultsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetResultsResponse:
        self.requests.append(request)
        self._check(request.link, asset="")
        return pb.GetResultsResponse(document_json='{"type": "Feature", "id": "j-1"}')

    async def DownloadResult(
        self, request: pb.DownloadResultRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ResultChunk]:
        self.requests.append(request)
        self._check(request.link, asset="result.tif")
        if request.offset >= len(CONTENT) and request.length != 0:
            raise errors.RangeNotSatisfiable(size=len(CONTENT))
        end = len(CONTENT) if request.length == -1 else request.offset + request.length
        part = CONTENT[request.offset : end]
        yield pb.ResultChunk(
            header=pb.ResultHeader(
                size=len(CONTENT),
                media_type="image/tiff",
                modified=MODIFIED,
                offset=request.offset,
                length=len(part),
            )
        )
        for start in range(0, len(part), 1000):
            yield pb.ResultChunk(data=part[start : start + 1000])


@pytest.fixture
def jobs() -> SharingJobs:
    return SharingJobs()


@pytest.fixture
async def http(stack: Stack, jobs: SharingJobs) -> AsyncIterator[httpx.AsyncClient]:
    server = GrpcService(name="jobs", listen=f"127.0.0.1:{free_port()}", grace_seconds=0.1)
    jobs_pb2_grpc.add_JobsServiceServicer_to_server(jobs, server.server)
    await server.start()
    addresses = stack.addresses.model_copy(update={"jobs_address": server.listen})
    try:
        async with gateway_client(addresses) as client:
            yield client
    finally:
        await server.stop()


async def test_an_asset_is_streamed_whole_or_in_ranges_without_credentials(
    http: httpx.AsyncClient, jobs: SharingJobs
) -> None:
    whole = await http.get(ASSET, params=VALID)
    assert whole.status_code == 200
    assert whole.content == CONTENT
    assert whole.headers["content-type"] == "image/tiff"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["last-modified"] == "Wed, 01 May 2024 10:00:00 GMT"
    link = jobs.requests[-1].link
    assert (link.job_id, link.asset, link.expires, link.signature) == (
        "j-1",
        "result.tif",
        4102444800,
        "good",
    )
    part = await http.get(ASSET, params=VALID, headers={"Range": "bytes=1000-2499"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 1000-2499/{len(CONTENT)}"
    assert part.content == CONTENT[1000:2500]
    suffix = await http.get(ASSET, params=VALID, headers={"Range": "bytes=-10"})
    assert (suffix.status_code, suffix.content) == (206, CONTENT[-10:])
    beyond = await http.get(ASSET, params=VALID, headers={"Range": f"bytes={len(CONTENT)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(CONTENT)}"
    assert beyond.json()["code"] == "RangeNotSatisfiable"


async def test_head_of_an_asset_answers_its_headers_only(
    http: httpx.AsyncClient, jobs: SharingJobs
) -> None:
    head = await http.head(ASSET, params=VALID)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(CONTENT))
    assert head.headers["content-type"] == "image/tiff"
    assert head.headers["last-modified"] == "Wed, 01 May 2024 10:00:00 GMT"
    # The service was asked for the header alone, not the bytes.
    assert jobs.requests[-1].length == 0
    forged = await http.head(ASSET, params={**VALID, "signature": "forged"})
    assert forged.status_code == 403


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (ASSET, {**VALID, "signature": "forged"}),
        (f"{API}/jobs/j-1/results/signed/other.tif", VALID),
        (f"{API}/jobs/j-2/results/signed/result.tif", VALID),
        (f"{API}/jobs/j-1/results/signed", {**VALID, "signature": "forged"}),
    ],
)
async def test_a_link_the_service_refuses_is_an_openeo_error(
    http: httpx.AsyncClient, path: str, params: dict[str, str]
) -> None:
    refused = await http.get(path, params=params)
    assert refused.status_code == 403
    validate_error(refused.json())
    assert refused.json()["code"] == "PermissionsInsufficient"


@pytest.mark.parametrize(
    "params", [{}, {"expires": "soon", "signature": "good"}, {"expires": "-1", "signature": "x"}]
)
async def test_a_link_without_its_expiry_or_signature_is_a_bad_request(
    http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    refused = await http.get(ASSET, params=params)
    assert refused.status_code == 400
    validate_error(refused.json())


async def test_the_canonical_link_answers_the_item_below_the_api(
    http: httpx.AsyncClient, jobs: SharingJobs
) -> None:
    response = await http.get(f"{API}/jobs/j-1/results/signed", params=VALID)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    assert response.json() == ITEM
    assert jobs.requests[-1].api_url == f"{http.base_url}{API}/"
