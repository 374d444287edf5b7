"""Fixtures of the auth service's tests: the service in-process, a real OIDC provider."""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from conftest import Infrastructure
from eoplex.servers import free_port, stop_process
from services.auth.tests.auth_server import RunningAuth, auth_settings, running_auth
from services.auth.tests.oidc_provider import start_oidc_provider

ALICE = {"sub": "alice-sub", "preferred_username": "alice", "tenant": "uni-a"}
BOB = {"sub": "bob-sub", "name": "Bob B."}


@dataclass(frozen=True)
class OidcProviders:
    """Two real providers: one issuing valid tokens, one whose tokens are born expired."""

    issuer: str
    expired_issuer: str


@pytest.fixture(scope="session")
def oidc_providers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProviders]:
    logs = tmp_path_factory.mktemp("oidc")
    process, issuer = start_oidc_provider(
        free_port(), log_path=logs / "oidc.log", users=[ALICE, BOB]
    )
    try:
        # A negative maximum age makes the provider sign tokens that expired 10 minutes ago.
        expired_process, expired_issuer = start_oidc_provider(
            free_port(), log_path=logs / "oidc-expired.log", token_max_age_seconds=-600
        )
    except BaseException:
        stop_process(process)
        raise
    try:
        yield OidcProviders(issuer=issuer, expired_issuer=expired_issuer)
    finally:
        stop_process(expired_process)
        stop_process(process)


@pytest.fixture
async def auth(infrastructure: Infrastructure) -> AsyncIterator[RunningAuth]:
    """The auth service without OIDC providers, a short rate-limit threshold."""
    settings = auth_settings(token_lifetime_seconds=600, login_max_failures=3)
    async with running_auth(mongodb_url=infrastructure.mongodb_url, settings=settings) as running:
        yield running
