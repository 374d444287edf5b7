"""The catalog's logic: listing, item search, the staged ingest of collections and the
collections backed by external STAC APIs."""

import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eoplex_common.errors import BadRequest, CollectionNotFound, OpenEOError, UpstreamUnavailable
from eoplex_data_discovery.documents import (
    build_queryables,
    check_collection_id,
    item_footprint,
    normalize_collection,
    normalize_item,
)
from eoplex_data_discovery.events import CatalogEvents
from eoplex_data_discovery.external import (
    KIND_INGEST,
    KIND_STAC_API,
    StacApiSource,
    check_credentials,
    check_source,
    collection_bands,
    gdal_options,
    translate_collection,
    translate_item,
    translate_queryables,
)
from eoplex_data_discovery.search import (
    Query,
    decode_token,
    encode_token,
    parse_instant,
    property_conditions,
    spatial_condition,
    temporal_condition,
    wgs84_bbox,
)
from eoplex_data_discovery.store import CatalogStore, LiveCollection, Upstream
from eoplex_data_discovery.upstream import (
    SearchCache,
    StacApiClient,
    UpstreamSettings,
    make_http_client,
    matches_locally,
    parse_property_filter,
    search_conditions,
)

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True, kw_only=True)
class CollectionsPage:
    """One page of `GET /collections` and the tokens of its neighbours ("" for none)."""

    collections: list[dict[str, Any]]
    next_token: str = ""
    prev_token: str = ""


@dataclass(frozen=True, kw_only=True)
class ItemSearch:
    """An item search (`GET /collections/{id}/items` and the executor's search)."""

    collection_id: str
    bbox: list[float] = field(default_factory=list)
    bbox_crs: str = ""
    start: str = ""
    end: str = ""
    bands: list[str] = field(default_factory=list)
    property_filter_json: str = ""
    limit: int = 0
    page_token: str = ""


@dataclass(frozen=True, kw_only=True)
class ItemsPage:
    """Matching items of one page, the next page's token and the total number matched."""

    items: list[dict[str, Any]]
    next_token: str
    number_matched: int


@dataclass(frozen=True, kw_only=True)
class StacApiRegistration:
    """`eoplex admin collections add-stac-api`: an upstream collection to serve as ours
    (fields as in `RegisterStacApiRequest`); `credentials` hold the values given by the
    CLI, never stored with the collection."""

    source: StacApiSource
    collection_id: str = ""
    credentials: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class CollectionSource:
    """An operator's view of a collection: where it comes from, when it was last refreshed
    (or ingested) and why its last refresh failed ("" if it did not)."""

    collection_id: str
    kind: str
    upstream: str
    refreshed: datetime
    refresh_error: str
    title: str


@dataclass(frozen=True, kw_only=True)
class CollectionAccess:
    """How the executor reads a collection's assets; holds credentials, so it is never
    shown to users."""

    kind: str
    gdal_options: dict[str, str] = field(default_factory=dict)
    signing: str = ""
    signing_url: str = ""
    mosaic: str = "least-cloudy-first"


def collection_source(live: LiveCollection) -> CollectionSource:
    """The operator's view of a live collection."""
    upstream = live.upstream
    return CollectionSource(
        collection_id=live.collection_id,
        kind=KIND_INGEST if upstream is None else KIND_STAC_API,
        upstream="" if upstream is None else upstream.source.collection_url,
        refreshed=live.updated if upstream is None else upstream.refreshed,
        refresh_error="" if upstream is None else upstream.refresh_error,
        title=str(live.document.get("title", "")),
    )


def checked_limit(limit: int) -> int:
    """The page size: 0 means the default; BadRequest outside 1..MAX_LIMIT."""
    if limit == 0:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(reason=f"limit must be between 1 and {MAX_LIMIT}")
    return limit


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


def _optional_instant(value: str, *, name: str) -> datetime | None:
    return parse_instant(value, name=name) if value else None


def search_interval(search: ItemSearch) -> tuple[datetime | None, datetime | None]:
    """The search's [start, end) (None: open); BadRequest if malformed or reversed."""
    start = _optional_instant(search.start, name="start")
    end = _optional_instant(search.end, name="end")
    if start is not None and end is not None and end < start:
        raise BadRequest(reason="the end of the time interval is before its start")
    return start, end


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


