"""The files service's NATS subjects: `files.<tenant>.<user>.uploaded` and `.deleted`.

Published on the JetStream stream `FILES` for caches and other interested services;
the payload is JSON `{path, size, tenant_id, user_id, time}` (`size` 0 for a deletion,
`time` RFC 3339 UTC). Names may contain `.`, which NATS reads as a token separator; it
is written `%2E` in subjects (`%` cannot occur in a name), as the catalog's events do.

An event is published in the background and at most waits `timeout_seconds`: a NATS
outage costs the event (logged as a warning), never the upload or deletion.
"""

import asyncio
import json
import logging
from datetime import UTC, datetime

from nats.js import JetStreamContext

from eoplex_common.events import ensure_stream, publish_event

log = logging.getLogger(__name__)

STREAM = "FILES"
SUBJECTS = ["files.>"]
# Events are for caches: a week is ample, and the stream does not grow forever.
MAX_AGE_SECONDS = 7 * 24 * 3600.0


def file_subject(*, tenant_id: str, user_id: str, change: str) -> str:
    """e.g. `files.t1.alice.uploaded`."""
    return f"files.{_token(tenant_id)}.{_token(user_id)}.{change}"


def _token(name: str) -> str:
    return name.replace(".", "%2E")


class FileEvents:
    """Publishes workspace changes on the `FILES` stream."""

    def __init__(self, *, js: JetStreamContext, timeout_seconds: float = 2.0) -> None:
        self.js = js
        self.timeout_seconds = timeout_seconds
        self._pending: set[asyncio.Task[None]] = set()

    async def ensure_stream(self) -> None:
        """Declare the stream at start-up."""
        await ensure_stream(
            self.js, name=STREAM, subjects=SUBJECTS, max_age_seconds=MAX_AGE_SECONDS
        )

    def file_changed(
        self, change: str, *, tenant_id: str, user_id: str, path: str, size: int
    ) -> None:
        """Announce that `path` was `uploaded` or `deleted` (in the background)."""
        payload = {
            "path": path,
            "size": size,
            "tenant_id": tenant_id,
            "user_id": user_id,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        subject = file_subject(tenant_id=tenant_id, user_id=user_id, change=change)
        task = asyncio.create_task(self._publish(subject, json.dumps(payload).encode()))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self, subject: str, payload: bytes) -> None:
        try:
            await asyncio.wait_for(
                publish_event(self.js, subject, payload), timeout=self.timeout_seconds
            )
        except Exception as error:
            # An event is never worth a failed upload: NATS down, slow, or anything else.
            log.warning("file event on %s not published: %r", subject, error)

    async def close(self) -> None:
        """Wait for the events still being published (each ends within its timeout)."""
        if self._pending:
            await asyncio.wait(set(self._pending))
