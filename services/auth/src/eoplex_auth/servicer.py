"""gRPC <-> domain for the auth service (openeo.auth.v1)."""

import json

import grpc

from eoplex_auth.admin import AdminService
from eoplex_auth.service import AuthService
from eoplex_auth.store import Quota, Tenant, User
from eoplex_proto.openeo.auth.v1 import auth_pb2, auth_pb2_grpc


def principal_message(user: User) -> auth_pb2.Principal:
    """The principal other services receive for `user`."""
    return auth_pb2.Principal(
        user_id=user.user_id, tenant_id=user.tenant_id, name=user.name, roles=user.roles
    )


def quota_message(quota: Quota) -> auth_pb2.TenantQuota:
    """`quota` as protobuf."""
    return auth_pb2.TenantQuota(
        max_concurrent_jobs=quota.max_concurrent_jobs,
        max_storage_bytes=quota.max_storage_bytes,
        max_sync_pixels=quota.max_sync_pixels,
    )


def quota_from_message(message: auth_pb2.TenantQuota) -> Quota:
    """A protobuf quota as the domain's."""
    return Quota(
        max_concurrent_jobs=message.max_concurrent_jobs,
        max_storage_bytes=message.max_storage_bytes,
        max_sync_pixels=message.max_sync_pixels,
    )


def user_message(user: User) -> auth_pb2.User:
    """`user` as protobuf, without any credential."""
    return auth_pb2.User(
        user_id=user.user_id,
        name=user.name,
        tenant_id=user.tenant_id,
        roles=user.roles,
        disabled=user.disabled,
        identity=user.identity,
        created=user.created.isoformat(),
    )


def tenant_message(tenant: Tenant) -> auth_pb2.Tenant:
    """`tenant` as protobuf."""
    return auth_pb2.Tenant(
        tenant_id=tenant.tenant_id, title=tenant.title, quota=quota_message(tenant.quota)
    )


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    """Thin adapter from `openeo.auth.v1.AuthService` to `AuthService`."""

    def __init__(self, service: AuthService) -> None:
        self.service = service

    async def IssueBasicToken(
        self, request: auth_pb2.IssueBasicTokenRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.IssueBasicTokenResponse:
        issued = await self.service.issue_basic_token(
            username=request.username, password=request.password, client=request.client
        )
        return auth_pb2.IssueBasicTokenResponse(
            access_token=issued.access_token,
            expires_in_seconds=issued.expires_in_seconds,
            user_id=issued.user.user_id,
        )

    async def Authenticate(
        self, request: auth_pb2.AuthenticateRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.AuthenticateResponse:
        user, quota = await self.service.authenticate(request.bearer_token)
        return auth_pb2.AuthenticateResponse(
            principal=principal_message(user),
            quota=quota_message(quota) if quota is not None else None,
        )

    async def ListOidcProviders(
        self, request: auth_pb2.ListOidcProvidersRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.ListOidcProvidersResponse:
        providers = self.service.oidc_providers()
        return auth_pb2.ListOidcProvidersResponse(providers_json=json.dumps(providers))

    async def GetTenantQuota(
        self, request: auth_pb2.GetTenantQuotaRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.TenantQuota:
        return quota_message(await self.service.tenant_quota(request.tenant_id))


class AuthAdminServicer(auth_pb2_grpc.AuthAdminServiceServicer):
    """Thin adapter from `openeo.auth.v1.AuthAdminService` to `AdminService`."""

    def __init__(self, admin: AdminService) -> None:
        self.admin = admin

    async def AddUser(
        self, request: auth_pb2.AddUserRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.User:
        user = await self.admin.add_user(
            name=request.name,
            password=request.password,
            tenant_id=request.tenant_id,
            roles=list(request.roles),
        )
        return user_message(user)

    async def ListUsers(
        self, request: auth_pb2.ListUsersRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.ListUsersResponse:
        users = await self.admin.list_users(request.tenant_id)
        return auth_pb2.ListUsersResponse(users=[user_message(user) for user in users])

    async def DisableUser(
        self, request: auth_pb2.DisableUserRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.User:
        return user_message(await self.admin.disable_user(request.name))

    async def SetPassword(
        self, request: auth_pb2.SetPasswordRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.User:
        user = await self.admin.set_password(name=request.name, password=request.password)
        return user_message(user)

    async def AddTenant(
        self, request: auth_pb2.AddTenantRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.Tenant:
        quota = quota_from_message(request.quota) if request.HasField("quota") else None
        tenant = await self.admin.add_tenant(
            tenant_id=request.tenant_id, title=request.title, quota=quota
        )
        return tenant_message(tenant)

    async def ListTenants(
        self, request: auth_pb2.ListTenantsRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.ListTenantsResponse:
        tenants = await self.admin.list_tenants()
        return auth_pb2.ListTenantsResponse(tenants=[tenant_message(t) for t in tenants])

    async def SetTenantQuota(
        self, request: auth_pb2.SetTenantQuotaRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.Tenant:
        tenant = await self.admin.set_tenant_quota(
            tenant_id=request.tenant_id, quota=quota_from_message(request.quota)
        )
        return tenant_message(tenant)
