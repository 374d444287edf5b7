"""The pure parts of the auth service: validation rules, settings, credentials, documents."""

import json

import pydantic
import pytest

from eoplex_auth.credentials import PasswordVerifier, new_access_token, token_hash
from eoplex_auth.service import oidc_provider_documents
from eoplex_auth.settings import AuthSettings, OidcProvider
from eoplex_auth.store import Quota
from eoplex_auth.validation import (
    oidc_user_names,
    validate_name,
    validate_password,
    validate_quota,
    validate_roles,
)
from eoplex_common.errors import BadRequest
from tests.openapi_validation import validate_response


@pytest.mark.parametrize("name", ["a", "ada.lovelace", "ada@uni-x.org", "A_1", "x" * 64])
def test_valid_names(name: str) -> None:
    assert validate_name(name, what="user name") == name


@pytest.mark.parametrize("name", ["", "x" * 65, "ada lovelace", "ada/x", "ädä", "a:b"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(BadRequest, match="user name"):
        validate_name(name, what="user name")


def test_passwords_need_eight_characters() -> None:
    assert validate_password("12345678") == "12345678"
    with pytest.raises(BadRequest, match="at least 8"):
        validate_password("1234567")


def test_roles_default_to_user_and_unknown_ones_are_refused() -> None:
    assert validate_roles([]) == ["user"]
    assert validate_roles(["admin", "user", "admin"]) == ["user", "admin"]
    with pytest.raises(BadRequest, match="root"):
        validate_roles(["root"])


def test_quotas_may_not_be_negative() -> None:
    assert validate_quota(Quota(max_storage_bytes=0)) == Quota()
    with pytest.raises(BadRequest, match="max_concurrent_jobs"):
        validate_quota(Quota(max_concurrent_jobs=-1))


def test_oidc_user_names_are_valid_and_end_with_a_subject_derived_one() -> None:
    names = oidc_user_names(claimed="Bob B. <bob>", provider_id="egi", sub="123")
    assert names[:2] == ["Bob_B.__bob_", "Bob_B.__bob_@egi"]
    assert names[2].startswith("egi-")
    assert names[2] != oidc_user_names(claimed="x", provider_id="egi", sub="124")[-1]
    for name in names + oidc_user_names(claimed="y" * 200, provider_id="egi", sub="1"):
        validate_name(name, what="user name")


async def test_password_verification() -> None:
    verifier = PasswordVerifier(max_concurrent=1)
    stored = await verifier.hash("correct horse")
    assert stored.startswith("$argon2")
    assert await verifier.verify(stored, "correct horse")
    assert not await verifier.verify(stored, "wrong horse")
    # An unknown user (no hash) is verified against the dummy hash and never matches.
    assert not await verifier.verify(None, "correct horse")
    assert not await verifier.verify("not a hash", "correct horse")


def test_tokens_are_random_and_hashed() -> None:
    token = new_access_token()
    assert len(token) >= 43
    assert token != new_access_token()
    assert token_hash(token) == token_hash(token) != token
    assert len(token_hash(token)) == 64


def test_providers_come_from_json_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    providers = [
        {
            "id": "egi",
            "issuer": "https://aai.egi.eu/auth/realms/egi",
            "title": "EGI",
            "audience": "a",
        }
    ]
    monkeypatch.setenv("OPENEO_AUTH_OIDC_PROVIDERS", json.dumps(providers))
    monkeypatch.setenv("OPENEO_AUTH_TOKEN_LIFETIME_SECONDS", "60")
    settings = AuthSettings()
    assert settings.token_lifetime_seconds == 60
    assert settings.listen == "127.0.0.1:50061"
    assert settings.oidc_providers[0].audiences == ["a"]
    assert settings.oidc_providers[0].scopes == ["openid"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"audience": None}, "audience"),
        ({"id": "not valid!"}, "id"),
        ({"scopes": ["email"]}, "openid"),
    ],
)
def test_provider_configuration_is_checked(overrides: dict[str, object], message: str) -> None:
    provider = {"id": "p", "issuer": "https://p.example", "title": "P", "audience": "a"}
    with pytest.raises(pydantic.ValidationError, match=message):
        OidcProvider.model_validate({**provider, **overrides})


def test_audience_defaults_to_the_default_clients() -> None:
    provider = OidcProvider(
        id="p", issuer="https://p.example", title="P", default_clients=[{"id": "c1"}, {"id": "c2"}]
    )
    assert provider.audiences == ["c1", "c2"]


def test_provider_documents_follow_the_openeo_schema() -> None:
    provider = OidcProvider(
        id="egi",
        issuer="https://aai.egi.eu/auth/realms/egi/",
        title="EGI Check-in",
        description="Log in with your institution.",
        scopes=["openid", "email"],
        default_clients=[
            {"id": "openeo-web", "grant_types": ["authorization_code+pkce", "refresh_token"]}
        ],
    )
    documents = oidc_provider_documents([provider])
    validate_response("GET", "/credentials/oidc", 200, {"providers": documents})
    assert documents == [
        {
            "id": "egi",
            "issuer": "https://aai.egi.eu/auth/realms/egi",
            "title": "EGI Check-in",
            "description": "Log in with your institution.",
            "scopes": ["openid", "email"],
            "default_clients": [
                {
                    "id": "openeo-web",
                    "grant_types": ["authorization_code+pkce", "refresh_token"],
                    "redirect_urls": [],
                }
            ],
        }
    ]


def test_default_client_grant_types_are_those_openeo_allows() -> None:
    # client_credentials needs a secret, so openEO does not offer it for default clients.
    with pytest.raises(pydantic.ValidationError):
        OidcProvider(
            id="p",
            issuer="https://p.example",
            title="P",
            default_clients=[{"id": "c", "grant_types": ["client_credentials"]}],
        )
