"""The auth service's logic, free of transport code: tokens, principals, accounts, quotas."""

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from eoplex_auth.credentials import PasswordVerifier, new_access_token, token_hash
from eoplex_auth.oidc import OidcVerifier
from eoplex_auth.settings import AuthSettings, OidcProvider
from eoplex_auth.store import AuthStore, Quota, Tenant, User
from eoplex_auth.throttle import MAX_KEY_LENGTH, LoginThrottle, client_key
from eoplex_auth.validation import NAME_PATTERN, oidc_user_names
from eoplex_common.errors import (
    AuthenticationRequired,
    AuthenticationSchemeInvalid,
    CredentialsInvalid,
    Internal,
    NotFound,
    TokenInvalid,
)

log = logging.getLogger(__name__)

BASIC_PREFIX = "basic//"
OIDC_PREFIX = "oidc/"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


def new_id() -> str:
    """An opaque, unguessable id for users."""
    return secrets.token_hex(16)


def default_quota(settings: AuthSettings) -> Quota:
    """The quota a tenant gets unless an operator sets another one."""
    return Quota(
        max_concurrent_jobs=settings.default_max_concurrent_jobs,
        max_storage_bytes=settings.default_max_storage_bytes,
        max_sync_pixels=settings.default_max_sync_pixels,
    )


def oidc_provider_documents(providers: list[OidcProvider]) -> list[dict[str, Any]]:
    """The `providers` array of GET /credentials/oidc."""
    documents = []
    for provider in providers:
        document: dict[str, Any] = {
            "id": provider.id,
            "issuer": provider.issuer.rstrip("/"),
            "title": provider.title,
            "scopes": provider.scopes,
        }
        if provider.description:
            document["description"] = provider.description
        if provider.default_clients:
            document["default_clients"] = [
                client.model_dump() for client in provider.default_clients
            ]
        documents.append(document)
    return documents


@dataclass(frozen=True)
class IssuedToken:
    """A fresh basic access token (without the "basic//" prefix) for `user`."""

    access_token: str
    expires_in_seconds: int
    user: User


