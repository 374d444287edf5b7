"""`POST /result` end to end: the local stack, the bench data registered, the openeo client.

The stack starts as the end-to-end tests start it (`tests/stack.py`: free port,
temporary state directory, a known demo password); the data is registered with
the operator command `eoplex admin collections ingest --reference` (files stay where
they are, as `tests/test_e2e_ingest.py` does) and the demo tenant's synchronous
pixel limit raised to the cube's size; then the official `openeo` client downloads
the maximum NDVI as GTiff, timed from request to file on disk. The same stack then
times a trivial batch job against `POST /result` (`bench.jobs`).

Whatever stops the stack or the downloads is raised; a batch job that cannot run is
reported as failed next to the downloads' figures (`bench.sections`). Either fails
`make bench`.
"""

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import openeo
from openeo.rest.datacube import DataCube

from bench.data import BANDS, COLLECTION_ID, DATES, RULES, SIZE
from bench.jobs import measure_batch_job
from bench.sections import run_section
from eoplex.demo import DEMO_TENANT
from eoplex.servers import free_port
from eoplex.stack import LocalStack, StackConfig

ADMIN_TIMEOUT_SECONDS = 300
CUBE_PIXELS = DATES * len(BANDS) * SIZE * SIZE


def admin(stack: LocalStack, *argv: str) -> None:
    """Run `eoplex admin <argv>` against the stack, as an operator would."""
    done = subprocess.run(
        [sys.executable, "-m", "eoplex", "admin", *argv],
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=ADMIN_TIMEOUT_SECONDS,
    )
    if done.returncode != 0:
        raise RuntimeError(f"eoplex admin {argv[0]} {argv[1]}: {done.stderr.strip()[-300:]}")


def prepare(stack: LocalStack, folder: Path) -> None:
    """Register `folder` as the collection (files referenced in place), and let the demo
    tenant read the whole cube synchronously: its default limit is just below it."""
    assert RULES.datetime_pattern and RULES.band_pattern
    admin(
        stack,
        "collections", "ingest",
        "--id", COLLECTION_ID,
        "--from", str(folder.absolute()),
        "--reference",
        "--datetime-pattern", RULES.datetime_pattern,
        "--band-pattern", RULES.band_pattern,
    )  # fmt: skip
    admin(stack, "tenants", "set-quota", DEMO_TENANT, "--max-sync-pixels", str(CUBE_PIXELS))


def download_times(stack: LocalStack, output: Path, repetitions: int) -> list[float]:
    """Seconds of each `download` of the maximum NDVI; the last result stays in `output`."""
    connection = openeo.connect(stack.api_url)
    connection.authenticate_basic(stack.demo_user, stack.demo_password)
    cube = connection.load_collection(COLLECTION_ID, bands=["B04", "B08"])
    result: DataCube = cube.ndvi(nir="B08", red="B04").max_time()
    seconds = []
    for _ in range(repetitions):
        start = time.perf_counter()
        result.download(output, format="GTiff")
        seconds.append(time.perf_counter() - start)
    return seconds


def measure_end_to_end(
    folder: Path, output: Path, *, repetitions: int, env: Mapping[str, str]
) -> dict[str, Any]:
    """Start the stack, register the data, time the downloads, then the trivial batch job
    (`bench.jobs`, its figures or why it failed under `batch_job`); the stack is stopped
    after."""
    state_dir = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    config = StackConfig(
        port=free_port(),
        state_dir=state_dir,
        demo_password=secrets.token_urlsafe(12),
        extra_env=dict(env),
    )
    stack = LocalStack(config=config)
    try:
        stack.start()
        # The demo collections are generated in the background: let them finish first.
        stack.wait_for_demo_data(timeout_seconds=300)
        prepare(stack, folder)
        figures: dict[str, Any] = {"seconds": download_times(stack, output, repetitions)}
        # A batch job that fails keeps the downloads' figures; `bench.run` fails the bench.
        figures["batch_job"] = run_section(
            lambda: measure_batch_job(stack, output.parent, repetitions=repetitions)
        )
        return figures
    finally:
        stack.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
