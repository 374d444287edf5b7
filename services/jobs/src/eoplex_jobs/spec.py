"""The spec a launcher hands the executor's `run-job` at launch (`openeo.jobs.v1.JobSpec`,
serialized): the job, its owner and the pixels it may read and produce. The batch path
is one way: the executor never asks the jobs service for anything."""

from collections.abc import Callable
from dataclasses import dataclass

from eoplex_common.documents import Document
from eoplex_jobs.estimate import paid_pixels
from eoplex_jobs.servicer import job_message
from eoplex_proto.openeo.jobs.v1 import jobs_pb2 as pb


@dataclass(frozen=True, kw_only=True)
class JobSpecs:
    """Builds the spec of a job being launched, with its tenant's batch pixel limit
    (`max_pixels_for`, 0: no limit) and what its budget pays for."""

    max_pixels_for: Callable[[str], int]
    cost_per_megapixel: float

    def of(self, job: Document) -> pb.JobSpec:
        """The spec of the stored `job`."""
        return pb.JobSpec(
            job=job_message(job),
            owner=pb.Owner(user_id=job["user_id"], tenant_id=job["tenant_id"]),
            max_pixels=self.max_pixels_for(job["tenant_id"]),
            paid_pixels=paid_pixels(job.get("budget"), cost_per_megapixel=self.cost_per_megapixel),
        )
