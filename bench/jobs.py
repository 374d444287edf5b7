"""The overhead of a trivial batch job through the local stack, against `POST /result`.

A process graph that computes nothing worth timing (`add(1, 2)`), saved as JSON and
loaded by the official `openeo` client, goes once through the batch path (`create_job`,
`start_job`, its status polled until `finished`: the queue, the scheduler, the local
launcher starting `run-job`, the events back) and once through `POST /result`; what
the first takes beyond the second is what a batch job costs by itself. The client's
own validation request is left out of both. Runs are sequential, so the demo user's
limit of concurrent jobs never holds one back.
"""

import json
import statistics
import time
from pathlib import Path
from typing import Any

import openeo

from eoplex.stack import LocalStack

TRIVIAL_GRAPH = {"add": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
JOB_TIMEOUT_SECONDS = 60.0
# The resolution of the job's time: well below the seconds a launch takes.
POLL_SECONDS = 0.05


def job_seconds(connection: openeo.Connection, graph: Path) -> float:
    """Seconds from `create_job` until the job reports `finished`; the job is deleted after.

    Raises RuntimeError if it ends in another status or is not finished in time.
    """
    start = time.perf_counter()
    job = connection.create_job(graph, title="bench: trivial job", validate=False)
    job.start_job()
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while (status := job.status()) != "finished":
        if status in ("error", "canceled") or time.monotonic() > deadline:
            raise RuntimeError(f"trivial batch job {job.job_id} is {status}, not finished")
        time.sleep(POLL_SECONDS)
    seconds = time.perf_counter() - start
    job.delete_job()
    return seconds


def synchronous_seconds(connection: openeo.Connection, graph: Path) -> float:
    """Seconds of `POST /result` for the same graph, checking that it answers 3."""
    start = time.perf_counter()
    result = connection.execute(graph, validate=False)
    seconds = time.perf_counter() - start
    if result != 3:
        raise RuntimeError(f"POST /result of add(1, 2) answered {result!r}")
    return seconds


def measure_batch_job(stack: LocalStack, work: Path, *, repetitions: int) -> dict[str, Any]:
    """The batch and the synchronous times of the trivial graph, each `repetitions` times,
    interleaved, and their medians."""
    graph = work / "trivial_graph.json"
    graph.write_text(json.dumps(TRIVIAL_GRAPH, indent=1))
    connection = openeo.connect(stack.api_url)
    connection.authenticate_basic(stack.demo_user, stack.demo_password)
    batch, synchronous = [], []
    for _ in range(repetitions):
        batch.append(job_seconds(connection, graph))
        synchronous.append(synchronous_seconds(connection, graph))
    return {
        "seconds": batch,
        "median_seconds": statistics.median(batch),
        "sync_seconds": synchronous,
        "sync_median_seconds": statistics.median(synchronous),
    }
