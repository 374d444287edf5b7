"""Our executor on the benchmark's process graph, in-process, as one `serve` worker runs it.

The catalog documents are built from the data folder by the project's ingest code
(`LocalCatalog.from_folder` of the executor tests, files referenced where they are);
the graph, as the official `openeo` client writes it, comes from a JSON file; it runs
through `eoplex_executor.engine.graph.execute` in an `Environment` with a scratch directory
and `Limits(single_file=True)`, with dask's threaded scheduler on every CPU as a
worker of the `serve` pool sets it up.

`python -m bench.executor_run FOLDER GRAPH OUTPUT [--profile STATS] [--threads N]`
moves the result to OUTPUT and prints a `bench.measure` report; with `--profile` the
run is also profiled (see `run_graph`). With `--data-discovery HOST:PORT` the catalog is
that data-discovery service instead (`GrpcCatalog`, as a worker of the `serve` pool
uses it), and FOLDER is not read.
"""

import argparse
import cProfile
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import dask
from dask.diagnostics import Profiler
from dask.utils import key_split

import eoplex_executor.processes  # noqa: F401  (every process, before the baseline memory is taken)
from bench.data import COLLECTION_ID, RULES
from bench.measure import measure, print_report
from eoplex_executor.engine.environment import Environment, Limits
from eoplex_executor.engine.graph import execute
from eoplex_executor.io.clients import GrpcCatalog
from services.executor.tests.catalog import LocalCatalog

# A search of a collection behind a STAC API pages through the upstream.
CATALOG_TIMEOUT_SECONDS = 120.0


def run_graph(process: dict[str, Any], env: Environment, profile: Path | None) -> None:
    """Execute the process; when `profile` names a file, under cProfile (which sees only the
    calling thread) and dask's task profiler (which sees the worker threads), whose time
    per kind of task is written as JSON next to it."""
    if profile is None:
        execute(process, env)
        return
    profiler = cProfile.Profile()
    with Profiler() as tasks:
        profiler.runcall(execute, process, env)
    profiler.dump_stats(profile)
    profile.with_suffix(".tasks.json").write_text(json.dumps(task_seconds(tasks.results)))


def task_seconds(results: list[Any]) -> dict[str, dict[str, float]]:
    """Number of tasks and their summed seconds, per kind of task (`read_block`, `store`...)."""
    kinds: dict[str, dict[str, float]] = {}
    for result in results:
        kind = kinds.setdefault(key_split(result.key), {"tasks": 0, "seconds": 0.0})
        kind["tasks"] += 1
        kind["seconds"] += result.end_time - result.start_time
    return dict(sorted(kinds.items(), key=lambda item: -item[1]["seconds"]))


def main() -> None:
    parser = argparse.ArgumentParser(description="The executor side of the benchmark.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("graph", type=Path, help="a JSON process graph (flat_graph)")
    parser.add_argument("output", type=Path)
    parser.add_argument("--profile", type=Path, help="write cProfile statistics here")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="dask threads")
    parser.add_argument("--data-discovery", help="HOST:PORT of the catalog to use instead")
    args = parser.parse_args()

    dask.config.set(scheduler="threads", num_workers=args.threads)
    catalog: LocalCatalog | GrpcCatalog
    if args.data_discovery:
        catalog = GrpcCatalog(args.data_discovery, timeout_seconds=CATALOG_TIMEOUT_SECONDS)
    else:
        catalog = LocalCatalog.from_folder(args.folder, collection_id=COLLECTION_ID, rules=RULES)
    process = {"process_graph": json.loads(args.graph.read_text())}
    with tempfile.TemporaryDirectory(prefix="bench-executor-") as scratch:
        env = Environment(catalog=catalog, scratch_dir=Path(scratch), limits=Limits())
        report = measure(lambda: run_graph(process, env, args.profile))
        (result,) = env.outputs
        shutil.move(result.path, args.output)
    print_report(report)


if __name__ == "__main__":
    main()
