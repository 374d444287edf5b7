"""The document of `GET /jobs/{job_id}/estimate`, derived from the executor's figures.

The executor evaluates the graph lazily (nothing read or written) and reports the
pixels and bytes it would read and write. Costs are priced as synchronous results are
(`pixels read / 1e6 * cost_per_megapixel`), the duration assumes a configured
throughput over the pixels read or written, whichever is larger, and the size is
what the job would write.
"""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class ExecutorFigures:
    """What running the process would read and write (the executor's `Estimate`)."""

    pixels_read: int
    bytes_read: int
    pixels_written: int
    bytes_written: int
    files_written: int


def iso8601_duration(seconds: float) -> str:
    """e.g. 3725.5 -> `PT1H2M5.5S`; whole seconds are written without decimals."""
    rounded = round(max(seconds, 0.0), 1)
    hours, rest = divmod(rounded, 3600)
    minutes, secs = divmod(rest, 60)
    parts = "PT"
    if hours:
        parts += f"{int(hours)}H"
    if minutes:
        parts += f"{int(minutes)}M"
    if secs or parts == "PT":
        secs = round(secs, 1)
        parts += f"{int(secs)}S" if secs == int(secs) else f"{secs}S"
    return parts


def estimate_document(
    figures: ExecutorFigures, *, cost_per_megapixel: float, megapixels_per_second: float
) -> dict[str, Any]:
    """The openEO estimate `{costs, duration, size, downloads_included}`."""
    megapixels = max(figures.pixels_read, figures.pixels_written) / 1e6
    return {
        "costs": round(figures.pixels_read / 1e6 * cost_per_megapixel, 6),
        "duration": iso8601_duration(megapixels / megapixels_per_second),
        "size": figures.bytes_written,
        # Results may be downloaded as often as wanted while their links are valid.
        "downloads_included": None,
    }
