"""The catalog's MongoDB collections: `collections` (live ones), `staged`, `items`,
`upstream_credentials`.

A collection becomes visible only through `commit`, which switches `live_version`
in one `find_one_and_update`; readers query items of the live version only, so an
ingest in progress (or one that failed) is never seen.

A collection backed by an external STAC API has no items here: its live document
carries a `source` (the registration, the upstream's conformance classes and the
state of the last refresh) and a `refresh_due` instant. Credentials given for its
assets live apart, in `upstream_credentials` keyed by collection id, read only by
`stored_credentials` (for the executor's `GetCollectionAccess`).
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from eoplex_data_discovery.documents import ItemFootprint
from eoplex_data_discovery.external import KIND_STAC_API, StacApiSource

Query = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Upstream:
    """A stac-api collection's registration and the outcome of its last refresh."""

    source: StacApiSource
    conformance: list[str]
    refreshed: datetime
    refresh_error: str = ""


def _stored_source(upstream: Upstream) -> dict[str, Any]:
    """The `source` field; overrides as JSON text, since their keys (asset keys) may hold
    characters MongoDB does not allow in field names."""
    fields = {**upstream.source.__dict__, "overrides": json.dumps(upstream.source.overrides)}
    return {
        "kind": KIND_STAC_API,
        **fields,
        "conformance": upstream.conformance,
        "refreshed": upstream.refreshed,
        "refresh_error": upstream.refresh_error,
    }


def _upstream(stored: dict[str, Any] | None) -> Upstream | None:
    if stored is None:
        return None
    names = StacApiSource.__dataclass_fields__
    fields = {name: stored[name] for name in names if name in stored}
    fields["overrides"] = json.loads(stored["overrides"])
    return Upstream(
        source=StacApiSource(**fields),
        conformance=list(stored["conformance"]),
        refreshed=stored["refreshed"],
        refresh_error=stored.get("refresh_error", ""),
    )


@dataclass(frozen=True, kw_only=True)
class LiveCollection:
    """A committed collection: its document, queryables and the version readers see."""

    collection_id: str
    version: str
    document: dict[str, Any]
    queryables: dict[str, Any]
    updated: datetime
    upstream: Upstream | None = None


def _live(document: dict[str, Any]) -> LiveCollection:
    return LiveCollection(
        collection_id=document["_id"],
        version=document["live_version"],
        document=json.loads(document["document"]),
        queryables=json.loads(document["queryables"]),
        updated=document["updated"],
        upstream=_upstream(document.get("source")),
    )


def _live_fields(
    version: str, document: dict[str, Any], queryables: dict[str, Any]
) -> dict[str, Any]:
    return {
        "live_version": version,
        "document": json.dumps(document),
        "queryables": json.dumps(queryables),
        "updated": datetime.now(UTC),
    }


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
        self.credentials = database["upstream_credentials"]

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
        upstream: Upstream | None = None,
        refresh_due: datetime | None = None,
    ) -> None:
        """Switch readers to `version` atomically, then drop the items of replaced versions.

        With `upstream`, the collection is a stac-api one, refreshed from `refresh_due`
        on; without, an ingested one, and the source and credentials of a stac-api
        collection it replaces are forgotten. Items of other ingests still staged are
        kept: they may be committed later.
        """
        fields = _live_fields(version, document, queryables)
        if upstream is None:
            change: dict[str, Any] = {"$set": fields, "$unset": {"source": "", "refresh_due": ""}}
            await self.put_credentials(collection_id=collection_id, credentials=None)
        else:
            source = {"source": _stored_source(upstream), "refresh_due": refresh_due}
            change = {"$set": {**fields, **source}}
        await self.collections.find_one_and_update({"_id": collection_id}, change, upsert=True)
        await self.staged.delete_one({"_id": version})
        await self._delete_unstaged_items(collection_id, keep=version)

    async def _delete_unstaged_items(self, collection_id: str, *, keep: str = "") -> None:
        staged = await self.staged.distinct("_id", {"collection_id": collection_id})
        kept = [*staged, keep] if keep else staged
        await self.items.delete_many({"collection_id": collection_id, "version": {"$nin": kept}})

    async def refresh_upstream(
        self,
        *,
        collection_id: str,
        replaced_version: str,
        upstream: Upstream,
        refresh_due: datetime,
        live: tuple[str, dict[str, Any], dict[str, Any]] | None = None,
    ) -> bool:
        """Record a refresh of a stac-api collection still at `replaced_version`: its new
        state, and with `live` = (version, document, queryables) a new version.

        False (and nothing changed) when the collection was replaced or removed meanwhile.
        """
        fields = {"source": _stored_source(upstream), "refresh_due": refresh_due}
        if live is not None:
            fields.update(_live_fields(*live))
        updated = await self.collections.find_one_and_update(
            {"_id": collection_id, "live_version": replaced_version, "source.kind": KIND_STAC_API},
            {"$set": fields},
        )
        return updated is not None

    async def claim_due_refresh(self, *, now: datetime, next_due: datetime) -> str | None:
        """The id of a stac-api collection due for its scheduled refresh, now claimed by
        this replica: its next refresh is moved to `next_due` in the same atomic update,
        so no other replica claims it; None when none is due."""
        claimed = await self.collections.find_one_and_update(
            {"source.kind": KIND_STAC_API, "refresh_due": {"$lte": now}},
            {"$set": {"refresh_due": next_due}},
            projection={"_id": 1},
        )
        return None if claimed is None else str(claimed["_id"])

    async def all_collections(self) -> list[LiveCollection]:
        """Every live collection by id (the operator's list of sources)."""
        cursor = self.collections.find({}).sort("_id", ASCENDING)
        return [_live(document) async for document in cursor]

    async def upstream_urls(self) -> list[str]:
        """The landing pages of the registered STAC APIs, each once."""
        urls = await self.collections.distinct("source.url", {"source.kind": KIND_STAC_API})
        return sorted(str(url) for url in urls)

    async def put_credentials(
        self, *, collection_id: str, credentials: dict[str, str] | None
    ) -> None:
        """Store (or with None forget) the asset credentials of a stac-api collection."""
        if credentials is None:
            await self.credentials.delete_one({"_id": collection_id})
        else:
            await self.credentials.replace_one(
                {"_id": collection_id}, {"_id": collection_id, **credentials}, upsert=True
            )

    async def stored_credentials(self, collection_id: str) -> dict[str, str] | None:
        """The asset credentials given for a collection, or None."""
        stored = await self.credentials.find_one({"_id": collection_id})
        if stored is None:
            return None
        return {name: value for name, value in stored.items() if name != "_id"}

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
        await self.put_credentials(collection_id=collection_id, credentials=None)
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
