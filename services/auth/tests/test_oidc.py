"""OpenID Connect bearer tokens from a real provider process (oidc-provider-mock) on loopback."""

import json
import time
from collections.abc import AsyncIterator
from urllib.parse import urlparse

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import Infrastructure
from eoplex.servers import free_port
from eoplex_common import errors
from eoplex_proto.openeo.auth.v1 import auth_pb2
from services.auth.tests.auth_server import RunningAuth, auth_settings, running_auth
from services.auth.tests.conftest import OidcProviders
from services.auth.tests.oidc_provider import obtain_tokens

CLIENT = {"id": "openeo", "grant_types": ["authorization_code+pkce"], "redirect_urls": []}


@pytest.fixture
async def auth(
    infrastructure: Infrastructure, oidc_providers: OidcProviders
) -> AsyncIterator[RunningAuth]:
    """The auth service trusting the mock provider under several configurations."""
    issuer = oidc_providers.issuer
    providers = [
        {
            "id": "mock",
            "issuer": issuer,
            "title": "Mock provider",
            "scopes": ["openid", "profile"],
            "default_clients": [CLIENT],
            "tenant_claim": "tenant",
            "default_tenant": "guests",
        },
        {"id": "strict", "issuer": issuer, "title": "Other audience", "audience": "other-app"},
        {
            "id": "opaque",
            "issuer": issuer,
            "title": "Opaque tokens",
            "audience": "openeo",
            "accept_opaque_tokens": True,
        },
        {
            "id": "expired",
            "issuer": oidc_providers.expired_issuer,
            "title": "Tokens born expired",
            "audience": "openeo",
        },
        {"id": "down", "issuer": f"http://127.0.0.1:{free_port()}", "title": "D", "audience": "x"},
    ]
    settings = auth_settings(oidc_providers=providers)
    async with running_auth(mongodb_url=infrastructure.mongodb_url, settings=settings) as running:
        yield running


async def authenticate(auth: RunningAuth, bearer: str) -> auth_pb2.Principal:
    response = await auth.auth.Authenticate(auth_pb2.AuthenticateRequest(bearer_token=bearer))
    return response.principal


def id_token(issuer: str, sub: str, **options: str) -> str:
    return str(obtain_tokens(issuer, client_id="openeo", sub=sub, **options)["id_token"])


