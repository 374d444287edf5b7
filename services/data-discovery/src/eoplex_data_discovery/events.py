"""The catalog's NATS subjects: `catalog.collections.<id>.updated` and `.removed`.

Collection ids may contain `.`, which NATS reads as a token separator; it is
written `%2E` in subjects (`%` cannot occur in an id). The payload carries the
id unchanged: `{"collection_id": ..., "version": ...}`.
"""

import json

from nats.js import JetStreamContext

from eoplex_common.events import ensure_stream, publish_event

STREAM = "CATALOG"
SUBJECTS = ["catalog.collections.>"]


def collection_subject(collection_id: str, change: str) -> str:
    """e.g. `catalog.collections.SENTINEL2_L2A_DEMO.updated`."""
    return f"catalog.collections.{collection_id.replace('.', '%2E')}.{change}"


class CatalogEvents:
    """Publishes catalog changes on the `CATALOG` stream."""

    def __init__(self, *, js: JetStreamContext) -> None:
        self.js = js

    async def ensure_stream(self) -> None:
        """Declare the stream at start-up."""
        await ensure_stream(self.js, name=STREAM, subjects=SUBJECTS)

    async def collection_updated(self, collection_id: str, *, version: str) -> None:
        """A new version of the collection went live."""
        payload = {"collection_id": collection_id, "version": version}
        await publish_event(self.js, collection_subject(collection_id, "updated"), _json(payload))

    async def collection_removed(self, collection_id: str) -> None:
        """The collection was deleted."""
        payload = {"collection_id": collection_id}
        await publish_event(self.js, collection_subject(collection_id, "removed"), _json(payload))


def _json(payload: dict[str, str]) -> bytes:
    return json.dumps(payload).encode()
