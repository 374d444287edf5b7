"""The calendar of the temporal processes: its two month rules, dekads and seasons."""

from datetime import datetime

import pytest

from eoplex_executor.processes._periods import (
    PERIODS,
    month_start_shifted,
    shift_months_clamping_day,
)


@pytest.mark.parametrize(
    ("instant", "months", "expected"),
    [
        (datetime(2022, 1, 31, 12), 1, datetime(2022, 2, 1)),
        (datetime(2022, 12, 1), 1, datetime(2023, 1, 1)),
        (datetime(2022, 3, 15), -3, datetime(2021, 12, 1)),
        (datetime(2020, 2, 29), 12, datetime(2021, 2, 1)),
    ],
)
def test_month_start_shifted_lands_on_the_first_of_the_month(
    instant: datetime, months: int, expected: datetime
) -> None:
    assert month_start_shifted(instant, months) == expected


@pytest.mark.parametrize(
    ("when", "months", "expected"),
    [
        (datetime(2020, 1, 31, 12, 30), 1, datetime(2020, 2, 29, 12, 30)),
        (datetime(2021, 1, 31), 1, datetime(2021, 2, 28)),
        (datetime(2020, 3, 31), -1, datetime(2020, 2, 29)),
        (datetime(2020, 2, 29), 12, datetime(2021, 2, 28)),
        (datetime(2022, 5, 15), 0, datetime(2022, 5, 15)),
        (datetime(2022, 11, 30), 3, datetime(2023, 2, 28)),
    ],
)
def test_shift_months_clamping_day_keeps_the_day_and_time_up_to_the_months_end(
    when: datetime, months: int, expected: datetime
) -> None:
    assert shift_months_clamping_day(when, months) == expected


@pytest.mark.parametrize(("when", "months"), [(datetime(9999, 12, 1), 1), (datetime(1, 1, 1), -1)])
def test_shift_months_clamping_day_refuses_years_outside_1_to_9999(
    when: datetime, months: int
) -> None:
    with pytest.raises(OverflowError):
        shift_months_clamping_day(when, months)


@pytest.mark.parametrize(
    ("instant", "start", "following", "label"),
    [
        (datetime(2022, 6, 9), datetime(2022, 6, 1), datetime(2022, 6, 11), "2022-16"),
        (datetime(2022, 6, 30), datetime(2022, 6, 21), datetime(2022, 7, 1), "2022-18"),
        (datetime(2022, 2, 28), datetime(2022, 2, 21), datetime(2022, 3, 1), "2022-06"),
        (datetime(2022, 12, 21), datetime(2022, 12, 21), datetime(2023, 1, 1), "2022-36"),
    ],
)
def test_dekads_start_on_the_1st_11th_and_21st_and_are_counted_from_01(
    instant: datetime, start: datetime, following: datetime, label: str
) -> None:
    dekad = PERIODS["dekad"]
    assert dekad.start(instant) == start
    assert dekad.following(start) == following
    assert dekad.label(start) == label


@pytest.mark.parametrize(
    ("period", "instant", "start", "label"),
    [
        ("season", datetime(2023, 1, 15), datetime(2022, 12, 1), "2022-djf"),
        ("season", datetime(2022, 12, 1), datetime(2022, 12, 1), "2022-djf"),
        ("season", datetime(2022, 5, 31), datetime(2022, 3, 1), "2022-mam"),
        ("tropical-season", datetime(2023, 4, 30), datetime(2022, 11, 1), "2022-ndjfma"),
        ("tropical-season", datetime(2022, 10, 1), datetime(2022, 5, 1), "2022-mjjaso"),
        ("week", datetime(2021, 1, 3), datetime(2020, 12, 28), "2020-53"),
        ("decade", datetime(2029, 12, 31), datetime(2020, 1, 1), "2020"),
        ("decade-ad", datetime(2030, 6, 1), datetime(2021, 1, 1), "2021"),
    ],
)
def test_a_season_crossing_new_year_is_labelled_with_the_year_it_starts_in(
    period: str, instant: datetime, start: datetime, label: str
) -> None:
    calendar = PERIODS[period]
    assert calendar.start(instant) == start
    assert calendar.label(start) == label
