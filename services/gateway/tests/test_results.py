"""`POST /result` through the gateway, with an in-process fake executor and auth service.

The fake executor acts on the process id of the graph's only node: `file` streams a
small file in three pieces, `hang` sends the metadata and one piece and then waits
until it is cancelled, `slow` waits until it is cancelled before it sends anything,
`complex` and `busy` fail before the first message.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI

from eoplex.servers import free_port
from eoplex_common import errors
from eoplex_common.rpc import GrpcService
from eoplex_gateway.app import create_app
from eoplex_gateway.routes.results import file_bytes
from eoplex_gateway.settings import GatewaySettings
from eoplex_proto.openeo.auth.v1 import auth_pb2, auth_pb2_grpc
from eoplex_proto.openeo.executor.v1 import executor_pb2 as pb
from eoplex_proto.openeo.executor.v1 import executor_pb2_grpc
from services.gateway.tests.conftest import Bearer, FakeAuthServicer, Stack, http_scope
from tests.openapi_validation import validate_error

API = "/openeo/1.2"
MAX_SYNC_PIXELS = 123_456
PIECES = (b"II*\x00", b"pixels", b"end")
TIFF = "image/tiff; application=geotiff"


class QuotaAuthServicer(FakeAuthServicer):
    """The fake auth service, whose tenant has the pixel quota the executor is called with,
    unless `tenant_gone` (a user without a tenant: no quota)."""

    tenant_gone = False

    def quota(self, name: str) -> auth_pb2.TenantQuota | None:
        return None if self.tenant_gone else auth_pb2.TenantQuota(max_sync_pixels=MAX_SYNC_PIXELS)


class FakeExecutorServicer(executor_pb2_grpc.ExecutorServiceServicer):
    """Answers after the process id of the graph's only node; records what it was asked."""

    def __init__(self) -> None:
        self.requests: list[pb.ExecuteRequest] = []
        self.cancelled = asyncio.Event()

    async def Execute(
        self, request: pb.ExecuteRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ResultChunk]:
        self.requests.append(request)
        graph = json.loads(request.process_json)["process_graph"]
        kind = next(iter(graph.values()))["process_id"]
        if kind == "complex":
            raise errors.ProcessGraphComplexity()
        if kind == "busy":
            raise errors.TooManyRequests("You already run 2 synchronous requests.")
        if kind == "slow":
            await self._wait_until_cancelled()
        size = sum(map(len, PIECES))
        yield pb.ResultChunk(media_type=TIFF, filename="result.tif", size=size, costs=0.25)
        if kind == "hang":
            yield pb.ResultChunk(data=PIECES[0])
            await self._wait_until_cancelled()
        for piece in PIECES:
            yield pb.ResultChunk(data=piece)

    async def _wait_until_cancelled(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


def body(kind: str) -> dict[str, Any]:
    return {"process": {"process_graph": {"n": {"process_id": kind, "arguments": {}}}}}


# The `executor` fixture: the fake executor and its running server.
Executor = tuple[FakeExecutorServicer, GrpcService]


@pytest.fixture
async def executor() -> AsyncIterator[Executor]:
    servicer = FakeExecutorServicer()
    server = GrpcService(name="executor", listen=f"127.0.0.1:{free_port()}", grace_seconds=0.1)
    executor_pb2_grpc.add_ExecutorServiceServicer_to_server(servicer, server.server)
    await server.start()
    yield servicer, server
    await server.stop()


@pytest.fixture
def quota_auth() -> QuotaAuthServicer:
    return QuotaAuthServicer()


@pytest.fixture
async def result_app(
    stack: Stack, executor: Executor, quota_auth: QuotaAuthServicer
) -> AsyncIterator[FastAPI]:
    """A gateway whose auth service knows quotas and whose executor is the fake one."""
    auth = GrpcService(name="auth", listen=f"127.0.0.1:{free_port()}", grace_seconds=0.1)
    auth_pb2_grpc.add_AuthServiceServicer_to_server(quota_auth, auth.server)
    await auth.start()
    addresses = stack.addresses.model_copy(
        update={"auth_address": auth.listen, "executor_address": executor[1].listen}
    )
    app = create_app(settings=GatewaySettings(rpc_timeout_seconds=5), addresses=addresses)
    async with app.router.lifespan_context(app):
        yield app
    await auth.stop()


@pytest.fixture
async def http(result_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=result_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_result_file_with_its_headers(
    http: httpx.AsyncClient,
    executor: Executor,
    bearer: Bearer,
) -> None:
    response = await http.post(f"{API}/result", json=body("file"), headers=bearer("alice"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == TIFF
    assert response.headers["content-length"] == str(sum(map(len, PIECES)))
    assert float(response.headers["openeo-costs"]) == 0.25
    assert response.content == b"".join(PIECES)
    (request,) = executor[0].requests
    assert (request.user_id, request.tenant_id) == ("alice", "t1")
    assert request.max_pixels == MAX_SYNC_PIXELS
    assert json.loads(request.process_json) == body("file")["process"]


async def test_one_call_to_auth_gives_the_caller_and_the_quota(
    http: httpx.AsyncClient,
    executor: Executor,
    quota_auth: QuotaAuthServicer,
    bearer: Bearer,
) -> None:
    response = await http.post(f"{API}/result", json=body("file"), headers=bearer("alice"))
    assert response.status_code == 200, response.text
    assert len(quota_auth.seen) == 1
    assert executor[0].requests[0].max_pixels == MAX_SYNC_PIXELS


async def test_a_caller_whose_tenant_is_gone_is_refused_before_the_executor(
    http: httpx.AsyncClient,
    executor: Executor,
    quota_auth: QuotaAuthServicer,
    bearer: Bearer,
) -> None:
    quota_auth.tenant_gone = True
    response = await http.post(f"{API}/result", json=body("file"), headers=bearer("alice"))
    assert response.status_code == 404
    validate_error(response.json())
    assert response.json()["code"] == "NotFound"
    assert not executor[0].requests


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("complex", 400, "ProcessGraphComplexity"), ("busy", 429, "TooManyRequests")],
)
async def test_executor_errors_are_openeo_errors(
    http: httpx.AsyncClient,
    bearer: Bearer,
    kind: str,
    status: int,
    code: str,
) -> None:
    response = await http.post(f"{API}/result", json=body(kind), headers=bearer("alice"))
    assert response.status_code == status
    validate_error(response.json())
    assert response.json()["code"] == code


@pytest.mark.parametrize("sent", [{}, {"process": {}}, {"process": "graph"}])
async def test_missing_process_graph(
    http: httpx.AsyncClient,
    executor: Executor,
    bearer: Bearer,
    sent: dict[str, Any],
) -> None:
    response = await http.post(f"{API}/result", json=sent, headers=bearer("alice"))
    assert response.status_code == 400
    assert response.json()["code"] == "ProcessGraphMissing"
    assert executor[0].requests == []


@pytest.mark.parametrize(
    "members", [{"budget": -1}, {"budget": 10**400}, {"plan": 5}, {"log_level": "loud"}]
)
async def test_members_the_spec_defines_must_have_their_types(
    http: httpx.AsyncClient,
    executor: Executor,
    bearer: Bearer,
    members: dict[str, Any],
) -> None:
    response = await http.post(
        f"{API}/result", json={**body("file"), **members}, headers=bearer("alice")
    )
    assert response.status_code == 400
    assert response.json()["code"] == "BadRequest"
    assert executor[0].requests == []


async def test_authentication_is_required(http: httpx.AsyncClient, executor: Executor) -> None:
    response = await http.post(f"{API}/result", json=body("file"))
    assert response.status_code == 401
    assert response.json()["code"] == "AuthenticationRequired"
    assert executor[0].requests == []


async def test_unreachable_executor_is_service_unavailable(
    http: httpx.AsyncClient,
    executor: Executor,
    bearer: Bearer,
) -> None:
    await executor[1].stop()
    response = await http.post(f"{API}/result", json=body("file"), headers=bearer("alice"))
    assert response.status_code == 503
    assert response.json()["code"] == "ServiceUnavailable"


@dataclass
class AsgiExchange:
    """One request driven through the ASGI app by hand: what it sent, and a disconnect."""

    running: asyncio.Task[None]
    sent: list[dict[str, Any]]
    disconnected: asyncio.Event

    async def wait_for_body(self, data: bytes) -> None:
        deadline = time.monotonic() + 5
        while not any(message.get("body") == data for message in self.sent):
            assert time.monotonic() < deadline and not self.running.done(), self.sent
            await asyncio.sleep(0.01)


def post_result(app: FastAPI, kind: str, headers: dict[str, str]) -> AsgiExchange:
    """`POST /result` without a client library: httpx's ASGI transport collects the whole
    body before it answers, and never disconnects early."""
    content = json.dumps(body(kind)).encode()
    raw_headers = [(key.lower().encode(), value.encode()) for key, value in headers.items()]
    raw_headers += [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
    ]
    scope = http_scope("POST", f"{API}/result", raw_headers)
    disconnected = asyncio.Event()
    sent: list[dict[str, Any]] = []
    requests = iter([{"type": "http.request", "body": content, "more_body": False}])

    async def receive() -> dict[str, Any]:
        message = next(requests, None)
        if message is None:
            await disconnected.wait()
            message = {"type": "http.disconnect"}
        return message

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    running = asyncio.create_task(app(scope, receive, send))
    return AsgiExchange(running, sent, disconnected)


async def test_bytes_are_sent_as_they_arrive_and_a_disconnect_cancels_the_call(
    result_app: FastAPI,
    executor: Executor,
    bearer: Bearer,
) -> None:
    exchange = post_result(result_app, "hang", bearer("alice"))
    await exchange.wait_for_body(PIECES[0])
    start = exchange.sent[0]
    assert start["type"] == "http.response.start" and start["status"] == 200
    assert (b"content-length", str(sum(map(len, PIECES))).encode()) in start["headers"]

    exchange.disconnected.set()
    await asyncio.wait_for(exchange.running, 5)
    await asyncio.wait_for(executor[0].cancelled.wait(), 5)
    assert not any(message.get("more_body") is False for message in exchange.sent[1:])


async def test_a_disconnect_while_computing_cancels_the_call(
    result_app: FastAPI,
    executor: Executor,
    bearer: Bearer,
) -> None:
    exchange = post_result(result_app, "slow", bearer("alice"))
    deadline = time.monotonic() + 5
    while not executor[0].requests:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    exchange.disconnected.set()
    await asyncio.wait_for(executor[0].cancelled.wait(), 5)
    await asyncio.wait_for(exchange.running, 5)


async def test_closing_the_body_early_cancels_the_call() -> None:
    class Call:
        cancelled = False

        def cancel(self) -> bool:
            self.cancelled = True
            return True

    async def chunks() -> AsyncIterator[pb.ResultChunk]:
        for piece in PIECES:
            yield pb.ResultChunk(data=piece)

    call = Call()
    stream = file_bytes(call, chunks())
    assert await anext(stream) == PIECES[0]
    assert not call.cancelled
    await stream.aclose()
    assert call.cancelled
