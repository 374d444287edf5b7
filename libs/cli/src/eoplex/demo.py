"""The local stack's demo account and demo collections.

The account (tenant "demo", user "demo") is created through the auth service. The
password comes from `OPENEO_DEMO_PASSWORD` when it is set (and is then forced onto an
existing user, so scripts can log in), otherwise it is generated at the first start
and kept in the state directory. The demo collections (SENTINEL2_L2A_DEMO, DEM_DEMO)
are generated into `<state>/demo-data`, uploaded to S3 and registered in the catalog
unless it has them already.
"""

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc

from eoplex.private import write_private
from eoplex_common.rpc import open_channel
from eoplex_common.s3 import connect_s3
from eoplex_common.settings import InfrastructureSettings
from eoplex_ingest.bootstrap import ensure_demo_collections
from eoplex_ingest.storage import S3AssetStore
from eoplex_proto.openeo.auth.v1 import auth_pb2, auth_pb2_grpc
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2_grpc

S3_VARIABLES = {
    "s3_endpoint": "OPENEO_S3_ENDPOINT",
    "s3_access_key": "OPENEO_S3_ACCESS_KEY",
    "s3_secret_key": "OPENEO_S3_SECRET_KEY",
}
# Generating and registering ~125 files takes seconds; each call is short.
DATA_DISCOVERY_TIMEOUT_SECONDS = 30.0

DEMO_TENANT = "demo"
DEMO_USER = "demo"
DEMO_QUOTA = auth_pb2.TenantQuota(
    max_concurrent_jobs=2,
    max_storage_bytes=5 * 1024**3,
    max_sync_pixels=100_000_000,
)


@dataclass(frozen=True)
class DemoPassword:
    """The demo user's password, and whether to set it on a user that already exists."""

    value: str
    enforce: bool


def resolve_demo_password(*, configured: str | None, state_dir: Path) -> DemoPassword:
    """The configured password, else the one stored in `<state>/demo-password`, else a new one."""
    if configured:
        return DemoPassword(configured, enforce=True)
    path = state_dir / "demo-password"
    if path.exists():
        return DemoPassword(path.read_text().strip(), enforce=False)
    generated = secrets.token_urlsafe(12)
    write_private(path, generated)
    # A user left from an older state directory must get the password we are about to print.
    return DemoPassword(generated, enforce=True)


def ensure_demo_account(
    *, auth_address: str, password: DemoPassword, timeout_seconds: float = 10.0
) -> None:
    """Create the demo tenant and user unless they exist; raises `grpc.RpcError` on failure."""
    with grpc.insecure_channel(auth_address) as channel:
        admin = auth_pb2_grpc.AuthAdminServiceStub(channel)
        tenants = admin.ListTenants(auth_pb2.ListTenantsRequest(), timeout=timeout_seconds)
        if all(tenant.tenant_id != DEMO_TENANT for tenant in tenants.tenants):
            request = auth_pb2.AddTenantRequest(
                tenant_id=DEMO_TENANT, title="Demo", quota=DEMO_QUOTA
            )
            admin.AddTenant(request, timeout=timeout_seconds)
        users = admin.ListUsers(
            auth_pb2.ListUsersRequest(tenant_id=DEMO_TENANT), timeout=timeout_seconds
        )
        if all(user.name != DEMO_USER for user in users.users):
            add = auth_pb2.AddUserRequest(
                name=DEMO_USER, password=password.value, tenant_id=DEMO_TENANT, roles=["user"]
            )
            admin.AddUser(add, timeout=timeout_seconds)
        elif password.enforce:
            reset = auth_pb2.SetPasswordRequest(name=DEMO_USER, password=password.value)
            admin.SetPassword(reset, timeout=timeout_seconds)


async def _ensure_demo_collections(
    *, data_discovery_address: str, s3: InfrastructureSettings, root: Path
) -> list[str]:
    channel = open_channel(
        service="data-discovery",
        address=data_discovery_address,
        timeout_seconds=DATA_DISCOVERY_TIMEOUT_SECONDS,
    )
    async with channel:
        store = S3AssetStore(client=connect_s3(s3))
        stub = data_discovery_pb2_grpc.DataDiscoveryServiceStub(channel)
        return await ensure_demo_collections(stub, root=root, store=store)


def ensure_demo_data(
    *, data_discovery_address: str, env: Mapping[str, str], state_dir: Path
) -> list[str]:
    """Generate, upload and register the demo collections the catalog lacks; their ids.

    `env` holds the stack's `OPENEO_S3_*` variables (the process environment fills in
    the keys of an S3 server the stack did not start). Raises on any failure.
    """
    stack_values = {field: env[name] for field, name in S3_VARIABLES.items() if name in env}
    s3 = InfrastructureSettings().model_copy(update=stack_values)
    return asyncio.run(
        _ensure_demo_collections(
            data_discovery_address=data_discovery_address, s3=s3, root=state_dir / "demo-data"
        )
    )
