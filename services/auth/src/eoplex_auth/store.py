"""The auth service's MongoDB collections: tenants, users, tokens, login failures and
clients, identities."""

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError


@dataclass(frozen=True, kw_only=True)
class Quota:
    """Limits for every user of a tenant; 0 means unlimited."""

    max_concurrent_jobs: int = 0
    max_storage_bytes: int = 0
    max_sync_pixels: int = 0


@dataclass(frozen=True, kw_only=True)
class Tenant:
    """A group of users sharing quotas (an institute, a class, a customer)."""

    tenant_id: str
    title: str
    quota: Quota
    created: datetime


@dataclass(frozen=True, kw_only=True)
class User:
    """A user; `identity` is "basic" or "oidc/<provider>", `password_hash` only for basic."""

    user_id: str
    tenant_id: str
    name: str
    roles: list[str]
    identity: str
    created: datetime
    disabled: bool = False
    password_hash: str | None = field(default=None, repr=False)


def _tenant(document: dict[str, Any]) -> Tenant:
    return Tenant(
        tenant_id=document["tenant_id"],
        title=document.get("title", ""),
        quota=Quota(**document.get("quota", {})),
        created=document["created"],
    )


def _user(document: dict[str, Any]) -> User:
    fields = {name: document[name] for name in User.__dataclass_fields__ if name in document}
    return User(**fields)


