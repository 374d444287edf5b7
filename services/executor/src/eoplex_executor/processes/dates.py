"""Date processes: `date_between`, `date_shift` and the proposal `date_difference`.

They read RFC 3339 strings (dimension labels reach child processes as such strings):

- a *date* (`2020-01-31`) is midnight UTC;
- a *date-time* (`2020-01-31T12:00:00.5+02:00`) keeps its offset: `date_shift` computes on
  its wall-clock time and writes the same offset back, so the time zone never changes.
  A date-time without an offset is read as UTC (leniently, as everywhere in the engine);
- a *time of day* (`12:00:00`, UTC) is accepted by `date_between` only.

A leap second (`23:59:60`) is accepted and read as the second before it (`23:59:59`, with
its fraction), as POSIX time does: leap seconds are ignored in computations and never
returned. Years are limited to 1..9999; a result outside is ProcessParameterInvalid.
"""

import re
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any, NoReturn

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.registry import process
from eoplex_executor.processes._periods import shift_months_clamping_day

DATE, DATE_TIME, TIME = "date", "date-time", "time"

_DATE = r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
_TIME = r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
_PATTERNS = {
    DATE: re.compile(_DATE),
    DATE_TIME: re.compile(
        _DATE + "[Tt]" + _TIME + r"(?:\.(?P<fraction>\d+))?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?"
    ),
    TIME: re.compile(_TIME),
}

