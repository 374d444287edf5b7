"""The back-end's one price: what pixels cost, what a budget pays for, and the settings
every pricing service reads."""

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from eoplex_common.pricing import PricingSettings, pixels_paid_by, price
from eoplex_common.settings import ServiceSettings

OLD_NAMES = (
    "OPENEO_EXECUTOR_COST_PER_MEGAPIXEL",
    "OPENEO_JOBS_COST_PER_MEGAPIXEL",
    "OPENEO_CAPABILITIES_BILLING_CURRENCY",
)


class PricedSettings(ServiceSettings, PricingSettings):
    """A service's settings as the executor's, the jobs' and the capabilities' are built."""

    model_config = SettingsConfigDict(env_prefix="OPENEO_EXAMPLE_", extra="ignore")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENEO_COST_PER_MEGAPIXEL", "OPENEO_BILLING_CURRENCY", *OLD_NAMES):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("pixels", "cost_per_megapixel", "costs"),
    [
        (0, 0.01, 0.0),
        (1_000_000, 0.01, 0.01),
        (2_500_000, 0.02, 0.05),
        (1, 0.01, 0.0),  # 10⁻⁸ rounds to nothing
        (123, 0.01, 0.000001),  # 1.23·10⁻⁶ rounds to 10⁻⁶
        (10_000_000_000, 0.01, 100.0),
        (5_000_000, 0.0, 0.0),
    ],
)
def test_price_of_pixels(pixels: int, cost_per_megapixel: float, costs: float) -> None:
    assert price(pixels, cost_per_megapixel=cost_per_megapixel) == costs


@pytest.mark.parametrize(
    ("budget", "cost_per_megapixel", "pixels"),
    [
        (None, 0.01, 0),
        (0.0, 0.01, 0),
        (5.0, 0.0, 0),
        (5.0, 0.01, 500_000_000),
        (0.25, 0.02, 12_500_000),
        (1e-12, 0.01, 1),
    ],
)
def test_pixels_a_budget_pays_for(
    budget: float | None, cost_per_megapixel: float, pixels: int
) -> None:
    assert pixels_paid_by(budget, cost_per_megapixel=cost_per_megapixel) == pixels


def test_a_budget_pays_for_no_more_than_its_price() -> None:
    pixels = pixels_paid_by(0.37, cost_per_megapixel=0.03)
    assert (
        price(pixels, cost_per_megapixel=0.03)
        <= 0.37
        < price(pixels + 100, cost_per_megapixel=0.03)
    )


def test_defaults() -> None:
    settings = PricedSettings()
    assert (settings.cost_per_megapixel, settings.billing_currency) == (0.01, "EUR")


def test_one_name_for_the_whole_back_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENEO_COST_PER_MEGAPIXEL", "0.03")
    monkeypatch.setenv("OPENEO_BILLING_CURRENCY", "CHF")
    # The service's own prefix does not apply to the shared price.
    monkeypatch.setenv("OPENEO_EXAMPLE_COST_PER_MEGAPIXEL", "0.5")
    settings = PricedSettings()
    assert (settings.cost_per_megapixel, settings.billing_currency) == (0.03, "CHF")


@pytest.mark.parametrize(
    ("name", "value"),
    [("OPENEO_EXECUTOR_COST_PER_MEGAPIXEL", 0.02), ("OPENEO_JOBS_COST_PER_MEGAPIXEL", 0.04)],
)
def test_former_price_names_still_work(
    monkeypatch: pytest.MonkeyPatch, name: str, value: float
) -> None:
    monkeypatch.setenv(name, str(value))
    assert PricedSettings().cost_per_megapixel == value


def test_the_one_name_wins_over_a_former_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENEO_JOBS_COST_PER_MEGAPIXEL", "0.04")
    monkeypatch.setenv("OPENEO_COST_PER_MEGAPIXEL", "0.05")
    assert PricedSettings().cost_per_megapixel == 0.05


def test_former_currency_name_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENEO_CAPABILITIES_BILLING_CURRENCY", "USD")
    assert PricedSettings().billing_currency == "USD"


def test_settings_by_field_name() -> None:
    settings = PricedSettings(cost_per_megapixel=0.2, billing_currency="GBP")
    assert (settings.cost_per_megapixel, settings.billing_currency) == (0.2, "GBP")


def test_a_negative_price_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENEO_COST_PER_MEGAPIXEL", "-1")
    with pytest.raises(ValidationError):
        PricedSettings()
