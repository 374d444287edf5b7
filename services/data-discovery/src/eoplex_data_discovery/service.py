"""The catalog's logic: listing, item search and the staged ingest of collections; the
collections served from external STAC APIs are `stac_api`'s, their items searched there."""

import secrets
from dataclasses import dataclass
from typing import Any

from eoplex_common.errors import BadRequest, CollectionNotFound
from eoplex_data_discovery.documents import (
    build_queryables,
    check_collection_id,
    item_footprint,
    normalize_collection,
    normalize_item,
)
from eoplex_data_discovery.events import CatalogEvents
from eoplex_data_discovery.search import (
    ItemSearch,
    ItemsPage,
    Query,
    checked_limit,
    decode_token,
    encode_token,
    page_cursor,
    property_conditions,
    search_interval,
    spatial_condition,
    temporal_condition,
    wgs84_bbox,
)
from eoplex_data_discovery.stac_api import StacApiCollections
from eoplex_data_discovery.store import CatalogStore, LiveCollection


@dataclass(frozen=True, kw_only=True)
class CollectionsPage:
    """One page of `GET /collections` and the tokens of its neighbours ("" for none)."""

    collections: list[dict[str, Any]]
    next_token: str = ""
    prev_token: str = ""


def _collections_cursor(page_token: str) -> tuple[str | None, str | None]:
    """(after, before) of a `GET /collections` page token, none without one; BadRequest
    for a token `list_collections` did not make, rather than silently the first page."""
    if not page_token:
        return None, None
    cursor = decode_token(page_token)
    if len(cursor) != 1 or not all(
        key in ("after", "before") and isinstance(value, str) for key, value in cursor.items()
    ):
        raise BadRequest(reason="the page token is invalid")
    return cursor.get("after"), cursor.get("before")


def item_query(search: ItemSearch, *, version: str) -> Query:
    """The MongoDB query of an item search within the live version; BadRequest if malformed."""
    query: Query = {"collection_id": search.collection_id, "version": version}
    if search.bbox:
        query.update(spatial_condition(*wgs84_bbox(list(search.bbox), search.bbox_crs)))
    query.update(temporal_condition(*search_interval(search)))
    if search.bands:
        query["bands"] = {"$all": list(search.bands)}
    query.update(property_conditions(search.property_filter_json))
    return query


class DataDiscoveryService:
    """The STAC collection catalog behind `/collections` and the operator ingest; the
    items of collections served from external STAC APIs are searched by `stac_api`."""

    def __init__(
        self, *, store: CatalogStore, events: CatalogEvents, stac_api: StacApiCollections
    ) -> None:
        self.store = store
        self.events = events
        self.stac_api = stac_api

    async def _live(self, collection_id: str) -> LiveCollection:
        live = await self.store.live_collection(collection_id)
        if live is None:
            raise CollectionNotFound(identifier=collection_id)
        return live

    async def list_collections(self, *, limit: int, page_token: str) -> CollectionsPage:
        """`GET /collections`: live collections ordered by id, paged by opaque tokens.

        Raises BadRequest for a limit outside 1..1000 or a malformed token.
        """
        size = checked_limit(limit)
        after, before = _collections_cursor(page_token)
        page = await self.store.collections_page(after=after, before=before, limit=size)
        if not page:
            return CollectionsPage(collections=[])
        first, last = page[0].collection_id, page[-1].collection_id
        has_prev = await self.store.has_collection_beyond(first, before=True)
        has_next = await self.store.has_collection_beyond(last, before=False)
        return CollectionsPage(
            collections=[live.document for live in page],
            next_token=encode_token({"after": last}) if has_next else "",
            prev_token=encode_token({"before": first}) if has_prev else "",
        )

    async def collection(self, collection_id: str) -> dict[str, Any]:
        """`GET /collections/{collection_id}`; raises CollectionNotFound."""
        return (await self._live(collection_id)).document

    async def queryables(self, collection_id: str) -> dict[str, Any]:
        """`GET /collections/{collection_id}/queryables`; raises CollectionNotFound."""
        return (await self._live(collection_id)).queryables

    async def search_items(self, search: ItemSearch) -> ItemsPage:
        """Items of the live version matching the search, by (datetime, id); of a
        stac-api collection, the upstream's items in the upstream's order.

        Raises CollectionNotFound, or BadRequest for malformed filters or a token of a
        version that has since been replaced, or UpstreamUnavailable.
        """
        live = await self._live(search.collection_id)
        if live.upstream is not None:
            return await self.stac_api.search(live, live.upstream, search)
        size = checked_limit(search.limit)
        offset = 0
        if search.page_token:
            cursor = page_cursor(search.page_token, version=live.version)
            given = cursor.get("offset")
            if isinstance(given, bool) or not isinstance(given, int) or given < 0:
                raise BadRequest(reason="the page token is invalid")
            offset = given
        query = item_query(search, version=live.version)
        items, matched = await self.store.search_items(query=query, offset=offset, limit=size)
        more = offset + len(items) < matched
        token = encode_token({"version": live.version, "offset": offset + size}) if more else ""
        return ItemsPage(items=items, next_token=token, number_matched=matched)

    async def stage_collection(self, document: Any) -> str:
        """Start an ingest: a new, invisible version of the collection; BadRequest if invalid."""
        collection = normalize_collection(document)
        version = secrets.token_hex(8)
        await self.store.stage_collection(
            collection_id=collection["id"], version=version, document=collection
        )
        return version

    async def _staged(self, collection_id: str, version: str) -> dict[str, Any]:
        document = await self.store.staged_document(collection_id=collection_id, version=version)
        if document is None:
            raise BadRequest(
                reason=f"no ingest {version!r} of collection {collection_id!r} is open"
            )
        return document

    async def stage_items(self, *, collection_id: str, version: str, items: list[Any]) -> int:
        """Add items to a staged version; all or none of them, BadRequest naming the bad one."""
        await self._staged(collection_id, version)
        checked = [(item_footprint(item), item) for item in items]
        documents = [
            (fp, normalize_item(item, collection_id=collection_id)) for fp, item in checked
        ]
        await self.store.put_items(collection_id=collection_id, version=version, items=documents)
        return len(documents)

    async def commit_collection(self, *, collection_id: str, version: str) -> int:
        """Make a staged version live, replacing the previous one; returns its item count.

        A stac-api collection of that id is replaced too: its source and credentials are
        forgotten.
        """
        document = await self._staged(collection_id, version)
        properties = await self.store.item_properties(collection_id=collection_id, version=version)
        queryables = build_queryables(
            collection_id=collection_id, title=str(document.get("title", "")), properties=properties
        )
        await self.store.make_live(
            collection_id=collection_id, version=version, document=document, queryables=queryables
        )
        await self.events.collection_updated(collection_id, version=version)
        return len(properties)

    async def abort_collection(self, *, collection_id: str, version: str) -> None:
        """Drop a staged version; the live collection (if any) stays as it was."""
        check_collection_id(collection_id)
        await self.store.discard_version(collection_id=collection_id, version=version)

    async def delete_collection(self, collection_id: str) -> None:
        """`eoplex admin collections remove` (with the source and credentials of a stac-api
        collection); raises CollectionNotFound."""
        if not await self.store.delete_collection(collection_id=collection_id):
            raise CollectionNotFound(identifier=collection_id)
        await self.events.collection_removed(collection_id)
