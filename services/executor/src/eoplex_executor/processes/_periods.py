"""The calendar of the temporal processes: periods, dekads, seasons and month arithmetic.

Two month rules, for two uses:

- `month_start_shifted` moves a month's first day by whole months (periods begin on the
  first; `aggregate_temporal_period`, `climatological_normal`);
- `shift_months_clamping_day` moves any instant by whole months and keeps its day, a day
  beyond the new month's end becoming its last day (`date_shift`: 2020-01-31 + 1 month is
  2020-02-29).
"""

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Period:
    """A calendar period of `aggregate_temporal_period`: where one starts, the next, its label."""

    start: Callable[[datetime], datetime]
    following: Callable[[datetime], datetime]
    label: Callable[[datetime], str]


def month_start_shifted(instant: datetime, months: int) -> datetime:
    """The first day (at midnight) of the month `months` after the month of `instant`."""
    index = instant.year * 12 + instant.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1)


def shift_months_clamping_day(when: datetime, months: int) -> datetime:
    """`when` moved by whole months, its time kept; a day beyond the new month's end becomes
    its last day. OverflowError for a year outside 1..9999."""
    year, month = divmod(when.year * 12 + when.month - 1 + months, 12)
    if not 1 <= year <= 9999:
        raise OverflowError(f"year {year} is outside 1..9999")
    day = min(when.day, calendar.monthrange(year, month + 1)[1])
    return when.replace(year=year, month=month + 1, day=day)


def _month_start(instant: datetime) -> datetime:
    return datetime(instant.year, instant.month, 1)


def _day_start(instant: datetime) -> datetime:
    return datetime(instant.year, instant.month, instant.day)


def _dekad_start(instant: datetime) -> datetime:
    return datetime(instant.year, instant.month, min((instant.day - 1) // 10, 2) * 10 + 1)


def _next_dekad(start: datetime) -> datetime:
    return start + timedelta(days=10) if start.day < 21 else month_start_shifted(start, 1)


def _dekad_label(start: datetime) -> str:
    return f"{start.year:04d}-{(start.month - 1) * 3 + (start.day - 1) // 10 + 1:02d}"


def _season_start(instant: datetime, months: int, first_month: int) -> datetime:
    """The first day of the `months`-long season containing `instant`; seasons start in
    `first_month` and every `months` months after."""
    offset = (instant.month - first_month) % months
    return month_start_shifted(_month_start(instant), -offset)


SEASON_NAMES = {12: "djf", 3: "mam", 6: "jja", 9: "son"}
TROPICAL_SEASON_NAMES = {11: "ndjfma", 5: "mjjaso"}

# A season crossing New Year (djf, ndjfma) is labelled with the year it starts in.
PERIODS: dict[str, Period] = {
    "hour": Period(
        lambda t: t.replace(minute=0, second=0, microsecond=0),
        lambda s: s + timedelta(hours=1),
        lambda s: s.strftime("%Y-%m-%d-%H"),
    ),
    "day": Period(
        _day_start,
        lambda s: s + timedelta(days=1),
        lambda s: f"{s.year:04d}-{s.timetuple().tm_yday:03d}",
    ),
    "week": Period(
        lambda t: _day_start(t) - timedelta(days=t.weekday()),
        lambda s: s + timedelta(days=7),
        lambda s: f"{s.isocalendar().year:04d}-{s.isocalendar().week:02d}",
    ),
    "dekad": Period(_dekad_start, _next_dekad, _dekad_label),
    "month": Period(
        _month_start,
        lambda s: month_start_shifted(s, 1),
        lambda s: f"{s.year:04d}-{s.month:02d}",
    ),
    "season": Period(
        lambda t: _season_start(t, 3, 12),
        lambda s: month_start_shifted(s, 3),
        lambda s: f"{s.year:04d}-{SEASON_NAMES[s.month]}",
    ),
    "tropical-season": Period(
        lambda t: _season_start(t, 6, 11),
        lambda s: month_start_shifted(s, 6),
        lambda s: f"{s.year:04d}-{TROPICAL_SEASON_NAMES[s.month]}",
    ),
    "year": Period(
        lambda t: datetime(t.year, 1, 1),
        lambda s: datetime(s.year + 1, 1, 1),
        lambda s: f"{s.year:04d}",
    ),
    "decade": Period(
        lambda t: datetime(t.year - t.year % 10, 1, 1),
        lambda s: datetime(s.year + 10, 1, 1),
        lambda s: f"{s.year:04d}",
    ),
    "decade-ad": Period(
        lambda t: datetime(t.year - (t.year - 1) % 10, 1, 1),
        lambda s: datetime(s.year + 10, 1, 1),
        lambda s: f"{s.year:04d}",
    ),
}
