"""What a process would read, produce and write, found without reading or writing any pixel.

`GET /jobs/{job_id}/estimate` and the start of a batch job (through the jobs service,
which prices it and holds it against the tenant's limit and the job's budget): the
process is validated and evaluated as a batch job would run it, but lazily.
`load_collection` only asks the catalog and builds its lazy cube, counting the pixels and
the bytes they take in the collection's data types; every process counts the values it
produces beyond its arguments (`eoplex_executor.engine.pixel_meter`); `save_result` counts the
values, bytes and files it would write instead of computing the cube.
"""

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import eoplex_executor.processes  # noqa: F401  (registers every process)
from eoplex_executor.engine.environment import Catalog, Environment, Estimate, Limits
from eoplex_executor.engine.run import run_process
from eoplex_executor.io.clients import CallerWorkspace


@dataclass(frozen=True)
class ProcessEstimate:
    """What running a process as a batch job would read, produce and write (see
    `estimate_process`). Its pixel count, priced and limited, is read plus produced."""

    pixels_read: int
    bytes_read: int
    # Values the processes would produce beyond their arguments (a finer resampling, ...).
    pixels_produced: int
    pixels_written: int
    bytes_written: int
    files_written: int


def estimate_process(
    process: Mapping[str, Any], catalog: Catalog, *, caller: CallerWorkspace | None = None
) -> ProcessEstimate:
    """Evaluate `process` in estimate mode, with the `caller`'s user-defined processes and
    files; what it would read, produce and write as a batch job.

    Blocking (catalog calls). Raises what validation and the processes raise before
    reading data: ProcessGraphMissing, ProcessGraphInvalid, ProcessUnsupported,
    ProcessParameterInvalid, CollectionNotFound, ...
    """
    tally = Estimate()
    # Nothing is written in estimate mode; the directory only keeps a mistake contained.
    with tempfile.TemporaryDirectory(prefix="eoplex-estimate-") as scratch:
        env = Environment(
            catalog=catalog,
            scratch_dir=Path(scratch),
            limits=Limits(single_file=False),
            estimate=tally,
            user_processes=(caller or CallerWorkspace()).user_processes,
            user_files=(caller or CallerWorkspace()).user_files,
            job_results=(caller or CallerWorkspace()).job_results,
        )
        try:
            run_process(process, env)
        finally:
            env.close()
    return ProcessEstimate(
        pixels_read=env.pixels,
        bytes_read=env.bytes_read,
        pixels_produced=env.produced.pixels,
        pixels_written=tally.pixels_written,
        bytes_written=tally.bytes_written,
        files_written=tally.files_written,
    )
