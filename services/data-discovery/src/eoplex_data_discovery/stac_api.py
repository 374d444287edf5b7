"""Collections served from external STAC APIs: their registration, their refresh (on
demand and scheduled), the search of their items upstream, and how the executor reads
their assets (`eoplex admin collections add-stac-api | refresh | list`).

The document and queryables of such a collection are read from the upstream at
registration and at each refresh, translated (`external`), and stored like an ingested
collection's, so `GET /collections/{id}` and `/queryables` answer without the upstream.
Its items are never stored: each search goes upstream (`upstream.StacApiClient`).
"""

import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eoplex_common.errors import BadRequest, CollectionNotFound, OpenEOError, UpstreamUnavailable
from eoplex_data_discovery.documents import check_collection_id
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
    ItemSearch,
    ItemsPage,
    checked_limit,
    encode_token,
    page_cursor,
    search_interval,
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


@dataclass(frozen=True, kw_only=True)
class Fetched:
    """What a registration or refresh read from the upstream, translated."""

    document: dict[str, Any]
    queryables: dict[str, Any]
    conformance: list[str]


class StacApiCollections:
    """The collections served from external STAC APIs.

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
        # Collection id -> (landing page, its client).
        self._clients: dict[str, tuple[str, StacApiClient]] = {}

    async def aclose(self) -> None:
        """Close the connections to upstream STAC APIs."""
        await self.http.aclose()

    async def _live(self, collection_id: str) -> LiveCollection:
        live = await self.store.live_collection(collection_id)
        if live is None:
            raise CollectionNotFound(identifier=collection_id)
        return live

    async def register(self, registration: StacApiRegistration) -> CollectionSource:
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

    async def refresh(self, collection_id: str) -> CollectionSource:
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
        url, client = self._clients.get(collection_id, ("", None))
        if fresh or client is None or url != source.url:
            client = StacApiClient(
                source.url,
                settings=self.upstream,
                collection_id=collection_id,
                http=self.http,
                cache=self.cache,
            )
            self._clients[collection_id] = (source.url, client)
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

    async def search(
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
            cursor = page_cursor(search.page_token, version=live.version)
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

    async def sources(self) -> list[CollectionSource]:
        """`eoplex admin collections list`: every collection's source and last refresh."""
        return [collection_source(live) for live in await self.store.all_collections()]

    async def access(self, collection_id: str) -> CollectionAccess:
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
