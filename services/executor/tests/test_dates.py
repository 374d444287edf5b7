"""Date processes beyond the spec examples: month ends, leap years and seconds, offsets,
fractions, dates versus date-times versus times of day, calendar differences, refusals."""

from typing import Any

import pytest

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.environment import Environment
from services.executor.tests.cubes import (
    child_graph,
    graph_on_cube,
    make_cube,
    run_graph,
    run_process,
)

# date_shift


@pytest.mark.parametrize(
    ("date", "value", "unit", "expected"),
    [
        ("2021-01-31", 1, "month", "2021-02-28"),
        ("2021-03-31T10:00:00Z", -1, "month", "2021-02-28T10:00:00Z"),
        ("2020-05-31", -3, "month", "2020-02-29"),
        ("2020-12-15", 1, "month", "2021-01-15"),
        ("2020-01-15", -1, "month", "2019-12-15"),
        ("2020-01-31", 13, "month", "2021-02-28"),
        ("2020-02-29", 4, "year", "2024-02-29"),
        ("2020-02-29", -1, "year", "2019-02-28"),
        ("2020-03-01T00:00:00Z", -1, "day", "2020-02-29T00:00:00Z"),
        ("2020-01-01", 2, "week", "2020-01-15"),
        ("2020-01-01", 0, "day", "2020-01-01"),
        ("2020-01-01", 1439, "minute", "2020-01-01"),
        ("2020-01-01", -1, "millisecond", "2019-12-31"),
        ("2020-01-01T23:30:00+02:00", 1, "hour", "2020-01-02T00:30:00+02:00"),
        ("2020-01-31T23:30:00-05:30", 1, "month", "2020-02-29T23:30:00-05:30"),
        ("2020-01-01T00:00:00z", 1, "second", "2020-01-01T00:00:01Z"),
        ("2020-01-01T00:00:00.5Z", 500, "millisecond", "2020-01-01T00:00:01.000Z"),
        ("2020-01-01T00:00:00.123456Z", 1, "second", "2020-01-01T00:00:01.123456Z"),
        ("2020-01-01T00:00:00Z", 1, "millisecond", "2020-01-01T00:00:00.001Z"),
        ("2020-01-01T00:00:00", 1, "day", "2020-01-02T00:00:00"),
        # A leap second is read as the second before it, and never returned.
        ("2016-12-31T23:59:60Z", 1, "second", "2017-01-01T00:00:00Z"),
        ("2016-12-31T23:59:60Z", 0, "second", "2016-12-31T23:59:59Z"),
        ("2016-12-31T23:59:60.5Z", 1, "day", "2017-01-01T23:59:59.500Z"),
        ("0001-01-01", 1, "year", "0002-01-01"),
    ],
)
def test_date_shift(env: Environment, date: str, value: int, unit: str, expected: str) -> None:
    assert run_process("date_shift", env, date=date, value=value, unit=unit) == expected


def test_date_shift_of_every_temporal_label(env: Environment) -> None:
    """Temporal labels reach child processes as RFC 3339 strings that date_shift reads."""
    labels = make_cube().labels("t")
    shifted = [
        run_process("date_shift", env, date=label, value=1, unit="month") for label in labels
    ]
    assert shifted == ["2022-07-01T00:00:00Z", "2022-07-06T00:00:00Z", "2022-07-11T00:00:00Z"]


# date_difference


@pytest.mark.parametrize(
    ("date1", "date2", "unit", "expected"),
    [
        ("2020-01-01", "2020-01-01T00:00:00.001Z", "millisecond", 1),
        ("2020-01-01", "2020-01-08", "week", 1),
        ("2020-01-01", "2020-01-01T12:00:00+12:00", "hour", 0),
        ("2020-01-01T00:00:00-01:00", "2020-01-01", "minute", -60),
        ("2016-12-31T23:59:59Z", "2017-01-01T00:00:00Z", "second", 1),
        ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z", "second", 1),
        ("2020-01-31", "2020-02-29", "month", 1),
        ("2020-01-31", "2020-03-15", "month", 1 + 15 / 31),  # 02-29 + 15 of 31 days
        ("2020-01-15", "2020-02-01", "month", 17 / 31),
        ("2020-02-01", "2020-01-15", "month", -17 / 31),
        ("2020-01-15", "2020-01-15T12:00:00Z", "month", 0.5 / 31),
        ("2020-02-29", "2021-02-28", "year", 1),
        ("2020-01-01", "2021-07-02T12:00:00Z", "year", 1 + 182.5 / 365),
        ("2021-01-01", "2020-01-01", "year", -1),
        ("2020-01-01", "2020-01-01", "year", 0),
    ],
)
def test_date_difference(
    env: Environment, date1: str, date2: str, unit: str, expected: float
) -> None:
    result = run_process("date_difference", env, date1=date1, date2=date2, unit=unit)
    assert isinstance(result, float) and result == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_date_difference_inverts_date_shift(env: Environment) -> None:
    start = "2020-01-15T06:00:00+01:00"  # no month end to clamp
    for value in (-25, -1, 1, 7, 13):
        for unit in ("millisecond", "minute", "day", "week", "month", "year"):
            shifted = run_process("date_shift", env, date=start, value=value, unit=unit)
            difference = run_process("date_difference", env, date1=start, date2=shifted, unit=unit)
            assert difference == value, (value, unit, shifted)


# date_between