class AuthService:
    """Logins, bearer tokens and accounts: /credentials/basic, /credentials/oidc, /me."""

    def __init__(
        self,
        *,
        store: AuthStore,
        settings: AuthSettings,
        passwords: PasswordVerifier,
        throttle: LoginThrottle,
        oidc: OidcVerifier,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.settings = settings
        self.passwords = passwords
        self.throttle = throttle
        self.oidc = oidc
        self.clock = clock

    async def issue_basic_token(self, *, username: str, password: str, client: str) -> IssuedToken:
        """GET /credentials/basic from the client address `client`. Raises
        `CredentialsInvalid` for a wrong password, an unknown or disabled user (each one
        verified, at the same cost), and `TooManyRequests` when the login throttle
        refuses the attempt before any verification."""
        key = {"username": username[:MAX_KEY_LENGTH], "client": client_key(client)}
        async with self.throttle.gate.admit(key["client"]):
            await self.throttle.refuse_if_exhausted(now=self.clock(), **key)
            user = await self.store.get_user_by_name(username)
            stored_hash = user.password_hash if user else None
            matched = await self.passwords.verify(stored_hash, password)
            if user is None or not matched or user.disabled:
                await self.throttle.record_failure(now=self.clock(), **key)
                raise CredentialsInvalid()
            await self.throttle.record_success(now=self.clock(), **key)
        token = new_access_token()
        lifetime = self.settings.token_lifetime_seconds
        expires = self.clock() + timedelta(seconds=lifetime)
        await self.store.insert_token(token_hash=token_hash(token), user=user, expires=expires)
        return IssuedToken(access_token=token, expires_in_seconds=lifetime, user=user)

    async def authenticate(self, bearer_token: str) -> tuple[User, Quota | None]:
        """Resolve the bearer token of any authenticated openEO request to its user and the
        quota of their tenant (None if the tenant does not exist), so that the request
        needs no second call for its limits.

        Raises `AuthenticationRequired` (no token), `AuthenticationSchemeInvalid` (neither
        "basic//" nor "oidc/"), `TokenInvalid` (unknown, expired, revoked, forged, unknown
        provider, disabled user), `ServiceUnavailable` (OIDC provider unreachable).
        """
        user = await self._token_user(bearer_token)
        tenant = await self.store.get_tenant(user.tenant_id)
        return user, tenant.quota if tenant else None

    async def _token_user(self, bearer_token: str) -> User:
        if not bearer_token:
            raise AuthenticationRequired()
        if bearer_token.startswith(BASIC_PREFIX):
            return await self._basic_user(bearer_token.removeprefix(BASIC_PREFIX))
        if bearer_token.startswith(OIDC_PREFIX):
            provider_id, _, token = bearer_token.removeprefix(OIDC_PREFIX).partition("/")
            if not token:
                raise TokenInvalid()
            return await self._oidc_user(provider_id, token)
        raise AuthenticationSchemeInvalid()

    async def _basic_user(self, token: str) -> User:
        record = await self.store.find_valid_token(token_hash=token_hash(token), now=self.clock())
        if record is None:
            raise TokenInvalid()
        return await self._active_user(record["user_id"])

    async def _active_user(self, user_id: str) -> User:
        user = await self.store.get_user(user_id)
        if user is None or user.disabled:
            raise TokenInvalid()
        return user

    async def _oidc_user(self, provider_id: str, token: str) -> User:
        claims = await self.oidc.claims(provider_id, token)
        sub = str(claims["sub"])
        user_id = await self.store.find_identity(provider=provider_id, sub=sub)
        if user_id is None:
            user_id = await self._provision(self.oidc.provider(provider_id), sub, claims)
        return await self._active_user(user_id)

    async def _provision(self, provider: OidcProvider, sub: str, claims: dict[str, Any]) -> str:
        """Create the user of a first OIDC login; returns the id of whoever won a race."""
        tenant_id = self._oidc_tenant(provider, claims)
        await self.ensure_tenant(tenant_id)
        user = await self._insert_oidc_user(provider, sub, claims, tenant_id)
        if await self.store.insert_identity(provider=provider.id, sub=sub, user=user):
            log.info("provisioned user %s from OIDC provider %s", user.user_id, provider.id)
            return user.user_id
        # Another replica provisioned the same identity meanwhile: keep its user.
        await self.store.delete_user(user.user_id)
        winner = await self.store.find_identity(provider=provider.id, sub=sub)
        if winner is None:
            raise TokenInvalid()
        return winner

    def _oidc_tenant(self, provider: OidcProvider, claims: dict[str, Any]) -> str:
        claimed = claims.get(provider.tenant_claim) if provider.tenant_claim else None
        tenant_id = str(claimed or provider.default_tenant or self.settings.default_tenant)
        if not NAME_PATTERN.fullmatch(tenant_id):
            log.warning("OIDC provider %s claims invalid tenant %r", provider.id, tenant_id)
            raise TokenInvalid()
        return tenant_id

    async def _insert_oidc_user(
        self, provider: OidcProvider, sub: str, claims: dict[str, Any], tenant_id: str
    ) -> User:
        claim_names = (self.settings.oidc_name_claim, "name", "email")
        claimed = next((str(claims[name]) for name in claim_names if claims.get(name)), sub)
        for name in oidc_user_names(claimed=claimed, provider_id=provider.id, sub=sub):
            user = User(
                user_id=new_id(),
                tenant_id=tenant_id,
                name=name,
                roles=["user"],
                identity=f"oidc/{provider.id}",
                created=self.clock(),
            )
            if await self.store.insert_user(user):
                return user
        raise Internal(message=f"no free user name for an identity of {provider.id}")

    async def ensure_tenant(self, tenant_id: str) -> None:
        """Create the tenant with the default quota unless it exists."""
        if await self.store.get_tenant(tenant_id) is None:
            tenant = Tenant(
                tenant_id=tenant_id,
                title=tenant_id,
                quota=default_quota(self.settings),
                created=self.clock(),
            )
            await self.store.insert_tenant(tenant)

    def oidc_providers(self) -> list[dict[str, Any]]:
        """GET /credentials/oidc: the configured providers, the default one first."""
        return oidc_provider_documents(self.settings.oidc_providers)

    async def tenant_quota(self, tenant_id: str) -> Quota:
        """The limits of a tenant, for the jobs scheduler. Raises `NotFound`."""
        tenant = await self.store.get_tenant(tenant_id)
        if tenant is None:
            raise NotFound()
        return tenant.quota
