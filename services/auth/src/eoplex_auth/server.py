"""Wiring of the auth service: settings -> store -> services -> gRPC server."""

from datetime import timedelta
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase

from eoplex_auth.admin import AdminService
from eoplex_auth.credentials import PasswordVerifier
from eoplex_auth.oidc import OidcVerifier
from eoplex_auth.service import AuthService, Clock, default_quota, utc_now
from eoplex_auth.servicer import AuthAdminServicer, AuthServicer
from eoplex_auth.settings import AuthSettings
from eoplex_auth.store import AuthStore
from eoplex_auth.throttle import LoginThrottle
from eoplex_common.entrypoint import run_service
from eoplex_common.mongo import connect_mongo, service_database
from eoplex_common.rpc import GrpcService
from eoplex_proto.openeo.auth.v1 import auth_pb2_grpc


async def build_auth_server(
    *,
    settings: AuthSettings,
    database: AsyncDatabase[dict[str, Any]],
    http: httpx.AsyncClient,
    clock: Clock = utc_now,
) -> GrpcService:
    """A not yet started gRPC server with both auth services, its database prepared."""
    store = AuthStore(database=database)
    await store.ensure_indexes()
    now = clock()
    await store.delete_expired_tokens(now)
    window = timedelta(seconds=settings.login_failure_window_seconds)
    await store.delete_login_failures_before(now - window)
    await store.delete_expired_login_clients(now)
    passwords = PasswordVerifier(max_concurrent=settings.login_max_concurrent_verifications)
    oidc = OidcVerifier(
        providers=settings.oidc_providers,
        http=http,
        leeway_seconds=settings.oidc_leeway_seconds,
        cache_seconds=settings.oidc_metadata_cache_seconds,
    )
    service = AuthService(
        store=store,
        settings=settings,
        passwords=passwords,
        throttle=LoginThrottle(store=store, settings=settings),
        oidc=oidc,
        clock=clock,
    )
    await service.ensure_tenant(settings.default_tenant)
    admin = AdminService(
        store=store, passwords=passwords, default_quota=default_quota(settings), clock=clock
    )
    grpc_service = GrpcService(
        name="auth", listen=settings.listen, grace_seconds=settings.shutdown_grace_seconds
    )
    auth_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(service), grpc_service.server)
    auth_pb2_grpc.add_AuthAdminServiceServicer_to_server(
        AuthAdminServicer(admin), grpc_service.server
    )
    return grpc_service


async def serve(settings: AuthSettings) -> None:
    """Run the auth service until SIGTERM/SIGINT."""
    client = connect_mongo(settings.mongodb_url)
    try:
        async with httpx.AsyncClient(timeout=settings.oidc_timeout_seconds) as http:
            grpc_service = await build_auth_server(
                settings=settings, database=service_database(client, "auth"), http=http
            )
            await grpc_service.run_until_signal()
    finally:
        await client.close()


def main() -> None:
    """Entry point: `python -m eoplex_auth`."""
    run_service(name="auth", settings=AuthSettings(), serve=serve)
