"""A gateway wired to real in-process gRPC servers: the real capabilities servicer, and
test servicers for auth and files that behave like the real ones for a few known users."""

import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace

from eoplex.servers import free_port
from eoplex_capabilities.health import HealthChecker
from eoplex_capabilities.service import CapabilitiesService
from eoplex_capabilities.servicer import CapabilitiesServicer
from eoplex_capabilities.settings import CapabilitiesSettings
from eoplex_common.context import request_id
from eoplex_common.errors import CredentialsInvalid, TokenInvalid
from eoplex_common.rpc import GrpcService
from eoplex_common.settings import InfrastructureSettings, ServiceAddresses
from eoplex_gateway.app import create_app
from eoplex_gateway.settings import GatewaySettings
from eoplex_proto.openeo.auth.v1 import auth_pb2, auth_pb2_grpc
from eoplex_proto.openeo.capabilities.v1 import capabilities_pb2_grpc
from eoplex_proto.openeo.files.v1 import files_pb2, files_pb2_grpc

MAX_BODY_BYTES = 1024
QUOTA_BYTES = 1000
USED_BYTES = 300
PROVIDERS = [{"id": "test", "issuer": "https://issuer.example", "title": "Test", "scopes": []}]
# user name -> (password, token, tenant quota)
USERS = {"alice": ("secret", "tok-alice", QUOTA_BYTES), "bob": ("hunter2", "tok-bob", 0)}


class FakeAuthServicer(auth_pb2_grpc.AuthServiceServicer):
    """The auth contract for the users in `USERS`; tokens are fixed per user. The gateway
    needs nothing but `Authenticate` for an authenticated request (`GetTenantQuota` is not
    implemented, so a call would fail the test).

    Records the request id and trace id each `Authenticate` call arrived with. Lists the
    OpenID Connect providers in `providers` (`PROVIDERS` unless a test changes them).
    """

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []
        self.providers: list[dict[str, object]] = PROVIDERS

    def _principal(self, name: str) -> auth_pb2.Principal:
        return auth_pb2.Principal(user_id=name, tenant_id="t1", name=name.title(), roles=["user"])

    def quota(self, name: str) -> auth_pb2.TenantQuota | None:
        """The quota of the user's tenant, which `Authenticate` returns with the user."""
        return auth_pb2.TenantQuota(max_storage_bytes=USERS[name][2])

    async def IssueBasicToken(
        self, request: auth_pb2.IssueBasicTokenRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.IssueBasicTokenResponse:
        password, token, _ = USERS.get(request.username, ("", "", 0))
        if not password or request.password != password or not request.client:
            raise CredentialsInvalid()
        return auth_pb2.IssueBasicTokenResponse(access_token=token, user_id=request.username)

    async def Authenticate(
        self, request: auth_pb2.AuthenticateRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.AuthenticateResponse:
        self.seen.append((request_id.get(), trace.get_current_span().get_span_context().trace_id))
        for name, (_, token, _) in USERS.items():
            if request.bearer_token == f"basic//{token}":
                return auth_pb2.AuthenticateResponse(
                    principal=self._principal(name), quota=self.quota(name)
                )
        raise TokenInvalid()

    async def ListOidcProviders(
        self, request: auth_pb2.ListOidcProvidersRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.ListOidcProvidersResponse:
        return auth_pb2.ListOidcProvidersResponse(providers_json=json.dumps(self.providers))


class FakeFilesServicer(files_pb2_grpc.FilesServiceServicer):
    """Every user occupies `USED_BYTES`."""

    async def GetStorageUsage(
        self, request: files_pb2.GetStorageUsageRequest, context: grpc.aio.ServicerContext
    ) -> files_pb2.GetStorageUsageResponse:
        assert request.tenant_id == "t1"
        return files_pb2.GetStorageUsageResponse(used_bytes=USED_BYTES)


@dataclass
class Stack:
    """The running gRPC servers behind the gateway, by service name."""

    servers: dict[str, GrpcService]
    auth: FakeAuthServicer

    @property
    def addresses(self) -> ServiceAddresses:
        return ServiceAddresses(
            **{f"{name}_address": server.listen for name, server in self.servers.items()}
        )


def capabilities_servicer(
    services: dict[str, str], infrastructure: InfrastructureSettings
) -> CapabilitiesServicer:
    """The real capabilities servicer, checking `services` and `infrastructure`."""
    checker = HealthChecker(services=services, infrastructure=infrastructure, timeout_seconds=1)
    return CapabilitiesServicer(
        CapabilitiesService(settings=CapabilitiesSettings(), health=checker)
    )


@pytest.fixture
def health_infrastructure() -> InfrastructureSettings:
    """Servers the capabilities service checks: none exists, so `/health` is degraded."""
    down = f"127.0.0.1:{free_port()}"
    return InfrastructureSettings(
        mongodb_url=f"mongodb://{down}", nats_url=f"nats://{down}", s3_endpoint=f"http://{down}"
    )


@pytest.fixture
async def stack(health_infrastructure: InfrastructureSettings) -> AsyncIterator[Stack]:
    servers = {
        name: GrpcService(name=name, listen=f"127.0.0.1:{free_port()}", grace_seconds=0.1)
        for name in ("auth", "files", "capabilities")
    }
    services = {name: server.listen for name, server in servers.items()}
    auth = FakeAuthServicer()
    auth_pb2_grpc.add_AuthServiceServicer_to_server(auth, servers["auth"].server)
    files_pb2_grpc.add_FilesServiceServicer_to_server(FakeFilesServicer(), servers["files"].server)
    capabilities_pb2_grpc.add_CapabilitiesServiceServicer_to_server(
        capabilities_servicer(services, health_infrastructure), servers["capabilities"].server
    )
    for server in servers.values():
        await server.start()
    yield Stack(servers, auth)
    for server in servers.values():
        await server.stop()


@pytest.fixture
def app(stack: Stack) -> FastAPI:
    settings = GatewaySettings(max_body_bytes=MAX_BODY_BYTES, rpc_timeout_seconds=5)
    return create_app(settings=settings, addresses=stack.addresses)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of `app`, inside the app's lifespan (start-up and shutdown)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def gateway_client(addresses: ServiceAddresses) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """An HTTP client of a gateway (default limits) whose services answer at `addresses`."""
    settings = GatewaySettings(rpc_timeout_seconds=5)
    return serving(create_app(settings=settings, addresses=addresses))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(app) as c:
        yield c


def http_scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """The ASGI scope of an HTTP/1.1 request, for driving the app by hand (no client library)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }


def basic(username: str, password: str) -> dict[str, str]:
    """An `Authorization: Basic` header."""
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


# The `bearer` fixture: the `Authorization` header of a user of `USERS`.
Bearer = Callable[[str], dict[str, str]]


@pytest.fixture
def bearer() -> Bearer:
    """`Authorization: Bearer basic//<token of user>`."""
    return lambda user: {"Authorization": f"Bearer basic//{USERS[user][1]}"}
