"""Operator commands on users and tenants (`eoplex admin ...`), free of transport code."""

from collections.abc import Callable
from datetime import datetime

from eoplex_auth.credentials import PasswordVerifier
from eoplex_auth.service import new_id, utc_now
from eoplex_auth.store import AuthStore, Quota, Tenant, User
from eoplex_auth.validation import (
    validate_name,
    validate_password,
    validate_quota,
    validate_roles,
)
from eoplex_common.errors import BadRequest, NotFound


class AdminService:
    """Users and tenants as the operator manages them; every input is validated."""

    def __init__(
        self,
        *,
        store: AuthStore,
        passwords: PasswordVerifier,
        default_quota: Quota,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.passwords = passwords
        self.default_quota = default_quota
        self.clock = clock

    async def add_user(self, *, name: str, password: str, tenant_id: str, roles: list[str]) -> User:
        """A new basic-auth user. Raises `BadRequest` for invalid input, an unknown
        tenant or a taken name."""
        validate_name(name, what="user name")
        validate_password(password)
        roles = validate_roles(roles)
        if await self.store.get_tenant(tenant_id) is None:
            raise BadRequest(reason=f"tenant {tenant_id!r} does not exist: add it first")
        user = User(
            user_id=new_id(),
            tenant_id=tenant_id,
            name=name,
            roles=roles,
            identity="basic",
            created=self.clock(),
            password_hash=await self.passwords.hash(password),
        )
        if not await self.store.insert_user(user):
            raise BadRequest(reason=f"user {name!r} exists")
        return user

    async def list_users(self, tenant_id: str = "") -> list[User]:
        """Every user, or those of one tenant."""
        return await self.store.list_users(tenant_id or None)

    async def disable_user(self, name: str) -> User:
        """Disable a user and revoke their tokens. Raises `NotFound`."""
        user = self._found(await self.store.update_user(name, {"disabled": True}))
        await self.store.revoke_tokens(user.user_id)
        return user

    async def set_password(self, *, name: str, password: str) -> User:
        """Replace a user's password and revoke their tokens. Raises `BadRequest`, `NotFound`."""
        validate_password(password)
        password_hash = await self.passwords.hash(password)
        user = self._found(await self.store.update_user(name, {"password_hash": password_hash}))
        await self.store.revoke_tokens(user.user_id)
        return user

    async def add_tenant(self, *, tenant_id: str, title: str, quota: Quota | None) -> Tenant:
        """A new tenant, with the default quota unless one is given. Raises `BadRequest`."""
        validate_name(tenant_id, what="tenant id")
        tenant = Tenant(
            tenant_id=tenant_id,
            title=title or tenant_id,
            quota=validate_quota(quota) if quota else self.default_quota,
            created=self.clock(),
        )
        if not await self.store.insert_tenant(tenant):
            raise BadRequest(reason=f"tenant {tenant_id!r} exists")
        return tenant

    async def list_tenants(self) -> list[Tenant]:
        """Every tenant."""
        return await self.store.list_tenants()

    async def set_tenant_quota(self, *, tenant_id: str, quota: Quota) -> Tenant:
        """Replace a tenant's quota. Raises `BadRequest`, `NotFound`."""
        tenant = await self.store.set_tenant_quota(tenant_id, validate_quota(quota))
        if tenant is None:
            raise NotFound(f"Tenant {tenant_id!r} does not exist.")
        return tenant

    @staticmethod
    def _found(user: User | None) -> User:
        if user is None:
            raise NotFound("User does not exist.")
        return user
