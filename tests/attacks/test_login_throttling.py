"""Attacks of issue 13, Medium "Login throttling", end to end through the whole local stack.

The attacks: logins (`GET /credentials/basic`) with many unknown user names were never
throttled (279 in 30 s, none refused) and slowed a real login from 0.14 s to 2.4 s;
anyone sharing a client's address could lock a user out for 5 minutes with 5 bad
logins; a 429 carried no `Retry-After`. Behind a proxy, the client address must come
from `X-Forwarded-For` only when the gateway trusts the proxy, and then from the entry
the proxy added, not from one the client wrote.

Each attacker and victim speaks from an address of its own in 127.0.0.0/8 (Linux routes
all of it to loopback), so that the other tests of the session, which log in from
127.0.0.1, keep their budgets.
"""

import asyncio
import secrets
from collections.abc import Iterator

import httpx
import pytest

from eoplex.stack import LocalStack, api_url
from tests.openapi_validation import validate_error
from tests.stack import another_gateway
from tests.test_e2e_files import new_user

# More attempts than any default budget of one address or one (user, address) pair.
ATTEMPTS = 60
TIMEOUT_SECONDS = 60.0


def client_at(api: str, address: str) -> httpx.Client:
    """An HTTP client whose connections come from `address`."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=api, transport=transport, timeout=TIMEOUT_SECONDS)


def login(
    client: httpx.Client, name: str, password: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return client.get("credentials/basic", auth=(name, password), headers=headers)


def assert_throttled(response: httpx.Response) -> None:
    """A 429 as the spec's error body, with a delay in whole seconds to retry after."""
    assert response.status_code == 429, response.text
    validate_error(response.json())
    assert response.json()["code"] == "TooManyRequests"
    retry_after = response.headers.get("Retry-After", "")
    assert retry_after.isdigit(), f"Retry-After {retry_after!r}"
    assert 1 <= int(retry_after) <= 3600


def bad_logins_until_refused(
    client: httpx.Client, name: str, headers: Iterator[dict[str, str]] | None = None
) -> list[int]:
    """Wrong passwords for `name` until one is refused with 429; the statuses seen."""
    statuses = []
    for _ in range(ATTEMPTS):
        response = login(client, name, "wrong password", next(headers) if headers else None)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert_throttled(response)
            break
        assert response.status_code == 403, response.text
    return statuses


def test_logins_with_many_unknown_user_names_from_one_address_are_refused_with_429(
    local_stack: LocalStack,
) -> None:
    """Replays: 279 logins with unknown user names in 30 s, none refused."""
    with client_at(local_stack.api_url, "127.0.13.1") as attacker:
        statuses = [
            login(attacker, f"nobody-{index}-{secrets.token_hex(4)}", "guess").status_code
            for index in range(ATTEMPTS)
        ]
        assert 429 in statuses, f"{len(statuses)} logins with unknown names, none refused"
        refused_from = statuses.index(429)
        assert set(statuses[:refused_from]) == {403}
        assert set(statuses[refused_from:]) == {429}
        assert_throttled(login(attacker, "nobody-else", "guess"))


async def test_a_flood_of_concurrent_unknown_names_costs_a_bounded_number_of_verifications(
    local_stack: LocalStack,
) -> None:
    """Replays: a flood of logins with unknown user names from one client, each one an
    argon2 verification, that slowed a real login from 0.14 s to 2.4 s. Each 403 is a
    verification done; the flood must get few of them, and a real login from another
    address must still succeed meanwhile."""
    user = new_user(local_stack)
    transport = httpx.AsyncHTTPTransport(local_address="127.0.13.2")
    async with httpx.AsyncClient(
        base_url=local_stack.api_url, transport=transport, timeout=TIMEOUT_SECONDS
    ) as attacker:

        async def attempt(index: int) -> httpx.Response:
            name = f"flood-{index}-{secrets.token_hex(4)}"
            return await attacker.get("credentials/basic", auth=(name, "guess"))

        flood = asyncio.gather(*(attempt(index) for index in range(ATTEMPTS)))
        with client_at(local_stack.api_url, "127.0.13.3") as victim:
            real = await asyncio.to_thread(login, victim, *user)
        answers = await flood
    assert real.status_code == 200, real.text
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {403, 429}
    for answer in answers:
        if answer.status_code == 429:
            assert_throttled(answer)
    verified = statuses.count(403)
    assert verified <= ATTEMPTS // 2, f"{verified} of {ATTEMPTS} flooding logins verified"


