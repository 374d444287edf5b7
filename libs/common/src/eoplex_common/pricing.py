"""What processing costs: one price per megapixel, in one currency, for the whole back-end.

The executor prices a synchronous request (`POST /result`, its `OpenEO-Costs` header),
the jobs service a batch job (`GET /jobs/{job_id}/estimate`, the costs of a finished
job, and the pixels a job's budget pays for), and the capabilities service declares the
currency (`GET /`, `billing.currency`). The pixels priced are every (date, band, y, x)
value read plus every value the processes produce beyond their input; the executor
counts them (`eoplex_executor.engine.pixel_meter`).

Settings, read by every service that prices (`PricingSettings`):

- `OPENEO_COST_PER_MEGAPIXEL` (default `0.01`, at least 0): the price of 10⁶ pixels.
  The former per-service names `OPENEO_EXECUTOR_COST_PER_MEGAPIXEL` and
  `OPENEO_JOBS_COST_PER_MEGAPIXEL` are read too, in that order, when it is unset.
- `OPENEO_BILLING_CURRENCY` (default `EUR`): the currency of every price; the former
  `OPENEO_CAPABILITIES_BILLING_CURRENCY` is read when it is unset.
"""

import math

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PIXELS_PER_MEGAPIXEL = 1e6
DEFAULT_COST_PER_MEGAPIXEL = 0.01
DEFAULT_CURRENCY = "EUR"


def price(pixels: int, *, cost_per_megapixel: float) -> float:
    """What `pixels` read and produced cost, in the back-end's currency, rounded to 10⁻⁶."""
    return round(pixels / PIXELS_PER_MEGAPIXEL * cost_per_megapixel, 6)


def pixels_paid_by(budget: float | None, *, cost_per_megapixel: float) -> int:
    """The most pixels `budget` pays for; 0 (no limit) without a budget or a price. A budget
    too small for a single pixel still pays for one pixel, not for all."""
    if not budget or not cost_per_megapixel:
        return 0
    return max(math.floor(budget / cost_per_megapixel * PIXELS_PER_MEGAPIXEL), 1)


class PricingSettings(BaseSettings):
    """The price and currency of every service that prices or declares prices; a service's
    settings inherit it (see the module's docstring for the variables)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    cost_per_megapixel: float = Field(
        DEFAULT_COST_PER_MEGAPIXEL,
        ge=0,
        validation_alias=AliasChoices(
            "OPENEO_COST_PER_MEGAPIXEL",
            "OPENEO_EXECUTOR_COST_PER_MEGAPIXEL",
            "OPENEO_JOBS_COST_PER_MEGAPIXEL",
        ),
    )
    billing_currency: str = Field(
        DEFAULT_CURRENCY,
        validation_alias=AliasChoices(
            "OPENEO_BILLING_CURRENCY", "OPENEO_CAPABILITIES_BILLING_CURRENCY"
        ),
    )
