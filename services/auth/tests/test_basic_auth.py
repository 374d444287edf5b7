"""Users, tenants and basic tokens through the real gRPC API, stored in the real MongoDB."""

import pytest

from eoplex_common import errors
from eoplex_proto.openeo.auth.v1 import auth_pb2
from services.auth.tests.auth_server import RunningAuth

PASSWORD = "correct horse"


async def add_user(auth: RunningAuth, name: str = "ada", tenant: str = "lab") -> auth_pb2.User:
    tenants = await auth.admin.ListTenants(auth_pb2.ListTenantsRequest())
    if tenant not in {t.tenant_id for t in tenants.tenants}:
        await auth.admin.AddTenant(auth_pb2.AddTenantRequest(tenant_id=tenant, title="Lab"))
    request = auth_pb2.AddUserRequest(name=name, password=PASSWORD, tenant_id=tenant)
    return await auth.admin.AddUser(request)


async def login(
    auth: RunningAuth, name: str = "ada", password: str = PASSWORD, client: str = "10.0.0.1"
) -> str:
    request = auth_pb2.IssueBasicTokenRequest(username=name, password=password, client=client)
    response = await auth.auth.IssueBasicToken(request)
    return str(response.access_token)


async def authenticate(auth: RunningAuth, bearer: str) -> auth_pb2.Principal:
    response = await auth.auth.Authenticate(auth_pb2.AuthenticateRequest(bearer_token=bearer))
    return response.principal


async def authenticated_quota(auth: RunningAuth, bearer: str) -> auth_pb2.TenantQuota:
    response = await auth.auth.Authenticate(auth_pb2.AuthenticateRequest(bearer_token=bearer))
    assert response.HasField("quota")
    return response.quota


async def test_token_resolves_to_the_user_and_the_tenant_quota(auth: RunningAuth) -> None:
    user = await add_user(auth)
    assert (user.name, user.tenant_id, list(user.roles), user.identity) == (
        "ada",
        "lab",
        ["user"],
        "basic",
    )
    request = auth_pb2.IssueBasicTokenRequest(username="ada", password=PASSWORD, client="c")
    issued = await auth.auth.IssueBasicToken(request)
    assert (issued.user_id, issued.expires_in_seconds) == (user.user_id, 600)
    found = await authenticate(auth, f"basic//{issued.access_token}")
    assert (found.user_id, found.tenant_id, found.name, list(found.roles)) == (
        user.user_id,
        "lab",
        "ada",
        ["user"],
    )
    quota = await auth.auth.GetTenantQuota(auth_pb2.GetTenantQuotaRequest(tenant_id="lab"))
    assert quota == auth_pb2.TenantQuota(
        max_concurrent_jobs=2, max_storage_bytes=10 * 1024**3, max_sync_pixels=100_000_000
    )
    # The token also gives the tenant's quota, so that a request needs no second call.
    assert await authenticated_quota(auth, f"basic//{issued.access_token}") == quota


async def test_a_user_whose_tenant_is_gone_authenticates_without_a_quota(
    auth: RunningAuth,
) -> None:
    await add_user(auth)
    bearer = f"basic//{await login(auth)}"
    await auth.database["tenants"].delete_one({"tenant_id": "lab"})
    response = await auth.auth.Authenticate(auth_pb2.AuthenticateRequest(bearer_token=bearer))
    assert response.principal.name == "ada"
    assert not response.HasField("quota")


async def test_tokens_are_stored_only_as_hashes(auth: RunningAuth) -> None:
    await add_user(auth)
    token = await login(auth)
    records = [document async for document in auth.database["tokens"].find({})]
    assert len(records) == 1
    assert token not in repr(records)


async def test_wrong_unknown_and_disabled_credentials_are_refused_alike(auth: RunningAuth) -> None:
    await add_user(auth)
    with pytest.raises(errors.CredentialsInvalid):
        await login(auth, password="wrong password")
    with pytest.raises(errors.CredentialsInvalid):
        await login(auth, name="nobody")
    await auth.admin.DisableUser(auth_pb2.DisableUserRequest(name="ada"))
    with pytest.raises(errors.CredentialsInvalid):
        await login(auth)


async def test_token_expires_after_its_lifetime(auth: RunningAuth) -> None:
    await add_user(auth)
    token = await login(auth)
    auth.clock.advance(599)
    await authenticate(auth, f"basic//{token}")
    auth.clock.advance(2)
    with pytest.raises(errors.TokenInvalid):
        await authenticate(auth, f"basic//{token}")


async def test_disabling_a_user_revokes_their_tokens(auth: RunningAuth) -> None:
    await add_user(auth)
    token = await login(auth)
    disabled = await auth.admin.DisableUser(auth_pb2.DisableUserRequest(name="ada"))
    assert disabled.disabled
    with pytest.raises(errors.TokenInvalid):
        await authenticate(auth, f"basic//{token}")
    assert await auth.database["tokens"].count_documents({}) == 0


async def test_setting_a_password_revokes_tokens_and_replaces_the_old_one(
    auth: RunningAuth,
) -> None:
    await add_user(auth)
    token = await login(auth)
    await auth.admin.SetPassword(auth_pb2.SetPasswordRequest(name="ada", password="new secret!"))
    with pytest.raises(errors.TokenInvalid):
        await authenticate(auth, f"basic//{token}")
    with pytest.raises(errors.CredentialsInvalid):
        await login(auth)
    assert await login(auth, password="new secret!")


