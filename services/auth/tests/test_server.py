"""`python -m eoplex_auth` prepares its database, serves both services, stops on SIGTERM."""

import json
import sys
from pathlib import Path

from conftest import Infrastructure
from eoplex.probes import grpc_serving
from eoplex.servers import ProcessSpec, free_port, start_process, stop_process, wait_ready
from eoplex_common.rpc import open_channel
from eoplex_proto.openeo.auth.v1 import auth_pb2, auth_pb2_grpc

PROVIDER = {"id": "p", "issuer": "https://p.example", "title": "P", "audience": "a"}


def test_serves_and_stops_cleanly(infrastructure: Infrastructure, tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    env = {
        **infrastructure.env,
        "OPENEO_AUTH_LISTEN": address,
        "OPENEO_AUTH_OIDC_PROVIDERS": json.dumps([PROVIDER]),
    }
    spec = ProcessSpec("auth", [sys.executable, "-m", "eoplex_auth"], grpc_serving(address), env)
    process = start_process(spec, log_path=tmp_path / "auth.log")
    try:
        wait_ready(spec, process)
    finally:
        stop_process(process)
    assert process.returncode == 0, (tmp_path / "auth.log").read_text()


async def test_creates_the_default_tenant_and_lists_providers(
    infrastructure: Infrastructure, tmp_path: Path
) -> None:
    address = f"127.0.0.1:{free_port()}"
    env = {
        **infrastructure.env,
        "OPENEO_AUTH_LISTEN": address,
        "OPENEO_AUTH_DEFAULT_TENANT": "campus",
        "OPENEO_AUTH_OIDC_PROVIDERS": json.dumps([PROVIDER]),
    }
    spec = ProcessSpec("auth", [sys.executable, "-m", "eoplex_auth"], grpc_serving(address), env)
    process = start_process(spec, log_path=tmp_path / "auth.log")
    try:
        wait_ready(spec, process)
        async with open_channel(service="auth", address=address, timeout_seconds=10) as channel:
            quota = await auth_pb2_grpc.AuthServiceStub(channel).GetTenantQuota(
                auth_pb2.GetTenantQuotaRequest(tenant_id="campus")
            )
            providers = await auth_pb2_grpc.AuthServiceStub(channel).ListOidcProviders(
                auth_pb2.ListOidcProvidersRequest()
            )
    finally:
        stop_process(process)
    assert quota.max_concurrent_jobs == 2
    assert [p["id"] for p in json.loads(providers.providers_json)] == ["p"]
