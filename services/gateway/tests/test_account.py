"""Authentication, `/credentials/*` and `/me`, against test auth and files servers."""

import httpx
import pytest

from tests.openapi_validation import validate_error, validate_response

from .conftest import PROVIDERS, QUOTA_BYTES, USED_BYTES, Bearer, Stack, basic

API = "/openeo/1.2"


async def test_basic_login_then_me(client: httpx.AsyncClient) -> None:
    login = await client.get(f"{API}/credentials/basic", headers=basic("alice", "secret"))
    assert login.status_code == 200
    validate_response("GET", "/credentials/basic", 200, login.json())
    assert login.json() == {"access_token": "tok-alice"}
    bearer = {"Authorization": f"Bearer basic//{login.json()['access_token']}"}
    me = await client.get(f"{API}/me", headers=bearer)
    assert me.status_code == 200
    validate_response("GET", "/me", 200, me.json())
    assert me.json() == {
        "user_id": "alice",
        "name": "Alice",
        "roles": ["user"],
        "storage": {"free": QUOTA_BYTES - USED_BYTES, "quota": QUOTA_BYTES},
        "budget": None,
        "links": [],
    }


async def test_unlimited_storage_is_null(client: httpx.AsyncClient, bearer: Bearer) -> None:
    me = await client.get(f"{API}/me", headers=bearer("bob"))
    validate_response("GET", "/me", 200, me.json())
    assert me.json()["storage"] is None


async def test_wrong_password_is_credentials_invalid(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/credentials/basic", headers=basic("alice", "wrong"))
    assert response.status_code == 403
    validate_response("GET", "/credentials/basic", 403, response.json())
    assert response.json()["code"] == "CredentialsInvalid"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic !!!not-base64"}, {"Authorization": "Basic bm9jb2xvbg=="}],
    ids=["missing", "not-base64", "no-colon"],
)
async def test_basic_login_without_credentials_asks_for_basic(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(f"{API}/credentials/basic", headers=headers)
    assert response.status_code == 401
    validate_response("GET", "/credentials/basic", 401, response.json())
    assert response.json()["code"] == "AuthenticationRequired"
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


async def test_oidc_providers(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/credentials/oidc")
    assert response.status_code == 200
    validate_response("GET", "/credentials/oidc", 200, response.json())
    assert response.json() == {"providers": PROVIDERS}


async def test_without_oidc_providers_the_endpoint_is_unsupported_and_unlisted(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    stack.auth.providers = []
    response = await client.get(f"{API}/credentials/oidc")
    assert (response.status_code, response.json()["code"]) == (501, "FeatureUnsupported")
    validate_error(response.json())
    capabilities = (await client.get(f"{API}/")).json()
    assert "/credentials/oidc" not in {endpoint["path"] for endpoint in capabilities["endpoints"]}
    assert "/credentials/basic" in {endpoint["path"] for endpoint in capabilities["endpoints"]}


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "AuthenticationRequired"),
        ({"Authorization": "Basic YWxpY2U6c2VjcmV0"}, 403, "AuthenticationSchemeInvalid"),
        ({"Authorization": "Bearer basic//forged"}, 403, "TokenInvalid"),
        ({"Authorization": "Bearer "}, 401, "AuthenticationRequired"),
    ],
    ids=["missing", "basic-scheme", "bad-token", "empty-token"],
)
async def test_me_requires_a_valid_bearer_token(
    client: httpx.AsyncClient, headers: dict[str, str], status: int, code: str
) -> None:
    response = await client.get(f"{API}/me", headers=headers)
    assert response.status_code == status
    validate_response("GET", "/me", status, response.json())
    assert response.json()["code"] == code
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")


@pytest.mark.parametrize("service", ["auth", "files"])
async def test_a_stopped_service_is_service_unavailable(
    stack: Stack, client: httpx.AsyncClient, bearer: Bearer, service: str
) -> None:
    await stack.servers[service].stop()
    response = await client.get(f"{API}/me", headers=bearer("alice"))
    assert response.status_code == 503
    validate_response("GET", "/me", 503, response.json())
    assert response.json()["code"] == "ServiceUnavailable"
    assert response.headers["Retry-After"] == "5"
