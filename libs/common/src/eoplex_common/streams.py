"""Every NATS JetStream stream services use to talk to each other: name, subjects, payloads.

- `JOBS`: `jobs.<job_id>.status|progress|log`, published by the executor's `run-job`
  (and the launcher), consumed by the jobs service; kept a week. Its payloads are the
  contract in `eoplex_common.job_events`.
- `CATALOG`: `catalog.collections.<id>.updated` (`{"collection_id", "version"}`: a new
  version went live) and `.removed` (`{"collection_id"}`), published by data-discovery.
  Every replica of the executor's `serve` watches it (`watch_catalog`): a re-ingest
  overwrites assets under the same keys, which its workers' GDAL would otherwise go on
  reading from its cache. Collection metadata is cached nowhere: each use asks the catalog.

Collection ids may contain `.`, which NATS reads as a token separator; it is written
`%2E` in subjects (`%` cannot occur in an id), and payloads carry the id unchanged.
(The jobs service's `JOBQUEUE` work queue is its own, published and consumed by it.)
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from eoplex_common.events import ensure_stream

# Consumers apply events within seconds; a week of history covers any outage, and the
# stream does not grow forever.
WEEK_SECONDS = 7 * 24 * 3600.0


@dataclass(frozen=True)
class Stream:
    """A stream: its name, the subjects it keeps, and how long (None: until deleted)."""

    name: str
    subjects: tuple[str, ...]
    max_age_seconds: float | None = None

    async def declare(self, js: JetStreamContext) -> None:
        """Declare the stream (or update its subjects and age limit), so that events
        published before any consumer are kept."""
        await ensure_stream(
            js, name=self.name, subjects=list(self.subjects), max_age_seconds=self.max_age_seconds
        )


JOBS = Stream("JOBS", ("jobs.*.status", "jobs.*.progress", "jobs.*.log"), WEEK_SECONDS)
CATALOG = Stream("CATALOG", ("catalog.collections.>",))

CollectionChange = Literal["updated", "removed"]


def collection_subject(collection_id: str, change: CollectionChange) -> str:
    """e.g. `catalog.collections.SENTINEL2_L2A_DEMO.updated`."""
    return f"catalog.collections.{collection_id.replace('.', '%2E')}.{change}"


def collection_updated_payload(collection_id: str, *, version: str) -> bytes:
    """The JSON of a `catalog.collections.<id>.updated` event."""
    return json.dumps({"collection_id": collection_id, "version": version}).encode()


def collection_removed_payload(collection_id: str) -> bytes:
    """The JSON of a `catalog.collections.<id>.removed` event."""
    return json.dumps({"collection_id": collection_id}).encode()


async def watch_catalog(
    js: JetStreamContext, *, on_change: Callable[[], None]
) -> JetStreamContext.PushSubscription:
    """Call `on_change` for each catalog event published from now on. The consumer is
    ordered and this process's own (no durable name), so each replica sees every event;
    the stream is declared first, as the catalog may start later."""
    await CATALOG.declare(js)

    async def deliver(message: Msg) -> None:
        on_change()

    return await js.subscribe(
        CATALOG.subjects[0], cb=deliver, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW
    )
