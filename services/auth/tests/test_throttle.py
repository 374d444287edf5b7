"""The login throttle: budgets per address, per (user, address) and per user, through the
real gRPC API and MongoDB; the per-client gate and the verifier's bound in-process."""

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from argon2 import PasswordHasher

from conftest import Infrastructure
from eoplex_auth.credentials import PasswordVerifier
from eoplex_auth.throttle import ClientGate, client_key
from eoplex_common import errors
from services.auth.tests.auth_server import RunningAuth, auth_settings, running_auth
from services.auth.tests.test_basic_auth import PASSWORD, add_user, login


@pytest.fixture
async def auth(infrastructure: Infrastructure) -> AsyncIterator[RunningAuth]:
    """Small budgets: 2 failures per pair, 4 per address, 6 per user, in 300 s."""
    settings = auth_settings(
        login_max_failures=2, login_max_failures_per_address=4, login_max_failures_per_user=6
    )
    async with running_auth(mongodb_url=infrastructure.mongodb_url, settings=settings) as running:
        yield running


async def fail(auth: RunningAuth, name: str, client: str) -> None:
    with pytest.raises(errors.CredentialsInvalid):
        await login(auth, name=name, password="wrong password", client=client)


async def fail_from_three_new_addresses(auth: RunningAuth, name: str) -> None:
    """Two failures from each of three addresses: the six failures of the user's budget."""
    for client in ("10.0.1.1", "10.0.1.2", "10.0.1.3"):
        for _ in range(2):
            await fail(auth, name, client)


@pytest.mark.parametrize(
    ("client", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("", ""),
        ("not an address", "not an address"),
        ("x" * 1000, "x" * 256),
    ],
)
def test_a_client_is_an_ipv4_address_or_an_ipv6_64(client: str, key: str) -> None:
    assert client_key(client) == key


async def test_unknown_names_exhaust_the_budget_of_their_address(auth: RunningAuth) -> None:
    await add_user(auth)
    for index in range(4):
        await fail(auth, f"nobody-{index}", "10.0.0.1")
    with pytest.raises(errors.TooManyRequests, match="from your address") as refused:
        await login(auth, name="ada", client="10.0.0.1")
    assert refused.value.headers == {"Retry-After": "300"}
    assert await login(auth, name="ada", client="10.0.0.2")
    auth.clock.advance(301)
    assert await login(auth, name="ada", client="10.0.0.1")


async def test_an_ipv6_client_cannot_escape_its_budget_by_changing_address(
    auth: RunningAuth,
) -> None:
    for index in range(4):
        await fail(auth, f"nobody-{index}", f"2001:db8::{index + 1}")
    with pytest.raises(errors.TooManyRequests):
        await login(auth, name="nobody", client="2001:db8::ffff")


async def test_the_retry_delay_counts_from_the_failure_that_used_the_budget_up(
    auth: RunningAuth,
) -> None:
    await add_user(auth)
    await fail(auth, "ada", "10.0.0.1")
    auth.clock.advance(100)
    await fail(auth, "ada", "10.0.0.1")
    auth.clock.advance(50)
    with pytest.raises(errors.TooManyRequests) as refused:
        await login(auth, name="ada", client="10.0.0.1")
    assert refused.value.headers == {"Retry-After": "150"}
    assert "150 seconds" in refused.value.message


async def test_guessing_from_many_addresses_is_braked_but_spares_known_addresses(
    auth: RunningAuth,
) -> None:
    await add_user(auth)
    assert await login(auth, name="ada", client="10.0.0.1")
    await fail_from_three_new_addresses(auth, "ada")
    with pytest.raises(errors.TooManyRequests, match="of this user"):
        await login(auth, name="ada", client="10.0.2.1")
    assert await login(auth, name="ada", client="10.0.0.1")
    auth.clock.advance(301)
    assert await login(auth, name="ada", client="10.0.2.1")


async def test_the_brake_forgets_addresses_after_the_known_address_days(
    auth: RunningAuth,
) -> None:
    await add_user(auth)
    assert await login(auth, name="ada", client="10.0.0.1")
    auth.clock.advance(31 * 86400)
    await fail_from_three_new_addresses(auth, "ada")
    with pytest.raises(errors.TooManyRequests, match="of this user"):
        await login(auth, name="ada", client="10.0.0.1")


async def test_a_successful_login_does_not_wash_failures_off_its_address(
    auth: RunningAuth,
) -> None:
    await add_user(auth)
    for _ in range(2):
        await fail(auth, "ada", "10.0.0.1")
        auth.clock.advance(1)
        assert await login(auth, name="ada", client="10.0.0.1")
        auth.clock.advance(1)
    for index in range(2):
        await fail(auth, f"nobody-{index}", "10.0.0.1")
    with pytest.raises(errors.TooManyRequests, match="failed logins from your address"):
        await login(auth, name="ada", client="10.0.0.1")


async def test_a_known_address_still_meets_the_lockout_of_its_own_pair(
    auth: RunningAuth,
) -> None:
    await add_user(auth)
    assert await login(auth, name="ada", client="10.0.0.1")
    auth.clock.advance(1)
    for _ in range(2):
        await fail(auth, "ada", "10.0.0.1")
    with pytest.raises(errors.TooManyRequests, match="of this user from your address"):
        await login(auth, name="ada", password=PASSWORD, client="10.0.0.1")


async def test_the_gate_lets_a_client_wait_its_turn_then_refuses_it() -> None:
    gate = ClientGate(running=1, waiting=1)
    order: list[str] = []
    release = asyncio.Event()

    async def login(name: str, client: str) -> None:
        async with gate.admit(client):
            order.append(name)
            await release.wait()

    first = asyncio.create_task(login("a1", "a"))
    second = asyncio.create_task(login("a2", "a"))
    other = asyncio.create_task(login("b1", "b"))
    await asyncio.sleep(0)
    assert order == ["a1", "b1"]
    with pytest.raises(errors.TooManyRequests) as refused:
        async with gate.admit("a"):
            pass
    assert refused.value.headers == {"Retry-After": "1"}
    release.set()
    await asyncio.gather(first, second, other)
    assert order == ["a1", "b1", "a2"]
    async with gate.admit("a"), gate.admit("b"):
        pass


class CountingHasher(PasswordHasher):
    """argon2, counting how many verifications run at the same time."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Any:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            return super().verify(hash, password)
        finally:
            with self.lock:
                self.running -= 1


async def test_verifications_beyond_the_bound_wait_their_turn() -> None:
    hasher = CountingHasher()
    verifier = PasswordVerifier(max_concurrent=2, hasher=hasher)
    stored = await verifier.hash(PASSWORD)
    results = await asyncio.gather(*(verifier.verify(stored, "guess") for _ in range(8)))
    assert results == [False] * 8
    assert hasher.most <= 2
