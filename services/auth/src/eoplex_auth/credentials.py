"""Password hashing (argon2) and opaque access tokens, stored only as hashes."""

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_BYTES = 32


class PasswordVerifier:
    """Argon2 hashes; verifying an unknown user costs the same as verifying a known one.

    At most `max_concurrent` hashes run at once; the others wait their turn in arrival
    order. Each takes a core and argon2's 64 MiB, so the bound keeps a flood of logins
    from exhausting the replica's memory and from starving the other calls of CPU.
    """

    def __init__(self, *, max_concurrent: int, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._running = asyncio.Semaphore(max_concurrent)
        # Hashing against this for unknown users keeps their timing equal to known ones,
        # so response times do not reveal which user names exist.
        self.dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        """The argon2 hash to store; computed off the event loop (it is CPU-bound)."""
        async with self._running:
            return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether `password` matches; `None` (no such user or no password) never matches."""
        async with self._running:
            return await asyncio.to_thread(self._verify, stored_hash, password)

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            # argon2 compares the digests in constant time.
            matched = self.hasher.verify(stored_hash or self.dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return matched and stored_hash is not None


def new_access_token() -> str:
    """An opaque, URL-safe access token with 256 bits of entropy."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The only form in which a token is stored: tokens are random, so sha256 suffices."""
    return hashlib.sha256(token.encode()).hexdigest()