@pytest.mark.parametrize(
    ("x", "low", "high", "exclude_max", "expected"),
    [
        ("2021-06-01", "2021-01-01", "2022-01-01", False, True),
        ("2022-01-01", "2021-01-01", "2022-01-01", False, True),
        ("2022-01-01", "2021-01-01", "2022-01-01", True, False),
        ("2021-01-01", "2021-01-01", "2021-01-01", False, True),
        ("2021-06-01", "2022-01-01", "2021-01-01", False, False),  # swapped bounds
        # A date is midnight UTC, compared with date-times in any offset.
        ("2021-01-01", "2021-01-01T01:00:00+01:00", "2021-01-02", False, True),
        ("2021-01-01", "2021-01-01T00:00:00.001Z", "2021-01-02", False, False),
        ("2020-12-31T23:30:00-01:00", "2021-01-01", "2021-01-01T00:31:00Z", True, True),
        ("2020-12-31T23:30:00-01:00", "2021-01-01", "2021-01-01T00:30:00Z", True, False),
        # Times of day as bounds compare the UTC time of day.
        ("10:30:00", "10:00:00", "11:00:00", False, True),
        ("11:00:00", "10:00:00", "11:00:00", True, False),
        ("2021-05-05T12:30:00+02:00", "10:00:00", "11:00:00", False, True),
        ("2021-05-05", "00:00:00", "00:00:01", False, True),
        (None, "2021-01-01", "2022-01-01", False, None),
    ],
)
def test_date_between(
    env: Environment, x: Any, low: str, high: str, exclude_max: bool, expected: Any
) -> None:
    result = run_process("date_between", env, x=x, min=low, max=high, exclude_max=exclude_max)
    assert result is expected


def test_date_between_filters_temporal_labels(env: Environment) -> None:
    """`filter_labels` with a date_between condition keeps the labels in the range."""
    condition = child_graph(
        "date_between",
        x={"from_parameter": "value"},
        min="2022-06-02",
        max="2022-06-11",
        exclude_max=True,
    )
    graph = graph_on_cube("filter_labels", condition=condition, dimension="t")
    result = run_graph(graph, env, cube=make_cube())
    assert result.labels("t") == ["2022-06-06T00:00:00Z"]


# invalid arguments


@pytest.mark.parametrize(
    ("process_id", "arguments", "parameter"),
    [
        ("date_shift", {"date": "2020-02-30", "value": 1, "unit": "day"}, "date"),
        ("date_shift", {"date": "2020-01-01T24:00:00Z", "value": 1, "unit": "day"}, "date"),
        ("date_shift", {"date": "2020-01-01T10:00:00+25:00", "value": 1, "unit": "day"}, "date"),
        ("date_shift", {"date": "12:00:00", "value": 1, "unit": "hour"}, "date"),
        ("date_shift", {"date": "20200101", "value": 1, "unit": "day"}, "date"),
        ("date_shift", {"date": None, "value": 1, "unit": "day"}, "date"),
        ("date_shift", {"date": 20200101, "value": 1, "unit": "day"}, "date"),
        ("date_shift", {"date": "2020-01-01", "value": 1.5, "unit": "day"}, "value"),
        ("date_shift", {"date": "2020-01-01", "value": True, "unit": "day"}, "value"),
        ("date_shift", {"date": "2020-01-01", "value": 1, "unit": "days"}, "unit"),
        ("date_shift", {"date": "2020-01-01", "value": 1, "unit": "quarter"}, "unit"),
        ("date_shift", {"date": "9999-12-31", "value": 1, "unit": "day"}, "value"),
        ("date_shift", {"date": "0001-01-01", "value": -1, "unit": "month"}, "value"),
        ("date_shift", {"date": "2020-01-01", "value": 10**30, "unit": "second"}, "value"),
        ("date_shift", {"date": "2020-01-01", "value": 10**30, "unit": "year"}, "value"),
        ("date_difference", {"date1": "2020-01-01", "date2": "12:00:00"}, "date2"),
        ("date_difference", {"date1": None, "date2": "2020-01-01"}, "date1"),
        (
            "date_difference",
            {"date1": "2020-01-01", "date2": "2020-01-01", "unit": "fortnight"},
            "unit",
        ),
        (
            "date_difference",
            {"date1": "2020-01-01", "date2": "9999-12-15", "unit": "month"},
            "date2",
        ),
        ("date_between", {"x": "10:00:00", "min": "2021-01-01", "max": "2022-01-01"}, "x"),
        ("date_between", {"x": "2021-06-01", "min": "10:00:00", "max": "2022-01-01"}, "max"),
        ("date_between", {"x": "2021-06-01", "min": None, "max": "2022-01-01"}, "min"),
        ("date_between", {"x": "2021-06-01", "min": "2021-01-01", "max": "next year"}, "max"),
        ("date_between", {"x": 2021, "min": "2021-01-01", "max": "2022-01-01"}, "x"),
        ("date_between", {"x": "10:00", "min": "09:00:00", "max": "11:00:00"}, "x"),
        (
            "date_between",
            {"x": "2021-06-01", "min": "2021-01-01", "max": "2022-01-01", "exclude_max": 1},
            "exclude_max",
        ),
    ],
)
def test_invalid_arguments_are_refused(
    env: Environment, process_id: str, arguments: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(ProcessParameterInvalid, match=f"'{parameter}'"):
        run_process(process_id, env, **arguments)
