"""The catalog's MongoDB collections: `collections` (live ones), `staged`, `items`.

A collection becomes visible only through `commit`, which switches `live_version`
in one `find_one_and_update`; readers query items of the live version only, so an
ingest in progress (or one that failed) is never seen.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from eoplex_data_discovery.documents import ItemFootprint

Query = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class LiveCollection:
    """A committed collection: its document, queryables and the version readers see."""

    collection_id: str
    version: str
    document: dict[str, Any]
    queryables: dict[str, Any]


def _live(document: dict[str, Any]) -> LiveCollection:
    return LiveCollection(
        collection_id=document["_id"],
        version=document["live_version"],
        document=json.loads(document["document"]),
        queryables=json.loads(document["queryables"]),
    )


def _filterable(properties: dict[str, Any]) -> dict[str, Any]:
    """Scalar properties under names MongoDB can address (no `.` or leading `$`)."""
    return {
        name: value
        for name, value in properties.items()
        if isinstance(value, str | int | float | bool)
        and "." not in name
        and not name.startswith("$")
    }


class CatalogStore:
    """Every read and write of the catalog's database."""

    def __init__(self, *, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.collections = database["collections"]
        self.staged = database["staged"]
        self.items = database["items"]

    async def ensure_indexes(self) -> None:
        """Indexes for item search by collection version, time and id."""
        await self.items.create_index(
            [("collection_id", ASCENDING), ("version", ASCENDING), ("item_id", ASCENDING)],
            unique=True,
        )
        await self.items.create_index(
            [("collection_id", ASCENDING), ("version", ASCENDING), ("start", ASCENDING)]
        )

    async def stage_collection(
        self, *, collection_id: str, version: str, document: dict[str, Any]
    ) -> None:
        """Record a version being ingested; invisible until `commit`."""
        await self.staged.insert_one(
            {
                "_id": version,
                "collection_id": collection_id,
                "document": json.dumps(document),
                "created": datetime.now(UTC),
            }
        )

    async def staged_document(self, *, collection_id: str, version: str) -> dict[str, Any] | None:
        """The collection document of a staged version, or None if there is no such version."""
        staged = await self.staged.find_one({"_id": version, "collection_id": collection_id})
        return None if staged is None else dict(json.loads(staged["document"]))

    async def put_items(
        self,
        *,
        collection_id: str,
        version: str,
        items: list[tuple[ItemFootprint, dict[str, Any]]],
    ) -> None:
        """Store items of a staged version; an item staged twice keeps its last document."""
        for footprint, document in items:
            key = {"collection_id": collection_id, "version": version, "item_id": footprint.item_id}
            minx, miny, maxx, maxy = footprint.bbox
            fields = {
                **key,
                "start": footprint.start,
                "end": footprint.end,
                "minx": minx,
                "miny": miny,
                "maxx": maxx,
                "maxy": maxy,
                "bands": footprint.bands,
                "properties": _filterable(footprint.properties),
                "document": json.dumps(document),
            }
            await self.items.replace_one(key, fields, upsert=True)

    async def item_properties(self, *, collection_id: str, version: str) -> list[dict[str, Any]]:
        """The filterable properties of every item of a version (to derive queryables)."""
        cursor = self.items.find(
            {"collection_id": collection_id, "version": version}, {"properties": 1}
        )
        return [document["properties"] async for document in cursor]

    async def make_live(
        self,
        *,
        collection_id: str,
        version: str,
        document: dict[str, Any],
        queryables: dict[str, Any],
    ) -> None:
        """Switch readers to `version` atomically, then drop the items of replaced versions.

        Items of other ingests still staged are kept: they may be committed later.
        """
        await self.collections.find_one_and_update(
            {"_id": collection_id},
            {
                "$set": {
                    "live_version": version,
                    "document": json.dumps(document),
                    "queryables": json.dumps(queryables),
                    "updated": datetime.now(UTC),
                }
            },
            upsert=True,
        )
        await self.staged.delete_one({"_id": version})
        await self._delete_unstaged_items(collection_id, keep=version)

    async def _delete_unstaged_items(self, collection_id: str, *, keep: str = "") -> None:
        staged = await self.staged.distinct("_id", {"collection_id": collection_id})
        kept = [*staged, keep] if keep else staged
        await self.items.delete_many({"collection_id": collection_id, "version": {"$nin": kept}})

    async def discard_version(self, *, collection_id: str, version: str) -> None:
        """Forget a staged version and its items (an aborted ingest)."""
        await self.items.delete_many({"collection_id": collection_id, "version": version})
        await self.staged.delete_one({"_id": version, "collection_id": collection_id})

    async def delete_collection(self, *, collection_id: str) -> bool:
        """Remove a live collection and its items; False if it was not live.

        An ingest staged meanwhile keeps its items and may still commit.
        """
        removed = await self.collections.find_one_and_delete({"_id": collection_id})
        if removed is None:
            return False
        await self._delete_unstaged_items(collection_id)
        return True

    async def live_collection(self, collection_id: str) -> LiveCollection | None:
        """The committed collection, or None."""
        document = await self.collections.find_one({"_id": collection_id})
        return None if document is None else _live(document)

    async def collections_page(
        self, *, after: str | None, before: str | None, limit: int
    ) -> list[LiveCollection]:
        """Up to `limit` live collections by id, after `after` or (in reverse) before `before`."""
        if before is not None:
            cursor = self.collections.find({"_id": {"$lt": before}}).sort("_id", DESCENDING)
            page = [_live(document) async for document in cursor.limit(limit)]
            return page[::-1]
        query: Query = {} if after is None else {"_id": {"$gt": after}}
        cursor = self.collections.find(query).sort("_id", ASCENDING)
        return [_live(document) async for document in cursor.limit(limit)]

    async def has_collection_beyond(self, collection_id: str, *, before: bool) -> bool:
        """Whether a live collection sorts before (or after) `collection_id`."""
        operator = "$lt" if before else "$gt"
        return await self.collections.find_one({"_id": {operator: collection_id}}) is not None

    async def search_items(
        self, *, query: Query, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of matching item documents in (time, id) order, and the total match count."""
        cursor = self.items.find(query, {"document": 1})
        cursor = cursor.sort([("start", ASCENDING), ("item_id", ASCENDING)]).skip(offset)
        documents = [json.loads(doc["document"]) async for doc in cursor.limit(limit)]
        return documents, await self.items.count_documents(query)
