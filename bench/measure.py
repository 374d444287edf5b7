"""What a benchmark child process reports: its work time and memory, as one JSON line.

Each side (floor, executor) runs in a process of its own so that its peak memory is
its own: `VmHWM` (peak resident set) of `/proc/self/status`, and `VmRSS` once its
imports are done, so that the memory the work itself needs can be told apart from
what the interpreter and libraries take.
"""

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def status_bytes(field: str) -> int:
    """A `kB` field of `/proc/self/status` (e.g. `VmHWM`), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def measure(work: Callable[[], Any]) -> dict[str, float]:
    """Run `work` and say how long it took (wall, and CPU of every thread) and how much
    memory the process held."""
    baseline = status_bytes("VmRSS")
    start, cpu_start = time.perf_counter(), time.process_time()
    work()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_rss_bytes": status_bytes("VmHWM"),
        "baseline_rss_bytes": baseline,
    }


def print_report(report: dict[str, float]) -> None:
    """The child's last line of output, which `bench.run` reads."""
    print(json.dumps(report), flush=True)