class AuthStore:
    """Every read and write of the auth service's database."""

    def __init__(self, *, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.tenants = database["tenants"]
        self.users = database["users"]
        self.tokens = database["tokens"]
        self.login_failures = database["login_failures"]
        self.login_clients = database["login_clients"]
        self.oidc_identities = database["oidc_identities"]

    async def ensure_indexes(self) -> None:
        """Create the indexes at start-up; the unique ones make concurrent replicas safe."""
        await self.tenants.create_index("tenant_id", unique=True)
        await self.users.create_index("name", unique=True)
        await self.users.create_index("tenant_id")
        await self.tokens.create_index("user_id")
        for fields in (("username", "client", "at"), ("client", "at"), ("username", "at")):
            await self.login_failures.create_index([(name, ASCENDING) for name in fields])
        await self.login_clients.create_index(
            [("username", ASCENDING), ("client", ASCENDING)], unique=True
        )
        # Records leave by themselves once `expires` has passed (MongoDB's TTL monitor).
        for expiring in (self.login_failures, self.login_clients):
            await expiring.create_index("expires", expireAfterSeconds=0)
        await self.oidc_identities.create_index(
            [("provider", ASCENDING), ("sub", ASCENDING)], unique=True
        )

    # Tenants

    async def insert_tenant(self, tenant: Tenant) -> bool:
        """Store a new tenant; False if the id is taken."""
        document = {**asdict(tenant), "_id": tenant.tenant_id}
        try:
            await self.tenants.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    async def get_tenant(self, tenant_id: str) -> Tenant | None:
        """The tenant, or None."""
        document = await self.tenants.find_one({"tenant_id": tenant_id})
        return _tenant(document) if document else None

    async def list_tenants(self) -> list[Tenant]:
        """Every tenant, ordered by id."""
        cursor = self.tenants.find({}).sort("tenant_id", ASCENDING)
        return [_tenant(document) async for document in cursor]

    async def set_tenant_quota(self, tenant_id: str, quota: Quota) -> Tenant | None:
        """Replace the tenant's quota; None if there is no such tenant."""
        document = await self.tenants.find_one_and_update(
            {"tenant_id": tenant_id},
            {"$set": {"quota": asdict(quota)}},
            return_document=ReturnDocument.AFTER,
        )
        return _tenant(document) if document else None

    # Users

    async def insert_user(self, user: User) -> bool:
        """Store a new user; False if the name is taken."""
        try:
            await self.users.insert_one({**asdict(user), "_id": user.user_id})
        except DuplicateKeyError:
            return False
        return True

    async def get_user(self, user_id: str) -> User | None:
        """The user with this id, or None."""
        document = await self.users.find_one({"user_id": user_id})
        return _user(document) if document else None

    async def get_user_by_name(self, name: str) -> User | None:
        """The user with this name, or None."""
        document = await self.users.find_one({"name": name})
        return _user(document) if document else None

    async def list_users(self, tenant_id: str | None = None) -> list[User]:
        """Every user, or those of one tenant, ordered by name."""
        query = {"tenant_id": tenant_id} if tenant_id else {}
        cursor = self.users.find(query).sort("name", ASCENDING)
        return [_user(document) async for document in cursor]

    async def update_user(self, name: str, changes: dict[str, Any]) -> User | None:
        """Set fields of the named user; None if there is no such user."""
        document = await self.users.find_one_and_update(
            {"name": name}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
        return _user(document) if document else None

    async def delete_user(self, user_id: str) -> None:
        """Remove a user record (used to undo a provisioning that lost a race)."""
        await self.users.delete_one({"user_id": user_id})

    # Tokens

    async def insert_token(self, *, token_hash: str, user: User, expires: datetime) -> None:
        """Store an issued token by its hash only."""
        await self.tokens.insert_one(
            {
                "_id": token_hash,
                "user_id": user.user_id,
                "tenant_id": user.tenant_id,
                "expires": expires,
            }
        )

    async def find_valid_token(self, *, token_hash: str, now: datetime) -> dict[str, Any] | None:
        """The token record if it exists and has not expired."""
        return await self.tokens.find_one({"_id": token_hash, "expires": {"$gt": now}})

    async def revoke_tokens(self, user_id: str) -> None:
        """Delete every token of the user."""
        await self.tokens.delete_many({"user_id": user_id})

    async def delete_expired_tokens(self, now: datetime) -> None:
        """Drop tokens past their expiry (housekeeping at start-up)."""
        await self.tokens.delete_many({"expires": {"$lte": now}})

    # Login failures

    async def record_login_failure(
        self, *, username: str, client: str, at: datetime, expires: datetime
    ) -> None:
        """Remember one failed login of `username` from `client` until `expires`."""
        document = {"username": username, "client": client, "at": at, "expires": expires}
        await self.login_failures.insert_one(document)

    async def nth_latest_login_failure(
        self, *, username: str | None = None, client: str | None = None, since: datetime, n: int
    ) -> datetime | None:
        """The time of the `n`th latest failed login after `since` of `username`, from
        `client`, or both; None if there were fewer."""
        query: dict[str, Any] = {"at": {"$gt": since}}
        if username is not None:
            query["username"] = username
        if client is not None:
            query["client"] = client
        cursor = self.login_failures.find(query).sort("at", DESCENDING).skip(n - 1).limit(1)
        found = await cursor.to_list()
        return found[0]["at"] if found else None

    async def delete_login_failures_before(self, cutoff: datetime) -> None:
        """Drop failures too old to count (housekeeping at start-up)."""
        await self.login_failures.delete_many({"at": {"$lte": cutoff}})

    async def remember_login(
        self, *, username: str, client: str, at: datetime, expires: datetime
    ) -> None:
        """Remember that `username` logged in from `client` at `at`, until `expires`."""
        await self.login_clients.update_one(
            {"username": username, "client": client},
            {"$set": {"at": at, "expires": expires}},
            upsert=True,
        )

    async def last_login(self, *, username: str, client: str, now: datetime) -> datetime | None:
        """When `username` last logged in from `client`, if that is still remembered."""
        query = {"username": username, "client": client, "expires": {"$gt": now}}
        document = await self.login_clients.find_one(query)
        return document["at"] if document else None

    async def delete_expired_login_clients(self, now: datetime) -> None:
        """Drop remembered clients past their expiry (housekeeping at start-up)."""
        await self.login_clients.delete_many({"expires": {"$lte": now}})

    # OIDC identities

    async def find_identity(self, *, provider: str, sub: str) -> str | None:
        """The user id linked to the provider's subject, or None."""
        document = await self.oidc_identities.find_one({"provider": provider, "sub": sub})
        return str(document["user_id"]) if document else None

    async def insert_identity(self, *, provider: str, sub: str, user: User) -> bool:
        """Link the provider's subject to `user`; False if another link won the race."""
        document = {
            "provider": provider,
            "sub": sub,
            "user_id": user.user_id,
            "tenant_id": user.tenant_id,
        }
        try:
            await self.oidc_identities.insert_one(document)
        except DuplicateKeyError:
            return False
        return True
