"""What the scheduler, the reconciler and CancelJob need from a launcher."""

from dataclasses import dataclass
from typing import Protocol

from eoplex_common.documents import Document
from eoplex_proto.openeo.jobs.v1 import jobs_pb2


@dataclass(frozen=True)
class LaunchStatus:
    """Whether a job's executor still runs; if not, `reason` says why it is gone."""

    alive: bool
    reason: str = ""


class Launcher(Protocol):
    """Starts, watches and stops the executor of a batch job (`run-job <job_id> <spec>`)."""

    async def launch(self, job: Document, spec: jobs_pb2.JobSpec) -> Document:
        """Start the executor of `job`, handing it `spec`; the `launcher_ref` to store in
        the job."""
        ...

    async def status(self, job: Document) -> LaunchStatus:
        """Whether the executor of `job` (found through its `launcher_ref`) is alive."""
        ...

    async def cancel(self, job: Document) -> None:
        """Stop the executor of `job`, if it still runs."""
        ...
