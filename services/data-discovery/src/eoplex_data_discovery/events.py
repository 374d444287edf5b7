"""The catalog's side of the `CATALOG` stream (contract in `eoplex_common.streams`)."""

from nats.js import JetStreamContext

from eoplex_common.events import publish_event
from eoplex_common.streams import (
    CATALOG,
    collection_removed_payload,
    collection_subject,
    collection_updated_payload,
)


class CatalogEvents:
    """Publishes catalog changes on the `CATALOG` stream."""

    def __init__(self, *, js: JetStreamContext) -> None:
        self.js = js

    async def ensure_stream(self) -> None:
        """Declare the stream at start-up."""
        await CATALOG.declare(self.js)

    async def collection_updated(self, collection_id: str, *, version: str) -> None:
        """A new version of the collection went live."""
        subject = collection_subject(collection_id, "updated")
        await publish_event(
            self.js, subject, collection_updated_payload(collection_id, version=version)
        )

    async def collection_removed(self, collection_id: str) -> None:
        """The collection was deleted."""
        subject = collection_subject(collection_id, "removed")
        await publish_event(self.js, subject, collection_removed_payload(collection_id))
