"""The processes service's MongoDB collection `user_processes`: one document per
user-defined process (`/process_graphs`), keyed by tenant, user and process id.

Every query filters on the owner (`tenant_id` and `user_id` together), so another
user's process answers exactly like a missing one. The process itself is kept as the
JSON text the user stored: process graphs are open-ended (any argument keys, dots
and `$` included), and nothing ever queries inside them.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure

from eoplex_common.documents import Document
from eoplex_common.errors import ServiceUnavailable


@dataclass(frozen=True)
class Owner:
    """Who a user-defined process belongs to."""

    user_id: str
    tenant_id: str

    def query(self, **fields: Any) -> Document:
        """A filter confined to this owner's processes."""
        return {"tenant_id": self.tenant_id, "user_id": self.user_id, **fields}


class UserProcessStore:
    """Every read and write of the user-defined processes.

    Raises ServiceUnavailable when MongoDB does not answer, instead of an internal error.
    """

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self.processes = database["user_processes"]

    async def ensure_indexes(self) -> None:
        """One process per id and owner; the same index serves listing sorted by id."""
        try:
            await self.processes.create_index(
                [("tenant_id", ASCENDING), ("user_id", ASCENDING), ("id", ASCENDING)], unique=True
            )
        except ConnectionFailure:
            raise ServiceUnavailable(service="MongoDB") from None

    async def get(self, owner: Owner, process_id: str) -> Document | None:
        """The stored process (as the user stored it, `id` set), or None."""
        found = await self.get_many(owner, [process_id])
        return found.get(process_id)

    async def get_many(self, owner: Owner, process_ids: Iterable[str]) -> dict[str, Document]:
        """The owner's processes among `process_ids`, by id; missing ids are left out."""
        ids = sorted(set(process_ids))
        if not ids:
            return {}
        try:
            cursor = self.processes.find(owner.query(id={"$in": ids}), {"id": 1, "process_json": 1})
            return {record["id"]: json.loads(record["process_json"]) async for record in cursor}
        except ConnectionFailure:
            raise ServiceUnavailable(service="MongoDB") from None

    async def list(self, owner: Owner, *, after: str, limit: int) -> list[Document]:
        """Up to `limit` (0: every one) of the owner's processes with an id after `after`,
        sorted by id."""
        query = owner.query(id={"$gt": after}) if after else owner.query()
        try:
            cursor = self.processes.find(query, {"id": 1, "process_json": 1}).sort("id", ASCENDING)
            if limit > 0:
                cursor = cursor.limit(limit)
            return [json.loads(record["process_json"]) async for record in cursor]
        except ConnectionFailure:
            raise ServiceUnavailable(service="MongoDB") from None

    async def put(self, owner: Owner, process_id: str, process: Document) -> None:
        """Store the process under `process_id`, replacing one of the same id."""
        record = owner.query(id=process_id, process_json=json.dumps(process))
        try:
            await self.processes.replace_one(owner.query(id=process_id), record, upsert=True)
        except ConnectionFailure:
            raise ServiceUnavailable(service="MongoDB") from None

    async def delete(self, owner: Owner, process_id: str) -> bool:
        """Remove the process; False if the owner has none of this id."""
        try:
            result = await self.processes.delete_one(owner.query(id=process_id))
        except ConnectionFailure:
            raise ServiceUnavailable(service="MongoDB") from None
        return result.deleted_count > 0
