"""What became of a section of `make bench` beyond floor and executor: measured, skipped
on request, or failed.

A section that cannot run fails the bench: `bench.run` still measures and prints the
other sections, then names every failed one with its reason on stderr and exits
non-zero. Only its `--no-...` flags skip a section, and a skip is not a failure.

The figures of a section are a dict; one that was skipped is `{"skipped": reason}`,
one that failed `{"failed": reason, "traceback": text}`.
"""

import traceback
from collections.abc import Callable
from typing import Any

# The first line of the reason, as the table and results.json show it; stderr gets it all.
REASON_CHARACTERS = 300


def skipped(flag: str) -> dict[str, Any]:
    """The figures of a section its command-line flag skipped."""
    return {"skipped": f"skipped ({flag})"}


def failed(error: BaseException) -> dict[str, Any]:
    """The figures of a section stopped by `error`: why, in one line, and its traceback."""
    lines = f"{type(error).__name__}: {error}".strip().splitlines()
    return {
        "failed": lines[0][:REASON_CHARACTERS] if lines else type(error).__name__,
        "traceback": "".join(traceback.format_exception(error)),
    }


def run_section(measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The section's figures, or, if it raises, `failed(error)`, so that the sections after
    it still run and the bench fails at its end with every reason (see `failures`)."""
    try:
        return measure()
    except Exception as error:  # reported by `failures`, which fails the bench
        return failed(error)


def status(figures: dict[str, Any]) -> str | None:
    """`skipped (...)` or `FAILED: <reason>` for a section that measured nothing, else None."""
    if "skipped" in figures:
        return str(figures["skipped"])
    if "failed" in figures:
        return f"FAILED: {figures['failed']}"
    return None


def failures(sections: dict[str, dict[str, Any]]) -> dict[str, str]:
    """What stderr says of each failed section, by name: its reason and traceback, if any."""
    return {
        name: f"{name} could not run: {figures['failed']}\n{figures.get('traceback', '')}".rstrip()
        for name, figures in sections.items()
        if "failed" in figures
    }
