"""The auth service in-process for tests: real gRPC server, real MongoDB, a controllable clock.

Also used by `libs/cli/tests/test_admin.py`; import it as `services.auth.tests.auth_server`.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
from pymongo.asynchronous.database import AsyncDatabase

from conftest import fresh_database, started
from eoplex_auth.server import build_auth_server
from eoplex_auth.settings import AuthSettings
from eoplex_common.rpc import GrpcService
from eoplex_proto.openeo.auth.v1 import auth_pb2_grpc


class FakeClock:
    """A clock the test moves forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def auth_settings(**overrides: Any) -> AuthSettings:
    """Settings for a test server on a free loopback port."""
    return AuthSettings(listen="127.0.0.1:0", **overrides)


@dataclass
class RunningAuth:
    """A started auth service and stubs talking to it through a real channel."""

    server: GrpcService
    channel: grpc.aio.Channel
    auth: auth_pb2_grpc.AuthServiceStub
    admin: auth_pb2_grpc.AuthAdminServiceStub
    clock: FakeClock
    database: AsyncDatabase[dict[str, Any]]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.port}"


@asynccontextmanager
async def running_auth(*, mongodb_url: str, settings: AuthSettings) -> AsyncIterator[RunningAuth]:
    """Start the auth service on its own fresh database; stop it and drop the database after."""
    clock = FakeClock()
    async with (
        fresh_database(mongodb_url, "test_auth") as database,
        httpx.AsyncClient(timeout=5) as http,
    ):
        server = await build_auth_server(
            settings=settings, database=database, http=http, clock=clock
        )
        async with started(server, service="auth") as channel:
            yield RunningAuth(
                server=server,
                channel=channel,
                auth=auth_pb2_grpc.AuthServiceStub(channel),
                admin=auth_pb2_grpc.AuthAdminServiceStub(channel),
                clock=clock,
                database=database,
            )
