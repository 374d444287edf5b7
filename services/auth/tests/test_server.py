"""`python -m eoplex_auth` prepares its database, serves both services, stops on SIGTERM."""

import json
from pathlib import Path

from conftest import Infrastructure, ServiceProcess
from eoplex_common.rpc import open_channel
from eoplex_proto.openeo.auth.v1 import auth_pb2, auth_pb2_grpc

PROVIDER = {"id": "p", "issuer": "https://p.example", "title": "P", "audience": "a"}


def test_serves_and_stops_cleanly(infrastructure: Infrastructure, tmp_path: Path) -> None:
    env = {**infrastructure.env, "OPENEO_AUTH_OIDC_PROVIDERS": json.dumps([PROVIDER])}
    with ServiceProcess("auth", env=env, log_dir=tmp_path) as service:
        pass
    assert service.returncode == 0, service.log()


async def test_creates_the_default_tenant_and_lists_providers(
    infrastructure: Infrastructure, tmp_path: Path
) -> None:
    env = {
        **infrastructure.env,
        "OPENEO_AUTH_DEFAULT_TENANT": "campus",
        "OPENEO_AUTH_OIDC_PROVIDERS": json.dumps([PROVIDER]),
    }
    with ServiceProcess("auth", env=env, log_dir=tmp_path) as service:
        channel = open_channel(service="auth", address=service.address, timeout_seconds=10)
        async with channel:
            quota = await auth_pb2_grpc.AuthServiceStub(channel).GetTenantQuota(
                auth_pb2.GetTenantQuotaRequest(tenant_id="campus")
            )
            providers = await auth_pb2_grpc.AuthServiceStub(channel).ListOidcProviders(
                auth_pb2.ListOidcProvidersRequest()
            )
    assert quota.max_concurrent_jobs == 2
    assert [p["id"] for p in json.loads(providers.providers_json)] == ["p"]