def forged_token(issuer: str, *, kid: str | None) -> str:
    """A well-formed token for alice, signed by a key the provider never had."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": issuer, "aud": "openeo", "sub": "alice-sub", "iat": now, "exp": now + 300}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid} if kid else None)


async def test_first_use_provisions_the_user_into_the_claimed_tenant(
    auth: RunningAuth, oidc_providers: OidcProviders
) -> None:
    token = id_token(oidc_providers.issuer, "alice-sub")
    first = await authenticate(auth, f"oidc/mock/{token}")
    assert (first.name, first.tenant_id, list(first.roles)) == ("alice", "uni-a", ["user"])
    again = await authenticate(auth, f"oidc/mock/{id_token(oidc_providers.issuer, 'alice-sub')}")
    assert again == first
    users = await auth.admin.ListUsers(auth_pb2.ListUsersRequest(tenant_id="uni-a"))
    assert [(u.name, u.identity) for u in users.users] == [("alice", "oidc/mock")]
    quota = await auth.auth.GetTenantQuota(auth_pb2.GetTenantQuotaRequest(tenant_id="uni-a"))
    assert quota.max_concurrent_jobs == 2


async def test_without_tenant_claim_the_provider_default_tenant_and_name_fallback_apply(
    auth: RunningAuth, oidc_providers: OidcProviders
) -> None:
    # Bob has no preferred_username: his "name" claim is used, made a valid user name.
    bob = await authenticate(auth, f"oidc/mock/{id_token(oidc_providers.issuer, 'bob-sub')}")
    assert (bob.name, bob.tenant_id) == ("Bob_B.", "guests")


async def test_a_taken_name_gets_the_provider_appended(
    auth: RunningAuth, oidc_providers: OidcProviders
) -> None:
    await auth.admin.AddUser(
        auth_pb2.AddUserRequest(name="alice", password="long enough", tenant_id="default")
    )
    alice = await authenticate(auth, f"oidc/mock/{id_token(oidc_providers.issuer, 'alice-sub')}")
    assert alice.name == "alice@mock"


async def test_a_disabled_oidc_user_is_refused(
    auth: RunningAuth, oidc_providers: OidcProviders
) -> None:
    token = id_token(oidc_providers.issuer, "alice-sub")
    await authenticate(auth, f"oidc/mock/{token}")
    await auth.admin.DisableUser(auth_pb2.DisableUserRequest(name="alice"))
    with pytest.raises(errors.TokenInvalid):
        await authenticate(auth, f"oidc/mock/{token}")


async def test_invalid_tokens_are_refused(auth: RunningAuth, oidc_providers: OidcProviders) -> None:
    issuer = oidc_providers.issuer
    async with httpx.AsyncClient() as http:
        kid = (await http.get(f"{issuer}/jwks")).json()["keys"][0]["kid"]
    other_host = f"localhost:{urlparse(issuer).port}"
    opaque = obtain_tokens(issuer, client_id="openeo", sub="alice-sub")["access_token"]
    bad = {
        "forged with the provider's kid": f"oidc/mock/{forged_token(issuer, kid=kid)}",
        "forged with an unknown kid": f"oidc/mock/{forged_token(issuer, kid='rotated?')}",
        "wrong issuer": f"oidc/mock/{id_token(issuer, 'alice-sub', host=other_host)}",
        "wrong audience": f"oidc/strict/{id_token(issuer, 'alice-sub')}",
        "expired": f"oidc/expired/{id_token(oidc_providers.expired_issuer, 'alice-sub')}",
        "opaque, not accepted": f"oidc/mock/{opaque}",
        "opaque, unknown to the provider": "oidc/opaque/not-a-token-the-provider-issued",
        "garbage": "oidc/mock/a.b.c",
        "unknown provider": f"oidc/nope/{id_token(issuer, 'alice-sub')}",
    }
    for case, bearer in bad.items():
        with pytest.raises(errors.TokenInvalid):
            await authenticate(auth, bearer)
            pytest.fail(f"accepted: {case}")
    users = await auth.admin.ListUsers(auth_pb2.ListUsersRequest())
    assert list(users.users) == []


async def test_opaque_access_tokens_are_checked_at_userinfo_when_allowed(
    auth: RunningAuth, oidc_providers: OidcProviders
) -> None:
    tokens = obtain_tokens(oidc_providers.issuer, client_id="openeo", sub="alice-sub")
    alice = await authenticate(auth, f"oidc/opaque/{tokens['access_token']}")
    assert (alice.name, alice.tenant_id) == ("alice", "default")


async def test_an_unreachable_provider_is_unavailable_not_invalid(auth: RunningAuth) -> None:
    with pytest.raises(errors.ServiceUnavailable, match="oidc provider down"):
        await authenticate(auth, f"oidc/down/{forged_token('http://x', kid=None)}")


async def test_providers_are_listed_as_openeo_documents(
    auth: RunningAuth, oidc_providers: OidcProviders
) -> None:
    response = await auth.auth.ListOidcProviders(auth_pb2.ListOidcProvidersRequest())
    providers = json.loads(response.providers_json)
    assert [p["id"] for p in providers] == ["mock", "strict", "opaque", "expired", "down"]
    assert providers[0] == {
        "id": "mock",
        "issuer": oidc_providers.issuer,
        "title": "Mock provider",
        "scopes": ["openid", "profile"],
        "default_clients": [CLIENT],
    }
    assert providers[1] == {
        "id": "strict",
        "issuer": oidc_providers.issuer,
        "title": "Other audience",
        "scopes": ["openid"],
    }