@dataclass(frozen=True, kw_only=True)
class Fetched:
    """What a registration or refresh read from the upstream, translated."""

    document: dict[str, Any]
    queryables: dict[str, Any]
    conformance: list[str]


def _page_cursor(page_token: str, *, version: str) -> dict[str, Any]:
    cursor = decode_token(page_token)
    if cursor.get("version") != version:
        raise BadRequest(reason="the page token expired: the collection was updated")
    return cursor


class DataDiscoveryService:
    """The STAC collection catalog behind `/collections`, the operator ingest and the
    collections served from external STAC APIs.

    `upstream` configures the clients of those APIs; they share one HTTP client and one
    search cache (`aclose` closes them). Credentials named by a registration's
    `credentials_secret` are files of `credentials_dir` (a mounted Kubernetes Secret),
    read when the executor asks, so a rotated Secret takes effect without a restart.
    """

    def __init__(
        self,
        *,
        store: CatalogStore,
        events: CatalogEvents,
        upstream: UpstreamSettings,
        refresh_seconds: float = 3600.0,
        credentials_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.events = events
        self.upstream = upstream
        self.refresh_period = timedelta(seconds=refresh_seconds)
        self.credentials_dir = credentials_dir
        self.http = make_http_client(upstream)
        self.cache = SearchCache.from_settings(upstream)
        self._clients: dict[str, StacApiClient] = {}

    async def aclose(self) -> None:
        """Close the connections to upstream STAC APIs."""
        await self.http.aclose()

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
            return await self._search_upstream(live, live.upstream, search)
        size = checked_limit(search.limit)
        offset = 0
        if search.page_token:
            cursor = _page_cursor(search.page_token, version=live.version)
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

    # --- collections served from external STAC APIs --------------------------------------

    async def register_stac_api(self, registration: StacApiRegistration) -> CollectionSource:
        """`eoplex admin collections add-stac-api`: serve an upstream STAC API's collection
        under our id (the upstream's unless given).

        A collection of that id is replaced, whatever it was, as a new ingest replaces an
        ingested one: its items, source and credentials are dropped. The upstream's
        landing page, conformance classes and collection are read once and translated
        (`external.translate_collection`); the document goes live in a new version and
        `collection_updated` is published. Credentials are given by value (stored apart
        from the collection) or as the name of a mounted secret, which must exist.

        Raises BadRequest for invalid options or an upstream collection that makes no
        valid openEO collection (or does not exist), UpstreamUnavailable when the
        upstream fails.
        """
        source = registration.source
        collection_id = check_collection_id(
            registration.collection_id or source.upstream_collection
        )
        credentials = None
        if registration.credentials is not None:
            if source.credentials_secret:
                raise BadRequest(reason="give credentials or credentials_secret, not both")
            credentials = check_credentials(registration.credentials, what="the credentials")
        elif source.credentials_secret:
            self._mounted_credentials(source.credentials_secret)
        has_credentials = credentials is not None or bool(source.credentials_secret)
        source = check_source(source, has_credentials=has_credentials)
        client = self._client(collection_id, source, fresh=True)
        fetched = await self._fetch(client, collection_id, source, registering=True)
        now = datetime.now(UTC)
        version = secrets.token_hex(8)
        await self.store.put_credentials(collection_id=collection_id, credentials=credentials)
        await self.store.make_live(
            collection_id=collection_id,
            version=version,
            document=fetched.document,
            queryables=fetched.queryables,
            upstream=Upstream(source=source, conformance=fetched.conformance, refreshed=now),
            refresh_due=now + self.refresh_period,
        )
        await self.events.collection_updated(collection_id, version=version)
        return collection_source(await self._live(collection_id))

    async def refresh_collection(self, collection_id: str) -> CollectionSource:
        """`eoplex admin collections refresh`: read a stac-api collection from its upstream
        again; a new version (and `collection_updated`) only when the translated document
        or queryables changed.

        Raises CollectionNotFound, BadRequest for an ingested collection, and
        UpstreamUnavailable (also recorded as its `refresh_error`; the document stays).
        """
        await self._refresh(await self._live(collection_id))
        return collection_source(await self._live(collection_id))

    async def refresh_due_collections(self) -> int:
        """The scheduled refresh: every stac-api collection whose refresh is due, each
        claimed by one replica at a time (`CatalogStore.claim_due_refresh`); a failure is
        logged and recorded in the collection's `refresh_error`, its document kept.
        Returns how many collections were refreshed (or tried)."""
        done: set[str] = set()
        while True:
            now = datetime.now(UTC)
            collection_id = await self.store.claim_due_refresh(
                now=now, next_due=now + self.refresh_period
            )
            if collection_id is None or collection_id in done:
                return len(done)
            done.add(collection_id)
            live = await self.store.live_collection(collection_id)
            if live is None:
                continue
            try:
                await self._refresh(live)
            except OpenEOError as error:
                log.warning("scheduled refresh of %s failed: %s", collection_id, error.message)

    async def _refresh(self, live: LiveCollection) -> None:
        if live.upstream is None:
            raise BadRequest(
                reason=f"collection {live.collection_id!r} is ingested, not read from a STAC "
                "API; ingest it again to change it"
            )
        upstream = live.upstream
        now = datetime.now(UTC)
        client = self._client(live.collection_id, upstream.source, fresh=True)
        try:
            fetched = await self._fetch(client, live.collection_id, upstream.source)
        except OpenEOError as error:
            await self.store.refresh_upstream(
                collection_id=live.collection_id,
                replaced_version=live.version,
                upstream=Upstream(**{**upstream.__dict__, "refresh_error": error.message}),
                refresh_due=now + self.refresh_period,
            )
            raise
        changed = (fetched.document, fetched.queryables) != (live.document, live.queryables)
        version = secrets.token_hex(8) if changed else live.version
        stored = await self.store.refresh_upstream(
            collection_id=live.collection_id,
            replaced_version=live.version,
            upstream=Upstream(
                source=upstream.source, conformance=fetched.conformance, refreshed=now
            ),
            refresh_due=now + self.refresh_period,
            live=(version, fetched.document, fetched.queryables) if changed else None,
        )
        if stored and changed:
            await self.events.collection_updated(live.collection_id, version=version)

    def _client(
        self, collection_id: str, source: StacApiSource, *, fresh: bool = False
    ) -> StacApiClient:
        """The client of a collection's upstream; one per collection, so its landing page
        and way of searching are learnt once; `fresh` (a registration or refresh) reads
        them again."""
        client = self._clients.get(collection_id)
        if fresh or client is None or client.url != source.url:
            client = StacApiClient(
                source.url,
                settings=self.upstream,
                collection_id=collection_id,
                http=self.http,
                cache=self.cache,
            )
            self._clients[collection_id] = client
        return client

    async def _fetch(
        self,
        client: StacApiClient,
        collection_id: str,
        source: StacApiSource,
        *,
        registering: bool = False,
    ) -> Fetched:
        """The upstream's conformance classes, and its collection and queryables translated.

        An upstream without `item_assets` is described by the assets of its first item.
        """
        await client.landing()
        conformance = await client.conformance()
        try:
            upstream = await client.collection(source.upstream_collection)
        except UpstreamUnavailable as error:
            if not registering or error.params.get("status") != 404:
                raise
            raise BadRequest(
                reason=f"{client.host} has no collection {source.upstream_collection!r}"
            ) from None
        item_assets = None
        if not upstream.get("item_assets"):
            first = await client.search(
                upstream_collection=source.upstream_collection, limit=1, conformance=conformance
            )
            if first.items and isinstance(first.items[0].get("assets"), dict):
                item_assets = first.items[0]["assets"]
        document = translate_collection(
            upstream, collection_id=collection_id, source=source, item_assets=item_assets
        )
        queryables = translate_queryables(
            await client.queryables(source.upstream_collection), title=document["title"]
        )
        # As stored and read back, so that an unchanged upstream compares equal.
        document, queryables = json.loads(json.dumps([document, queryables]))
        return Fetched(document=document, queryables=queryables, conformance=conformance)

    async def _search_upstream(
        self, live: LiveCollection, upstream: Upstream, search: ItemSearch
    ) -> ItemsPage:
        """One upstream page of the search, translated and matched locally.

        Every condition is also checked here (upstream intervals are closed, and an
        upstream may not understand the property conditions), so a page may hold fewer
        items than the limit. `number_matched` is the upstream's count (an upper bound)
        when it gives one and the property conditions were sent upstream, else -1.
        The page token carries the upstream's next request and the collection version.
        """
        size = checked_limit(search.limit)
        property_filter = parse_property_filter(search.property_filter_json)
        start, end = search_interval(search)
        bbox = wgs84_bbox(list(search.bbox), search.bbox_crs) if search.bbox else None
        client = self._client(live.collection_id, upstream.source)
        if search.page_token:
            cursor = _page_cursor(search.page_token, version=live.version)
            page = await client.page(client.resume(cursor.get("upstream")))
        else:
            page = await client.search(
                upstream_collection=upstream.source.upstream_collection,
                bbox=bbox,
                start=start,
                end=end,
                property_filter=property_filter,
                limit=size,
                conformance=upstream.conformance,
            )
        bands = collection_bands(live.document, upstream.source)
        items = []
        for item in page.items:
            try:
                translated = translate_item(item, collection_id=live.collection_id, bands=bands)
            except BadRequest:
                log.warning("upstream of %s answered an item without assets", live.collection_id)
                continue
            if matches_locally(
                translated,
                property_filter=property_filter,
                start=start,
                end=end,
                bands=search.bands,
            ):
                items.append(translated)
        counted = not property_filter or search_conditions(property_filter, upstream.conformance)
        matched = page.number_matched if counted and page.number_matched is not None else -1
        token = ""
        if page.next is not None:
            token = encode_token({"version": live.version, "upstream": page.next.to_json()})
        return ItemsPage(items=items, next_token=token, number_matched=matched)

    async def collection_sources(self) -> list[CollectionSource]:
        """`eoplex admin collections list`: every collection's source and last refresh."""
        return [collection_source(live) for live in await self.store.all_collections()]

    async def collection_access(self, collection_id: str) -> CollectionAccess:
        """The executor's: how to read a collection's assets (credentials included, so
        never passed on to users). Raises CollectionNotFound, or UpstreamUnavailable when
        the mounted credentials it names are gone."""
        live = await self._live(collection_id)
        if live.upstream is None:
            return CollectionAccess(kind=KIND_INGEST)
        source = live.upstream.source
        credentials = None
        if source.credentials_secret:
            try:
                credentials = self._mounted_credentials(source.credentials_secret)
            except BadRequest:
                raise UpstreamUnavailable(
                    upstream=source.s3_endpoint or "S3",
                    collection=collection_id,
                    reason=f"its credentials {source.credentials_secret!r} are not mounted",
                ) from None
        elif source.s3_access != "anonymous":
            credentials = await self.store.stored_credentials(collection_id)
        return CollectionAccess(
            kind=KIND_STAC_API,
            gdal_options=gdal_options(source, credentials),
            signing=source.signing,
            signing_url=source.signing_url,
            mosaic=source.mosaic,
        )

    async def upstream_urls(self) -> list[str]:
        """The executor's: the landing pages of every registered STAC API."""
        return await self.store.upstream_urls()

    def _mounted_credentials(self, name: str) -> dict[str, str]:
        """The credentials of the mounted secret entry `name`; BadRequest (naming only the
        entry) when it is missing or malformed."""
        missing = BadRequest(
            reason=f"no credentials {name!r} are mounted in the catalog's credentials directory"
        )
        if self.credentials_dir is None:
            raise missing
        try:
            text = (self.credentials_dir / name).read_text()
        except OSError:
            raise missing from None
        try:
            given = json.loads(text)
        except json.JSONDecodeError:
            raise BadRequest(reason=f"the mounted credentials {name!r} are not JSON") from None
        return check_credentials(given, what=f"the mounted credentials {name!r}")
