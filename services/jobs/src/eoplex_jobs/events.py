"""The jobs service's NATS subjects: the `JOBS` stream of the design's event contract."""

from nats.js import JetStreamContext

from eoplex_common.events import ensure_stream

JOBS_STREAM = "JOBS"
# Written by the executor and the launcher, consumed by the jobs service (see DESIGN.md).
JOBS_SUBJECTS = ["jobs.*.status", "jobs.*.progress", "jobs.*.log"]


async def ensure_jobs_stream(js: JetStreamContext) -> None:
    """Declare the `JOBS` stream, so events published before the first consumer are kept."""
    await ensure_stream(js, name=JOBS_STREAM, subjects=JOBS_SUBJECTS)