# The length of each unit with a fixed length; months and years are calendar steps.
UNITS = {
    "millisecond": timedelta(milliseconds=1),
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
CALENDAR_UNITS = {"month": 1, "year": 12}  # months per step


@dataclass(frozen=True)
class Moment:
    """A parsed date, date-time or time of day."""

    kind: str
    local: datetime  # wall-clock time in `offset` (naive); for a time of day on 1970-01-01
    offset: timedelta
    suffix: str  # the offset as written ("Z", "+02:00", "" for none)
    fraction: bool  # whether fractional seconds were written

    @property
    def utc(self) -> datetime:
        return self.local - self.offset

    def text(self) -> str:
        """The moment written in its own form (a date stays a date, the offset stays)."""
        when = self.local
        if self.kind == DATE:
            return f"{when.year:04d}-{when.month:02d}-{when.day:02d}"
        written = (
            f"{when.year:04d}-{when.month:02d}-{when.day:02d}"
            f"T{when.hour:02d}:{when.minute:02d}:{when.second:02d}"
        )
        if when.microsecond or self.fraction:
            digits = f"{when.microsecond:06d}"
            written += "." + (digits[:3] if digits.endswith("000") else digits)
        return written + self.suffix


def _invalid(process_id: str, parameter: str, reason: str) -> NoReturn:
    raise ProcessParameterInvalid(process=process_id, parameter=parameter, reason=reason)


def parse_moment(process_id: str, parameter: str, value: Any, kinds: tuple[str, ...]) -> Moment:
    """`value` as a Moment of one of `kinds`; ProcessParameterInvalid otherwise."""
    expected = " or ".join(kinds)
    if not isinstance(value, str):
        _invalid(process_id, parameter, f"expected a {expected} string.")
    for kind in kinds:
        match = _PATTERNS[kind].fullmatch(value.strip())
        if match is not None:
            try:
                return _moment(kind, match.groupdict())
            except ValueError as error:
                _invalid(process_id, parameter, f"{value!r} is not a valid {kind}: {error}.")
    _invalid(process_id, parameter, f"{value!r} is not a {expected} (RFC 3339).")


def _moment(kind: str, parts: dict[str, str | None]) -> Moment:
    def number(name: str, default: int) -> int:
        text = parts.get(name)
        return default if text is None else int(text)

    second = number("second", 0)
    leap = second == 60
    fraction = parts.get("fraction")
    microsecond = int((fraction or "0").ljust(6, "0")[:6])
    local = datetime(
        number("year", 1970),
        number("month", 1),
        number("day", 1),
        number("hour", 0),
        number("minute", 0),
        59 if leap else second,
        microsecond,
    )
    offset_text = parts.get("offset") or ""
    offset = timedelta(0)
    if offset_text[:1] in ("+", "-"):
        hours, minutes = int(offset_text[1:3]), int(offset_text[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(f"the offset {offset_text} is out of range")
        offset = (1 if offset_text[0] == "+" else -1) * timedelta(hours=hours, minutes=minutes)
    suffix = "Z" if offset_text in ("Z", "z") else offset_text
    return Moment(kind, local, offset, suffix, fraction is not None)


@process()
def date_shift(date: Any, value: Any, unit: Any) -> str:
    """openEO `date_shift`: `date` moved by `value` units. Years, months, weeks and days keep
    the time; a day past a month's end becomes its last day (2020-01-31 + 1 month is
    2020-02-29); a date stays a date (its time part, after adding hours, is dropped); the
    offset is kept. Raises ProcessParameterInvalid for an invalid date, a non-integer value,
    an unknown unit or a result outside the years 1..9999."""
    moment = parse_moment("date_shift", "date", date, (DATE_TIME, DATE))
    if isinstance(value, bool) or not isinstance(value, int):
        _invalid("date_shift", "value", "expected an integer.")
    if not isinstance(unit, str) or (unit not in UNITS and unit not in CALENDAR_UNITS):
        _invalid("date_shift", "unit", f"expected one of {', '.join([*UNITS, *CALENDAR_UNITS])}.")
    try:
        if unit in CALENDAR_UNITS:
            shifted = shift_months_clamping_day(moment.local, value * CALENDAR_UNITS[unit])
        else:
            shifted = moment.local + value * UNITS[unit]
    except OverflowError:
        _invalid("date_shift", "value", "the result lies outside the years 1 to 9999.")
    if moment.kind == DATE:
        shifted = datetime.combine(shifted.date(), time())
    return replace(moment, local=shifted).text()


@process()
def date_difference(date1: Any, date2: Any, unit: Any = "second") -> float:
    """openEO `date_difference` (proposal): date2 - date1 in `unit`, with a fractional part.

    Fixed units divide the elapsed time (a day is 86400 s; leap seconds are ignored).
    Months and years count calendar steps as `date_shift` takes them, plus the elapsed
    fraction of the next step: from 2020-01-31 to 2020-02-29 is 1 month, to 2020-03-15
    is 1 + 15/31 months. Raises ProcessParameterInvalid for invalid dates or an unknown unit."""
    start = parse_moment("date_difference", "date1", date1, (DATE_TIME, DATE)).utc
    end = parse_moment("date_difference", "date2", date2, (DATE_TIME, DATE)).utc
    if isinstance(unit, str) and unit in UNITS:
        return (end - start) / UNITS[unit]
    if not isinstance(unit, str) or unit not in CALENDAR_UNITS:
        _invalid(
            "date_difference", "unit", f"expected one of {', '.join([*UNITS, *CALENDAR_UNITS])}."
        )
    try:
        return _calendar_difference(start, end, CALENDAR_UNITS[unit])
    except OverflowError:
        _invalid("date_difference", "date2", "the difference reaches beyond the year 9999.")


def _calendar_difference(start: datetime, end: datetime, months: int) -> float:
    """Steps of `months` from `start` to `end`: whole steps plus a fraction of the next."""
    if end < start:
        return -_calendar_difference(end, start, months)
    steps = ((end.year - start.year) * 12 + end.month - start.month) // months
    while steps > 0 and shift_months_clamping_day(start, steps * months) > end:
        steps -= 1
    while shift_months_clamping_day(start, (steps + 1) * months) <= end:
        steps += 1
    low = shift_months_clamping_day(start, steps * months)
    high = shift_months_clamping_day(start, (steps + 1) * months)
    return steps + (end - low) / (high - low)


@process()
def date_between(x: Any, min: Any, max: Any, exclude_max: Any = False) -> bool | None:
    """openEO `date_between`: min <= x <= max (x < max with `exclude_max`); false when min is
    after max; null when x is null. Dates are midnight UTC. With two times of day as bounds,
    the UTC time of day of x is compared (a date's is 00:00:00). Raises
    ProcessParameterInvalid for invalid values, or a time of day compared with dates."""
    if not isinstance(exclude_max, bool):
        _invalid("date_between", "exclude_max", "expected a boolean.")
    if x is None:
        return None
    kinds = (DATE_TIME, DATE, TIME)
    value = parse_moment("date_between", "x", x, kinds)
    low = parse_moment("date_between", "min", min, kinds)
    high = parse_moment("date_between", "max", max, kinds)
    bound_kinds = {low.kind == TIME, high.kind == TIME}
    if bound_kinds == {True, False}:
        _invalid("date_between", "max", "both bounds must be times of day, or neither.")
    if bound_kinds == {True}:
        position, lower, upper = map(_time_of_day, (value, low, high))
    elif value.kind == TIME:
        _invalid("date_between", "x", "a time of day lies on no date; the bounds are dates.")
    else:
        position, lower, upper = value.utc, low.utc, high.utc
    return lower <= position and (position < upper if exclude_max else position <= upper)


def _time_of_day(moment: Moment) -> datetime:
    """The UTC time of day of a moment, on one common day so that only the time compares."""
    return moment.utc.replace(year=1970, month=1, day=1)