async def test_failed_logins_are_rate_limited_per_user_and_client(auth: RunningAuth) -> None:
    await add_user(auth)
    for _ in range(3):
        with pytest.raises(errors.CredentialsInvalid):
            await login(auth, password="wrong password")
    with pytest.raises(errors.TooManyRequests) as refused:
        await login(auth)
    assert "300 seconds" in refused.value.message
    assert await login(auth, client="10.0.0.2")
    auth.clock.advance(301)
    assert await login(auth)


async def test_a_successful_login_resets_the_failure_count(auth: RunningAuth) -> None:
    await add_user(auth)
    for _ in range(2):
        with pytest.raises(errors.CredentialsInvalid):
            await login(auth, password="wrong password")
    auth.clock.advance(1)
    await login(auth)
    auth.clock.advance(1)
    for _ in range(2):
        with pytest.raises(errors.CredentialsInvalid):
            await login(auth, password="wrong password")
    assert await login(auth)


@pytest.mark.parametrize(
    ("bearer", "error"),
    [
        ("", errors.AuthenticationRequired),
        ("Basic YWRhOnNlY3JldA==", errors.AuthenticationSchemeInvalid),
        ("some-token", errors.AuthenticationSchemeInvalid),
        ("basic//", errors.TokenInvalid),
        ("basic//not-a-token", errors.TokenInvalid),
        ("oidc/unknown/eyJ.eyJ.sig", errors.TokenInvalid),
        ("oidc/", errors.TokenInvalid),
    ],
)
async def test_bad_bearer_tokens(auth: RunningAuth, bearer: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        await authenticate(auth, bearer)


async def test_admin_validates_its_input(auth: RunningAuth) -> None:
    await add_user(auth)
    cases = [
        (auth_pb2.AddUserRequest(name="ada", password=PASSWORD, tenant_id="lab"), "exists"),
        (auth_pb2.AddUserRequest(name="eve", password=PASSWORD, tenant_id="nope"), "nope"),
        (auth_pb2.AddUserRequest(name="eve", password="short", tenant_id="lab"), "8 characters"),
        (auth_pb2.AddUserRequest(name="e ve", password=PASSWORD, tenant_id="lab"), "invalid"),
        (
            auth_pb2.AddUserRequest(name="eve", password=PASSWORD, tenant_id="lab", roles=["god"]),
            "god",
        ),
    ]
    for request, reason in cases:
        with pytest.raises(errors.BadRequest, match=reason):
            await auth.admin.AddUser(request)
    with pytest.raises(errors.BadRequest, match="exists"):
        await auth.admin.AddTenant(auth_pb2.AddTenantRequest(tenant_id="lab"))
    negative = auth_pb2.TenantQuota(max_sync_pixels=-1)
    with pytest.raises(errors.BadRequest, match="max_sync_pixels"):
        await auth.admin.SetTenantQuota(
            auth_pb2.SetTenantQuotaRequest(tenant_id="lab", quota=negative)
        )
    with pytest.raises(errors.NotFound):
        await auth.admin.DisableUser(auth_pb2.DisableUserRequest(name="nobody"))
    with pytest.raises(errors.NotFound):
        await auth.auth.GetTenantQuota(auth_pb2.GetTenantQuotaRequest(tenant_id="nope"))


async def test_tenants_users_and_quotas_are_listed_and_changed(auth: RunningAuth) -> None:
    quota = auth_pb2.TenantQuota(max_concurrent_jobs=1, max_storage_bytes=5, max_sync_pixels=0)
    added = await auth.admin.AddTenant(
        auth_pb2.AddTenantRequest(tenant_id="school", title="A school", quota=quota)
    )
    assert added.quota == quota
    await add_user(auth, name="ada", tenant="lab")
    admin_request = auth_pb2.AddUserRequest(
        name="teacher", password=PASSWORD, tenant_id="school", roles=["admin", "user"]
    )
    assert list((await auth.admin.AddUser(admin_request)).roles) == ["user", "admin"]
    tenants = await auth.admin.ListTenants(auth_pb2.ListTenantsRequest())
    assert [t.tenant_id for t in tenants.tenants] == ["default", "lab", "school"]
    everyone = await auth.admin.ListUsers(auth_pb2.ListUsersRequest())
    assert [u.name for u in everyone.users] == ["ada", "teacher"]
    school = await auth.admin.ListUsers(auth_pb2.ListUsersRequest(tenant_id="school"))
    assert [u.name for u in school.users] == ["teacher"]
    changed = auth_pb2.TenantQuota(max_concurrent_jobs=4)
    tenant = await auth.admin.SetTenantQuota(
        auth_pb2.SetTenantQuotaRequest(tenant_id="school", quota=changed)
    )
    assert tenant.quota == changed
    assert changed == await auth.auth.GetTenantQuota(
        auth_pb2.GetTenantQuotaRequest(tenant_id="school")
    )
    # A changed quota holds from the next request on.
    bearer = f"basic//{await login(auth, name='teacher')}"
    assert await authenticated_quota(auth, bearer) == changed
