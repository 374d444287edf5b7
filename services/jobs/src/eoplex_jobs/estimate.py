"""The document of `GET /jobs/{job_id}/estimate`, derived from the executor's figures, and
what a job's budget pays for.

The executor evaluates the graph lazily (nothing read or written) and reports the
pixels and bytes it would read and write, and the values its processes would produce
beyond their input (a finer resampling, more labels, merged cubes). A job's pixels are
those read plus those produced; they are priced as synchronous results are
(`eoplex_common.pricing`) and held against the tenant's batch limit and the
job's budget when it starts. The duration assumes a configured throughput over the
job's pixels or the pixels written, whichever is larger, and the size is what the job
would write.
"""

from dataclasses import dataclass
from typing import Any

from eoplex_common.pricing import PIXELS_PER_MEGAPIXEL, pixels_paid_by, price

# The largest pixel count a JobSpec carries (int64), far beyond anything a job reads.
MAX_PIXEL_COUNT = 2**62


@dataclass(frozen=True, kw_only=True)
class ExecutorFigures:
    """What running the process would read, produce and write (the executor's `Estimate`)."""

    pixels_read: int
    bytes_read: int
    pixels_written: int
    bytes_written: int
    files_written: int
    # Values the processes would produce beyond their input.
    pixels_produced: int = 0

    @property
    def pixels(self) -> int:
        """The job's pixels: read and produced, what costs and limits count."""
        return self.pixels_read + self.pixels_produced


def paid_pixels(budget: float | None, *, cost_per_megapixel: float) -> int:
    """The most pixels `budget` pays for (`pricing.pixels_paid_by`), as a JobSpec can carry
    them; 0 (no limit) without a budget or a price."""
    return min(pixels_paid_by(budget, cost_per_megapixel=cost_per_megapixel), MAX_PIXEL_COUNT)


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
    megapixels = max(figures.pixels, figures.pixels_written) / PIXELS_PER_MEGAPIXEL
    return {
        "costs": price(figures.pixels, cost_per_megapixel=cost_per_megapixel),
        "duration": iso8601_duration(megapixels / megapixels_per_second),
        "size": figures.bytes_written,
        # Results may be downloaded as often as wanted while their links are valid.
        "downloads_included": None,
    }
