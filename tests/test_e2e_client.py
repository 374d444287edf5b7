"""End to end: the official `openeo` client against the whole local stack.

Every JSON response the client receives from the gateway is validated against
the response schemas of the openEO API 1.2 (`openapi.yaml`).
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import openeo
import pytest
import requests
from openeo.rest import OpenEoApiError

from eoplex.stack import LocalStack
from tests.openapi_validation import validate_error, validate_response
from tests.stack import OidcIssuer

API_PREFIX = "/openeo/1.2"


class SchemaChecker:
    """A `requests` response hook validating every JSON body the client receives."""

    def __init__(self) -> None:
        self.checked: list[str] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if not response.headers.get("Content-Type", "").startswith("application/json"):
            return
        path = urlsplit(response.url).path
        template = path if path.startswith("/.well-known") else path.removeprefix(API_PREFIX)
        body = response.json()
        if response.status_code >= 400:
            validate_error(body)
        else:
            method = response.request.method or "GET"
            validate_response(method, template or "/", response.status_code, body)
        self.checked.append(f"{response.status_code} {template or '/'}")


@pytest.fixture
def checker() -> SchemaChecker:
    return SchemaChecker()


def connect(stack: LocalStack, checker: SchemaChecker) -> openeo.Connection:
    connection = openeo.connect(stack.api_url)
    connection.session.hooks["response"].append(checker)
    return connection


def test_discovery_and_basic_auth(local_stack: LocalStack, checker: SchemaChecker) -> None:
    connection = connect(local_stack, checker)
    assert connection.capabilities().api_version() == "1.2.0"
    connection.authenticate_basic(local_stack.demo_user, local_stack.demo_password)
    account = connection.describe_account()
    assert account["name"] == "demo"
    assert account["storage"]["quota"] >= account["storage"]["free"] >= 0
    assert set(connection.list_file_formats()["output"]) == {
        "GTiff",
        "netCDF",
        "JSON",
        "PNG",
        "GeoJSON",
        "CSV",
        "Parquet",
    }
    assert {"200 /", "200 /credentials/basic", "200 /me", "200 /file_formats"} <= set(
        checker.checked
    )


def test_well_known_discovery_finds_the_versioned_api(
    local_stack: LocalStack, checker: SchemaChecker
) -> None:
    root = local_stack.api_url.removesuffix(API_PREFIX + "/")
    connection = openeo.connect(root)
    assert connection.root_url.rstrip("/") == local_stack.api_url.rstrip("/")
    response = requests.get(local_stack.well_known_url, hooks={"response": checker}, timeout=10)
    assert response.json()["versions"][0]["api_version"] == "1.2.0"
    assert "200 /.well-known/openeo" in checker.checked


def test_wrong_password_is_an_openeo_error(local_stack: LocalStack, checker: SchemaChecker) -> None:
    connection = connect(local_stack, checker)
    with pytest.raises(OpenEoApiError) as raised:
        connection.authenticate_basic(local_stack.demo_user, "not-the-password")
    assert (raised.value.http_status_code, raised.value.code) == (403, "CredentialsInvalid")
    assert "403 /credentials/basic" in checker.checked


def test_oidc_client_credentials(
    local_stack: LocalStack, oidc_issuer: OidcIssuer, checker: SchemaChecker
) -> None:
    connection = connect(local_stack, checker)
    connection.authenticate_oidc_client_credentials(
        client_id=oidc_issuer.client_id,
        client_secret=oidc_issuer.client_secret,
        provider_id=oidc_issuer.provider_id,
    )
    account = connection.describe_account()
    assert account["name"] == f"service-{oidc_issuer.client_id}"
    assert account["user_id"]
    assert {"200 /credentials/oidc", "200 /me"} <= set(checker.checked)


@pytest.mark.parametrize(
    ("authorization", "status", "code"),
    [
        (None, 401, "AuthenticationRequired"),
        ("Basic ZGVtbzpkZW1v", 403, "AuthenticationSchemeInvalid"),
        ("Bearer basic//not-a-token", 403, "TokenInvalid"),
        ("Bearer oidc/testidp/not.a.jwt", 403, "TokenInvalid"),
        ("Bearer oidc/unknown-provider/abc", 403, "TokenInvalid"),
    ],
)
def test_bad_credentials_on_me(
    local_stack: LocalStack, authorization: str | None, status: int, code: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.get(f"{local_stack.api_url}me", headers=headers, timeout=10)
    assert (response.status_code, response.json()["code"]) == (status, code)
    validate_error(response.json())


def test_operator_adds_a_user_who_can_log_in(local_stack: LocalStack) -> None:
    env = {**os.environ, **local_stack.env}
    admin = [sys.executable, "-m", "eoplex", "admin"]
    subprocess.run(
        [*admin, "users", "add", "alice", "--tenant", "demo", "--password", "alice-secret-1"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    listing = subprocess.run(
        [*admin, "users", "list", "--json"], env=env, check=True, capture_output=True, timeout=60
    )
    assert b'"alice"' in listing.stdout
    connection = openeo.connect(local_stack.api_url)
    connection.authenticate_basic("alice", "alice-secret-1")
    assert connection.describe_account()["name"] == "alice"


@pytest.fixture
def demo_token(local_stack: LocalStack) -> Iterator[str]:
    response = requests.get(
        f"{local_stack.api_url}credentials/basic",
        auth=(local_stack.demo_user, local_stack.demo_password),
        timeout=10,
    )
    yield response.json()["access_token"]


def test_stopped_service_gives_503_then_recovers(local_stack: LocalStack, demo_token: str) -> None:
    headers = {"Authorization": f"Bearer basic//{demo_token}"}
    me = f"{local_stack.api_url}me"
    assert requests.get(me, headers=headers, timeout=10).status_code == 200

    local_stack.kill("auth")
    response = requests.get(me, headers=headers, timeout=30)
    assert (response.status_code, response.json()["code"]) == (503, "ServiceUnavailable")
    validate_error(response.json())
    health = requests.get(f"{local_stack.api_url}health", timeout=30)
    assert health.status_code == 503
    assert {"name": "auth", "status": "unavailable"}.items() <= next(
        c for c in health.json()["components"] if c["name"] == "auth"
    ).items()

    local_stack.wait_until_ready("auth")
    deadline = time.monotonic() + 30
    while (status := requests.get(me, headers=headers, timeout=10).status_code) == 503:
        assert time.monotonic() < deadline, "the gateway did not recover after the restart"
        time.sleep(0.2)
    assert status == 200
    assert requests.get(f"{local_stack.api_url}health", timeout=30).status_code == 200