def test_every_429_of_a_login_carries_retry_after_in_seconds(local_stack: LocalStack) -> None:
    """Replays: bad logins until a 429, which came without `Retry-After`."""
    name, _ = new_user(local_stack)
    with client_at(local_stack.api_url, "127.0.13.4") as attacker:
        statuses = bad_logins_until_refused(attacker, name)
    assert statuses[-1] == 429, f"{len(statuses)} bad logins, none refused"


def test_a_third_party_at_another_address_cannot_lock_a_user_out(
    local_stack: LocalStack,
) -> None:
    """Replays: 5 bad logins by someone else locked the user out for 5 minutes. The
    attacker's own (user, address) pair is locked; the user at another address is not."""
    name, password = new_user(local_stack)
    with client_at(local_stack.api_url, "127.0.13.5") as attacker:
        assert bad_logins_until_refused(attacker, name)[-1] == 429
        assert_throttled(login(attacker, name, password))
    with client_at(local_stack.api_url, "127.0.13.6") as victim:
        response = login(victim, name, password)
    assert response.status_code == 200, response.text


def forged_forwarded_for() -> Iterator[dict[str, str]]:
    """An `X-Forwarded-For` naming a new address on every request."""
    while True:
        yield {"X-Forwarded-For": f"198.51.100.{secrets.randbelow(254) + 1}"}


def test_a_forged_x_forwarded_for_does_not_give_a_client_a_fresh_address(
    local_stack: LocalStack,
) -> None:
    """Replays: bad logins, each claiming another address in `X-Forwarded-For`, against a
    gateway that is not configured to trust a proxy (the default): the header is ignored."""
    name, password = new_user(local_stack)
    with client_at(local_stack.api_url, "127.0.13.7") as attacker:
        statuses = bad_logins_until_refused(attacker, name, forged_forwarded_for())
    assert statuses[-1] == 429, f"{len(statuses)} bad logins with forged addresses, none refused"
    with client_at(local_stack.api_url, "127.0.13.8") as victim:
        assert login(victim, name, password).status_code == 200


@pytest.fixture(scope="module")
def proxied_gateway(local_stack: LocalStack) -> Iterator[str]:
    """A second gateway on the stack's services, configured to trust a proxy's headers."""
    trusting = {"OPENEO_GATEWAY_TRUST_PROXY_HEADERS": "true"}
    log = local_stack.log_dir / "gateway-behind-proxy.log"
    name = "gateway-behind-proxy"
    with another_gateway(local_stack, name, env=trusting, log_path=log) as (port, _):
        yield api_url(port)


def appended_by_proxy(client_address: str) -> Iterator[dict[str, str]]:
    """What a proxy that appends the address it saw (nginx `$proxy_add_x_forwarded_for`,
    ingress-nginx `compute-full-forwarded-for`) sends for a client that forges a new
    `X-Forwarded-For` on every request."""
    for forged in forged_forwarded_for():
        yield {"X-Forwarded-For": f"{forged['X-Forwarded-For']}, {client_address}"}


def test_behind_a_trusted_proxy_a_client_cannot_pick_its_address_with_x_forwarded_for(
    proxied_gateway: str, local_stack: LocalStack
) -> None:
    """Replays: bad logins through a trusted, appending proxy, each with a forged
    left-most `X-Forwarded-For` entry. The address is the one the proxy added."""
    name, password = new_user(local_stack)
    with client_at(proxied_gateway, "127.0.13.9") as proxy:
        statuses = bad_logins_until_refused(proxy, name, appended_by_proxy("203.0.113.7"))
        assert statuses[-1] == 429, f"{len(statuses)} bad logins with forged entries, none refused"
        other_client = next(appended_by_proxy("203.0.113.8"))
        assert login(proxy, name, password, other_client).status_code == 200
