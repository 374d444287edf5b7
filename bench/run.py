"""`make bench`: the executor against the hand-written floor, on the same data, in one run.

Measured, each side in a process of its own (so that peak memory is its own), the
repetitions interleaved (floor, executor, floor, executor, ...) so that a machine
that slows down slows both:

- work time: the floor (`bench.floor`) and the executor on the equivalent process
  graph (`bench.executor_run`), median of the repetitions, and their ratio;
- peak memory (VmHWM, median of the repetitions) of each and the ratio, with 12
  dates and with 6, since it must not grow with the number of dates;
- correctness: both results against a float64 numpy reference computed here from
  the COGs: largest absolute difference, identical no-data masks, identical grid;
- `POST /result` end to end through the local stack and the `openeo` client;
- on the same stack, a trivial batch job (`add(1, 2)`) from `create_job` to
  `finished` with the local launcher, against the same graph through `POST /result`
  (`bench.jobs`);
- the jobs service's queue in-process on real NATS and MongoDB: jobs started,
  admitted and tracked to `finished` per second, the executor stood in for by a
  launcher that reports at once (`bench.job_queue`);
- a rescaling UDF under `apply` (its code in confined UDF processes) against the same
  arithmetic as openEO processes, on a 192 MiB in-memory cube, and the start of one UDF
  process (`bench.udf`);
- the same NDVI maximum of the same files served by a STAC API over HTTP with 20 ms
  latency per request, the executor's `load_collection` of the external collection
  against the floor on the same URLs: work time, HTTP requests and bytes, and the item
  search of 10,000 upstream items (`bench.stac_api`).

Targets (the issue's): executor work <= 1.3x the floor, end to end <= 2x the floor,
peak memory <= 2x the floor's and not growing with dates, results within 1e-6 of
the reference with identical no-data masks. These are ratios measured in the same
run, never assertions of the test suite.

Results are printed as a table and written to `.state/bench/results.json`. A section
that cannot run fails the bench: floor and executor at once; end to end, batch job,
job queue, UDF and STAC API once the others are measured and printed, each named with
its reason on stderr, and the exit status is 1 (`bench.sections`). `--no-end-to-end`
(which also skips the batch job), `--no-job-queue`, `--no-udf` and `--no-stac-api` skip
a section; that is no failure.
"""

import argparse
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import rasterio
from openeo.rest.datacube import DataCube

from bench.data import (
    COLLECTION_ID,
    DATES,
    DEFAULT_FOLDER,
    dates,
    ensure_data,
    expected_files,
    file_name,
)
from bench.sections import failures, run_section, skipped, status

WORK_DIR = Path(".state/bench")
TOLERANCE = 1e-6
GROWTH_TOLERANCE = 1.10  # peak memory with 12 dates over that with 6
TARGETS = {"executor_work": 1.3, "end_to_end": 2.0, "peak_memory": 2.0}
# The same for both sides, and what a worker of the `serve` pool uses by default
# (`OPENEO_EXECUTOR_GDAL_CACHEMAX_MB`), so neither gets a bigger GDAL block cache.
GDAL_CACHEMAX_MB = 256
MIB = 1024 * 1024
SIDES = ("floor", "executor", "floor_half", "executor_half")
# Both sides compute with this many threads: the floor's strips, the executor's dask.
THREADS = os.cpu_count() or 1


@dataclass(frozen=True)
class Run:
    """One child process: its work's wall and CPU time, its whole life, its memory."""

    seconds: float
    wall_seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    baseline_rss_bytes: int


def child_environment() -> dict[str, str]:
    """The environment of every measured process: the same GDAL block cache, UTC."""
    return {
        **os.environ,
        "GDAL_CACHEMAX": str(GDAL_CACHEMAX_MB),
        "OPENEO_EXECUTOR_GDAL_CACHEMAX_MB": str(GDAL_CACHEMAX_MB),
        "TZ": "UTC",
    }


def warm_page_cache(folder: Path) -> None:
    """Read every input once, so the first measured run does not pay for the disk alone."""
    for path in expected_files(folder):
        path.read_bytes()


