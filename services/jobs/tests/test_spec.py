"""The spec a launcher hands `run-job`: the job, its owner and its pixel limits."""

import json
from datetime import UTC, datetime

from eoplex_jobs.spec import JobSpecs

JOB = {
    "_id": "j-1",
    "user_id": "alice",
    "tenant_id": "t2",
    "status": "running",
    "process": {"process_graph": {}},
    "created": datetime(2026, 1, 2, tzinfo=UTC),
    "budget": 1.0,
}


def test_the_spec_carries_the_job_its_owner_the_tenants_limit_and_what_the_budget_pays() -> None:
    specs = JobSpecs(max_pixels_for={"t2": 5_000}.__getitem__, cost_per_megapixel=0.01)
    spec = specs.of(JOB)
    assert (spec.job.job_id, spec.job.status, json.loads(spec.job.process_json)) == (
        "j-1",
        "running",
        {"process_graph": {}},
    )
    assert (spec.owner.user_id, spec.owner.tenant_id) == ("alice", "t2")
    # A budget of 1.0 at 0.01 per megapixel pays for 100 megapixels.
    assert (spec.max_pixels, spec.paid_pixels) == (5_000, 100_000_000)


def test_without_a_budget_or_a_limit_the_spec_limits_nothing() -> None:
    specs = JobSpecs(max_pixels_for=lambda tenant_id: 0, cost_per_megapixel=0.01)
    spec = specs.of({**JOB, "budget": None})
    assert (spec.max_pixels, spec.paid_pixels) == (0, 0)
