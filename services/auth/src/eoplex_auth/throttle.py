"""The login throttle of `GET /credentials/basic`: which password verifications may run.

Failed logins are counted in MongoDB, so the budgets hold across auth replicas, within
one sliding window (`login_failure_window_seconds`):
- per (user name, client): the lockout a password guesser meets first. It locks only
  that pair, so failures from one address never lock the user out at another;
- per client, across user names (unknown ones included): bounds what one address can
  probe and the argon2 work it can cause;
- per user name, across clients: a brake on guessing one password from many addresses,
  set much higher than the pair's. It spares clients the user recently logged in from,
  so a distributed attacker cannot lock the user out where they usually work.
Logins of one client in flight are bounded per replica (`ClientGate`): verifications are
CPU and memory spent in this process, and a client that sends many at once would
otherwise queue ahead of everybody else.
"""

import asyncio
import ipaddress
import math
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from eoplex_auth.settings import AuthSettings
from eoplex_auth.store import AuthStore
from eoplex_common.errors import TooManyRequests

# Bounds what a client can make the service store in a login-failure record.
MAX_KEY_LENGTH = 256
# An IPv6 host picks any address of its /64 (RFC 4941), so the /64 is one client.
IPV6_CLIENT_PREFIX = 64


def client_key(client: str) -> str:
    """The client a budget applies to: an IPv4 address, an IPv6 /64 network, or the
    gateway's string as it came ("" when the gateway does not know the address)."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client[:MAX_KEY_LENGTH]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(address), IPV6_CLIENT_PREFIX), strict=False))
    return str(address)


def refusal(reason: str, seconds: float) -> TooManyRequests:
    """A 429 whose message and `Retry-After` name the same whole number of seconds."""
    whole = max(1, math.ceil(seconds))
    return TooManyRequests(f"{reason} Please try again in {whole} seconds.", seconds=whole)


class ClientGate:
    """At most `running` logins of one client at a time in this replica, and `waiting`
    more waiting for their turn (users behind one NAT logging in together); beyond
    that, refused at once. So one client never holds more than `running` places in the
    password verifier's queue, however many logins it sends."""

    def __init__(self, *, running: int, waiting: int) -> None:
        self.running = running
        self.waiting = waiting
        self._present: Counter[str] = Counter()
        self._turns: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def admit(self, client: str) -> AsyncIterator[None]:
        """Wait for one of the client's places; raises `TooManyRequests` when too many
        of its logins are already here."""
        if self._present[client] >= self.running + self.waiting:
            raise refusal("Too many logins at once from your address.", 1)
        self._present[client] += 1
        turn = self._turns.setdefault(client, asyncio.Semaphore(self.running))
        try:
            async with turn:
                yield
        finally:
            self._present[client] -= 1
            if not self._present[client]:
                del self._present[client], self._turns[client]


class LoginThrottle:
    """The failure budgets of the module docstring, and the record they are counted in."""

    def __init__(self, *, store: AuthStore, settings: AuthSettings) -> None:
        self.store = store
        self.settings = settings
        self.window = timedelta(seconds=settings.login_failure_window_seconds)
        self.gate = ClientGate(
            running=settings.login_max_concurrent_per_address,
            waiting=settings.login_max_waiting_per_address,
        )

    async def refuse_if_exhausted(self, *, username: str, client: str, now: datetime) -> None:
        """Raises `TooManyRequests`, with the seconds until a failure leaves the window,
        when a budget of `username` at `client` is used up. The pair's budget counts
        only failures since the pair's last successful login."""
        settings, since = self.settings, now - self.window
        pair = await self.store.nth_latest_login_failure(
            username=username, client=client, since=since, n=settings.login_max_failures
        )
        if pair is not None:
            last_login = await self.store.last_login(username=username, client=client, now=now)
            if last_login is None or pair >= last_login:
                reason = "Too many failed logins of this user from your address."
                raise refusal(reason, self._wait(pair, now))
        address = await self.store.nth_latest_login_failure(
            client=client, since=since, n=settings.login_max_failures_per_address
        )
        if address is not None:
            raise refusal("Too many failed logins from your address.", self._wait(address, now))
        user = await self.store.nth_latest_login_failure(
            username=username, since=since, n=settings.login_max_failures_per_user
        )
        if user is not None:
            last_login = await self.store.last_login(username=username, client=client, now=now)
            if last_login is None:
                raise refusal("Too many failed logins of this user.", self._wait(user, now))

    async def record_failure(self, *, username: str, client: str, now: datetime) -> None:
        """Count a failed login against every budget."""
        await self.store.record_login_failure(
            username=username, client=client, at=now, expires=now + self.window
        )

    async def record_success(self, *, username: str, client: str, now: datetime) -> None:
        """Remember the login: it ends the pair's lockout count, and spares the client
        the per-user brake for `login_known_address_days`."""
        retention = timedelta(days=self.settings.login_known_address_days)
        await self.store.remember_login(
            username=username, client=client, at=now, expires=now + retention
        )

    def _wait(self, nth_latest_failure: datetime, now: datetime) -> float:
        # The window slides: the budget has room again once that failure has left it.
        return (nth_latest_failure + self.window - now).total_seconds()