def client_graph(date_count: int) -> dict[str, Any]:
    """The process graph the official `openeo` client writes for NDVI, max over time, GTiff."""
    first, end = dates()[0], dates(date_count + 1)[-1]  # the end is excluded
    extent = None if date_count == DATES else [f"{first:%Y-%m-%d}", f"{end:%Y-%m-%d}"]
    cube = DataCube.load_collection(
        COLLECTION_ID, connection=None, bands=["B04", "B08"], temporal_extent=extent
    )
    graph: dict[str, Any] = (
        cube.ndvi(nir="B08", red="B04").max_time().save_result("GTiff").flat_graph()
    )
    return graph


def run_child(argv: list[str], extra_env: Mapping[str, str] | None = None) -> Run:
    """Run `python -m <argv>` (with `extra_env` on top of `child_environment`) and read the
    report of its last line of output."""
    start = time.perf_counter()
    env = {**child_environment(), **(extra_env or {})}
    done = subprocess.run([sys.executable, "-m", *argv], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed:\n{done.stderr.strip()[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(
        seconds=report["seconds"],
        wall_seconds=wall,
        cpu_seconds=report["cpu_seconds"],
        peak_rss_bytes=report["peak_rss_bytes"],
        baseline_rss_bytes=report["baseline_rss_bytes"],
    )


def floor_argv(folder: Path, output: Path, date_count: int) -> list[str]:
    threads = ["--threads", str(THREADS)]
    return ["bench.floor", str(folder), str(output), "--dates", str(date_count), *threads]


def executor_argv(folder: Path, output: Path, date_count: int, work: Path) -> list[str]:
    graph_path = work / f"graph_{date_count}_dates.json"
    graph_path.write_text(json.dumps(client_graph(date_count), indent=1))
    threads = ["--threads", str(THREADS)]
    return ["bench.executor_run", str(folder), str(graph_path), str(output), *threads]


def reference_ndvi_max(folder: Path) -> np.ndarray:
    """Maximum NDVI over every date in float64, NaN where no date has both bands."""
    maximum: np.ndarray | None = None
    for instant in dates():
        values = []
        for band in ("B04", "B08"):
            with rasterio.open(folder / file_name(instant, band)) as dataset:
                raw = dataset.read(1)
                values.append(np.where(raw == dataset.nodata, np.nan, raw.astype(np.float64)))
        red, nir = values
        ndvi = (nir - red) / (nir + red)
        maximum = ndvi if maximum is None else np.fmax(maximum, ndvi)
    assert maximum is not None
    return maximum


def compare(output: Path, reference: np.ndarray, folder: Path) -> dict[str, Any]:
    """Largest difference to the reference, and whether no-data masks and grids are equal."""
    with rasterio.open(output) as dataset:
        values = dataset.read(1).astype(np.float64)
        grid = (dataset.crs, dataset.transform, dataset.shape)
        nodata = dataset.nodata
    with rasterio.open(expected_files(folder)[0]) as source:
        same_grid = grid == (source.crs, source.transform, source.shape)
    if values.shape != reference.shape:
        return {"same_grid": False, "masks_identical": False, "max_abs_diff": None}
    masks_identical = bool(np.array_equal(np.isnan(values), np.isnan(reference)))
    valid = ~np.isnan(values) & ~np.isnan(reference)
    difference = float(np.abs(values[valid] - reference[valid]).max()) if valid.any() else 0.0
    return {
        "same_grid": bool(same_grid),
        "masks_identical": masks_identical,
        "max_abs_diff": difference,
        "nodata_pixels": int(np.isnan(values).sum()),
        "reference_nodata_pixels": int(np.isnan(reference).sum()),
        "nodata_value_is_nan": nodata is not None and bool(np.isnan(nodata)),
    }


def measure_sides(folder: Path, work: Path, repetitions: int) -> dict[str, list[Run]]:
    """Floor and executor on every date and on half of them, interleaved, `repetitions`
    times each; keyed `floor`, `executor`, `floor_half`, `executor_half`."""
    half = DATES // 2
    runs: dict[str, list[Run]] = {side: [] for side in SIDES}
    for _ in range(repetitions):
        for count, suffix in ((DATES, ""), (half, "_half")):
            floor_output = work / f"floor{suffix}.tif"
            runs["floor" + suffix].append(run_child(floor_argv(folder, floor_output, count)))
            executor_output = work / f"executor{suffix}.tif"
            argv = executor_argv(folder, executor_output, count, work)
            runs["executor" + suffix].append(run_child(argv))
    return runs


def measure_end_to_end(folder: Path, work: Path, repetitions: int) -> dict[str, Any]:
    """The end-to-end figures and the batch job's, and the downloaded result's path."""
    # Imported here: only this section needs the stack's packages.
    from bench.end_to_end import measure_end_to_end as measure

    output = work / "end_to_end.tif"
    figures = measure(folder, output, repetitions=repetitions, env=child_environment())
    return {**figures, "output": output}


def measure_job_queue() -> dict[str, Any]:
    """The queue's throughput."""
    from bench.job_queue import measure_queue_throughput

    return measure_queue_throughput()


def measure_udf(repetitions: int) -> dict[str, Any]:
    """The UDF's cost against native processes."""
    from bench.udf import measure_udf as measure

    return measure(repetitions)


def measure_stac_api(
    folder: Path, work: Path, repetitions: int, reference: np.ndarray
) -> dict[str, Any]:
    """The STAC API section's figures."""
    from bench.stac_api import measure_stac_api as measure

    return measure(
        folder,
        work,
        repetitions=repetitions,
        threads=THREADS,
        run_child=run_child,
        check=lambda output: compare(output, reference, folder),
        env=child_environment(),
    )


def batch_job_figures(end_to_end: dict[str, Any]) -> dict[str, Any]:
    """The batch job's figures, measured on the end-to-end stack: skipped or not run with it."""
    if "skipped" in end_to_end:
        return dict(end_to_end)
    if "failed" in end_to_end:
        return {"failed": "not run: the end-to-end section failed"}
    figures: dict[str, Any] = end_to_end["batch_job"]
    return figures


def profile_executor(folder: Path, work: Path, top: int = 20) -> None:
    """Run the executor once, profiled with one dask thread so that the task times add up
    to the wall time, and print where its time goes."""
    stats_path = work / "executor.prof"
    argv = executor_argv(folder, work / "executor_profiled.tif", DATES, work)
    run = run_child([*argv, "--profile", str(stats_path), "--threads", "1"])
    print(f"\nprofiled executor (1 dask thread): {run.seconds:.2f} s of work; dask tasks:")
    for kind, figures in json.loads(stats_path.with_suffix(".tasks.json").read_text()).items():
        print(f"  {kind:40}{figures['tasks']:6.0f} tasks {figures['seconds']:8.2f} s")
    print("calling thread (cProfile), by cumulative time, engine and GDAL calls:")
    stats = pstats.Stats(str(stats_path)).sort_stats("cumulative")
    stats.print_stats(r"eoplex_executor|rasterio|dask/array/core.py:\d+\(store\)", top)


def summarise(runs: list[Run]) -> dict[str, float]:
    """The median of each figure over the repetitions."""
    names = [figure.name for figure in fields(Run)]
    return {name: statistics.median(getattr(run, name) for run in runs) for name in names}


def verdict(ratio: float | None, target: float) -> str:
    if ratio is None:
        return "n/a"
    return "ok" if ratio <= target else "MISSED"


def build_results(
    runs: dict[str, list[Run]],
    correctness: dict[str, dict[str, Any]],
    end_to_end: dict[str, Any],
    job_queue: dict[str, Any],
    udf: dict[str, Any],
    stac_api: dict[str, Any],
) -> dict[str, Any]:
    """Every figure and ratio, as written to results.json."""
    floor, executor = summarise(runs["floor"]), summarise(runs["executor"])
    half = {side: summarise(runs[f"{side}_half"]) for side in ("floor", "executor")}
    results: dict[str, Any] = {
        "environment": {
            "GDAL_CACHEMAX_MB": GDAL_CACHEMAX_MB,
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg()[0],
        },
        "floor": floor,
        "executor": executor,
        "half_dates": half,
        "runs": {side: [asdict(run) for run in side_runs] for side, side_runs in runs.items()},
        "ratios": {
            "executor_work": executor["seconds"] / floor["seconds"],
            "peak_memory": executor["peak_rss_bytes"] / floor["peak_rss_bytes"],
            "work_memory": (executor["peak_rss_bytes"] - executor["baseline_rss_bytes"])
            / (floor["peak_rss_bytes"] - floor["baseline_rss_bytes"]),
            "executor_memory_growth": executor["peak_rss_bytes"]
            / half["executor"]["peak_rss_bytes"],
            "floor_memory_growth": floor["peak_rss_bytes"] / half["floor"]["peak_rss_bytes"],
        },
        "correctness": correctness,
        "end_to_end": {
            key: value for key, value in end_to_end.items() if key not in ("output", "batch_job")
        },
        "batch_job": batch_job_figures(end_to_end),
        "job_queue": job_queue,
        "udf": udf,
        "stac_api": stac_api,
    }
    if "seconds" in end_to_end:
        median = statistics.median(end_to_end["seconds"])
        results["end_to_end"]["median_seconds"] = median
        results["ratios"]["end_to_end"] = median / floor["seconds"]
    return results


def row(label: str, floor: float, executor: float, digits: int, target: float | None = None) -> str:
    """One line of the table: both sides, their ratio and, if any, the target it is held to."""
    ratio = executor / floor
    judged = f"  <= {target} {verdict(ratio, target)}" if target is not None else ""
    return f"{label:34}{floor:12.{digits}f}{executor:12.{digits}f}{ratio:9.2f}{judged}"


def table(results: dict[str, Any]) -> str:
    """The results as a readable table."""
    floor, executor, half = results["floor"], results["executor"], results["half_dates"]

    def mib(figures: dict[str, Any], key: str = "peak_rss_bytes") -> float:
        return float(figures[key]) / MIB

    lines = [
        f"{'':34}{'floor':>12}{'executor':>12}{'ratio':>9}  target",
        row("work time, median (s)", floor["seconds"], executor["seconds"], 2,
            TARGETS["executor_work"]),
        row("work CPU time, median (s)", floor["cpu_seconds"], executor["cpu_seconds"], 2),
        row("process life incl. imports (s)", floor["wall_seconds"], executor["wall_seconds"], 2),
        row(f"peak RSS, {DATES} dates, median (MiB)", mib(floor), mib(executor), 0,
            TARGETS["peak_memory"]),
        row("  of which after imports (MiB)",
            mib(floor) - mib(floor, "baseline_rss_bytes"),
            mib(executor) - mib(executor, "baseline_rss_bytes"), 0),
        row(f"peak RSS, {DATES // 2} dates, median (MiB)", mib(half["floor"]),
            mib(half["executor"]), 0),
        f"{f'peak RSS growth {DATES} / {DATES // 2} dates':34}"
        f"{results['ratios']['floor_memory_growth']:12.2f}"
        f"{results['ratios']['executor_memory_growth']:12.2f}{'':9}  <= {GROWTH_TOLERANCE} "
        f"{verdict(results['ratios']['executor_memory_growth'], GROWTH_TOLERANCE)}",
    ]  # fmt: skip
    lines += correctness_lines(results["correctness"])
    lines += end_to_end_lines(results)
    lines += batch_job_lines(results)
    lines += stac_api_lines(results["stac_api"])
    lines.append(
        f"same environment for both: GDAL_CACHEMAX={GDAL_CACHEMAX_MB} MB, TZ=UTC, "
        f"{os.cpu_count()} CPUs; {THREADS} threads on each side (dask's, the floor's strips); "
        f"load average at the end {results['environment']['load_average_at_end']:.1f} "
        "(other work on the machine inflates both sides)."
    )
    return "\n".join(lines)


def correctness_lines(correctness: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for side, figures in correctness.items():
        difference = figures["max_abs_diff"]
        ok = (
            difference is not None
            and difference <= TOLERANCE
            and figures["masks_identical"]
            and figures["same_grid"]
        )
        lines.append(
            f"correctness {side + ':':12} max |diff| vs float64 = {difference!s:<24}"
            f"masks identical: {figures['masks_identical']}, grid identical: "
            f"{figures['same_grid']}  {'ok' if ok else 'MISSED'}"
        )
    return lines


def end_to_end_lines(results: dict[str, Any]) -> list[str]:
    figures = results["end_to_end"]
    if (not_measured := status(figures)) is not None:
        return [f"POST /result end to end: {not_measured}"]
    ratio = results["ratios"]["end_to_end"]
    runs = ", ".join(f"{seconds:.2f}" for seconds in figures["seconds"])
    return [
        f"POST /result end to end (openeo client download), median {figures['median_seconds']:.2f}"
        f" s (runs: {runs}); ratio to the floor's work time {ratio:.2f}  <= "
        f"{TARGETS['end_to_end']} {verdict(ratio, TARGETS['end_to_end'])}"
    ]


def batch_job_lines(results: dict[str, Any]) -> list[str]:
    """The trivial batch job against `POST /result`, and the queue's throughput."""
    job, queue = results["batch_job"], results["job_queue"]
    if (not_measured := status(job)) is not None:
        lines = [f"trivial batch job: {not_measured}"]
    else:
        runs = ", ".join(f"{seconds:.2f}" for seconds in job["seconds"])
        lines = [
            f"trivial batch job add(1, 2), create_job -> finished (local launcher), median "
            f"{job['median_seconds']:.2f} s (runs: {runs}); POST /result of the same graph, "
            f"median {job['sync_median_seconds']:.3f} s"
        ]
    lines += udf_lines(results["udf"])
    if (not_measured := status(queue)) is not None:
        return [*lines, f"job queue: {not_measured}"]
    return [
        *lines,
        f"job queue (in-process, real NATS + MongoDB, launcher reporting at once): "
        f"{queue['jobs']} jobs started -> finished in {queue['seconds']:.2f} s = "
        f"{queue['jobs_per_second']:.1f} jobs/s admitted and tracked (starting them all: "
        f"{queue['start_seconds']:.2f} s)",
    ]


def udf_lines(udf: dict[str, Any]) -> list[str]:
    """The UDF against native processes."""
    if (not_measured := status(udf)) is not None:
        return [f"UDF: {not_measured}"]
    return [
        f"UDF rescale under apply ({udf['megabytes']:.0f} MiB in memory): median "
        f"{udf['udf_seconds']:.2f} s against {udf['native_seconds']:.2f} s as multiply + add, "
        f"ratio {udf['ratio']:.2f}; results equal: {udf['equal']}; one UDF process from "
        f"start to first answer: {udf['process_start_seconds']:.2f} s"
    ]


def stac_api_lines(figures: dict[str, Any]) -> list[str]:
    """The STAC API section against its floor."""
    if (not_measured := status(figures)) is not None:
        return [f"STAC API over HTTP: {not_measured}"]
    from bench.stac_api import lines

    return lines(figures)


def fail(failed: dict[str, str]) -> NoReturn:
    """Name every section that could not run, with its reason, on stderr; exit status 1."""
    print("\n\n".join(failed.values()), file=sys.stderr)
    raise SystemExit(f"make bench failed, section(s) that could not run: {', '.join(failed)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_FOLDER, help="the COG folder")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--no-end-to-end", action="store_true", help="skip POST /result")
    parser.add_argument("--no-job-queue", action="store_true", help="skip the queue throughput")
    parser.add_argument("--no-udf", action="store_true", help="skip the UDF's cost")
    parser.add_argument("--no-stac-api", action="store_true", help="skip the STAC API section")
    parser.add_argument("--profile", action="store_true", help="also cProfile the executor")
    args = parser.parse_args()
    work = WORK_DIR / "out"
    work.mkdir(parents=True, exist_ok=True)
    folder = ensure_data(args.data)
    warm_page_cache(folder)
    print(f"data: {DATES} dates x 2 bands of 2048 x 2048 uint16 COGs in {folder}", flush=True)
    runs = measure_sides(folder, work, args.repetitions)
    reference = reference_ndvi_max(folder)
    correctness = {
        "floor": compare(work / "floor.tif", reference, folder),
        "executor": compare(work / "executor.tif", reference, folder),
    }
    end_to_end = skipped("--no-end-to-end")
    if not args.no_end_to_end:
        end_to_end = run_section(lambda: measure_end_to_end(folder, work, args.repetitions))
        if "output" in end_to_end:
            correctness["end_to_end"] = compare(end_to_end["output"], reference, folder)
    job_queue = skipped("--no-job-queue") if args.no_job_queue else run_section(measure_job_queue)
    udf = skipped("--no-udf")
    if not args.no_udf:
        udf = run_section(lambda: measure_udf(args.repetitions))
    stac_api = skipped("--no-stac-api")
    if not args.no_stac_api:
        stac_api = run_section(lambda: measure_stac_api(folder, work, args.repetitions, reference))
    results = build_results(runs, correctness, end_to_end, job_queue, udf, stac_api)
    (WORK_DIR / "results.json").write_text(json.dumps(results, indent=1))
    print(table(results))
    print(f"written: {WORK_DIR / 'results.json'}")
    if args.profile:
        profile_executor(folder, work)
    names = ("end_to_end", "batch_job", "job_queue", "udf", "stac_api")
    sections = {name: results[name] for name in names}
    if failed := failures(sections):
        fail(failed)


if __name__ == "__main__":
    main()
