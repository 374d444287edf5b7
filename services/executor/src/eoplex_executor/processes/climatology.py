"""Climatology: climatological_normal (the mean per calendar period over a span of years)
and anomaly (data minus the normal of its period).

A period's key is its label from `aggregate_temporal_period` without the year: `06` for
June (`2022-06`), `djf` for a winter, `152` for a day of the year. Instants are turned
into that label first, so both processes take aggregated cubes (string labels) as well
as raw time series (instants). Everything stays lazy: normals are picked per label by
index and subtracted with xarray, the means are reducer calls per group of labels.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import xarray as xr

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import SPATIAL, RasterCube
from eoplex_executor.engine.registry import process
from eoplex_executor.processes._checks import (
    require_cube,
    require_instants,
    require_temporal_dimension,
)
from eoplex_executor.processes._children import aggregate
from eoplex_executor.processes._labels import same_coordinates
from eoplex_executor.processes._periods import (
    PERIODS,
    SEASON_NAMES,
    TROPICAL_SEASON_NAMES,
    month_start_shifted,
)
from eoplex_executor.processes.reducers import mean

# The labels of a normals cube per period of climatological_normal, in the spec's order.
NORMAL_LABELS: dict[str, list[str]] = {
    "day": [f"{day:03d}" for day in range(1, 366)],
    "month": [f"{month:02d}" for month in range(1, 13)],
    "season": list(SEASON_NAMES.values()),
    "tropical-season": list(TROPICAL_SEASON_NAMES.values()),
    "climatology-period": ["climatology-period"],
}
SEASON_MONTHS = {"season": 3, "tropical-season": 6}
SINGLE_PERIODS = ("single-period", "climatology-period")
# Periods whose label is the year itself (`2022`, `2020` for a decade).
YEAR_PERIODS = ("year", "decade", "decade-ad")
Key = int | str


@process()
def climatological_normal(
    data: RasterCube, period: str, climatology_period: Sequence[Any] = (1981, 2010)
) -> RasterCube:
    """openEO `climatological_normal`: the mean of every day of the year, month, season or
    of the whole climatology period over the years `climatology_period` (both included).

    Labels are those of the spec (`01`-`12`, `djf`..., `001`-`365`, plus `366` when the
    data has a 31 December of a leap year), no-data for a period without values. A
    season reaching into the year before the first (December for djf) counts only when the
    data has values there; one ending after the last year never counts. Raises
    ProcessParameterInvalid for an unknown period, a cube without exactly one temporal
    dimension of instants (DimensionNotAvailable, TooManyDimensions), or data that does not
    reach from the first to the last year of the climatology period.
    """
    cube = require_cube(data, "climatological_normal", "data")
    if not isinstance(period, str) or period not in NORMAL_LABELS:
        raise _invalid(
            "climatological_normal", "period", f"one of {', '.join(NORMAL_LABELS)} is required"
        )
    dim = require_temporal_dimension(cube, None, "climatological_normal")
    first, last = _climatology_years(climatology_period)
    instants = [
        _as_datetime(value) for value in require_instants(cube, dim, "climatological_normal")
    ]
    years = {instant.year for instant in instants}
    if first not in years or last not in years:
        raise _invalid(
            "climatological_normal",
            "climatology_period",
            f"the data spans {min(years)}-{max(years)}, which does not cover the climatology "
            f"period {first}-{last}",
        )
    labels = list(NORMAL_LABELS[period])
    positions: dict[str, list[int]] = {label: [] for label in labels}
    for position, instant in enumerate(instants):
        if _in_climatology(instant, period, first, last, instants):
            key = (
                "climatology-period"
                if period in SINGLE_PERIODS
                else _suffix(period, _label_of(period, instant), "climatological_normal")
            )
            positions.setdefault(key, []).append(position)
    if positions.get("366"):
        labels.append("366")
    groups = [np.array(positions[label], dtype=int) for label in labels]
    return aggregate(
        cube, dim, groups, np.array(labels), _mean_reducer, None, "climatological_normal"
    )


def _mean_reducer(data: Any, context: Any = None) -> Any:
    return mean(data=data)


def _climatology_years(value: Any) -> tuple[int, int]:
    try:
        first, last = (int(str(year)) for year in value)
    except (TypeError, ValueError) as error:
        raise _invalid(
            "climatological_normal", "climatology_period", "two years [first, last] are required"
        ) from error
    if last < first:
        raise _invalid(
            "climatological_normal", "climatology_period", f"{last} comes before {first}"
        )
    return first, last


def _in_climatology(
    instant: datetime, period: str, first: int, last: int, instants: list[datetime]
) -> bool:
    """Whether `instant` counts: its year (for seasons: the year its season ends) lies in
    [first, last], and a season begun before `first` has data in that earlier part."""
    months = SEASON_MONTHS.get(period)
    if months is None:
        return first <= instant.year <= last
    start = PERIODS[period].start(instant)
    end_year = month_start_shifted(start, months - 1).year
    if not first <= end_year <= last:
        return False
    if start.year < first:
        new_year = datetime(first, 1, 1)
        return any(start <= other < new_year for other in instants)
    return True


@process()
def anomaly(data: RasterCube, normals: RasterCube, period: str) -> RasterCube:
    """openEO `anomaly`: every value minus the normal of its period, e.g. `2022-06` minus
    the normal labelled `06` (for `single-period`/`climatology-period`, the one normal).

    The data's temporal labels are those of `aggregate_temporal_period` or instants; a
    label whose period has no normal becomes no-data. The normals may lack dimensions of
    the data (they apply to every label of it), the others must have the data's labels.
    Raises ProcessParameterInvalid for an unknown period, cubes without exactly one
    temporal dimension (DimensionNotAvailable, TooManyDimensions), labels that are not of
    the period, repeated or several single-period normals, and other dimensions that
    differ (IncompatibleDataCubes)."""
    cube = require_cube(data, "anomaly", "data")
    normal_cube = require_cube(normals, "anomaly", "normals")
    if not isinstance(period, str) or period not in (*PERIODS, *SINGLE_PERIODS):
        raise _invalid(
            "anomaly", "period", f"one of {', '.join((*PERIODS, *SINGLE_PERIODS))} is required"
        )
    dim = require_temporal_dimension(cube, None, "anomaly")
    normal_dim = require_temporal_dimension(normal_cube, None, "anomaly")
    normal_keys = [_normal_key(period, label) for label in normal_cube.data[normal_dim].values]
    if len(set(normal_keys)) != len(normal_keys):
        raise _invalid("anomaly", "normals", f"the normals repeat a label: {normal_keys}")
    if period in SINGLE_PERIODS:
        if len(normal_keys) != 1:
            raise _invalid("anomaly", "normals", f"a {period} needs exactly one normal")
        index = np.zeros(cube.data.sizes[dim], dtype=int)
    else:
        where = {key: position for position, key in enumerate(normal_keys)}
        index = np.array(
            [where.get(_data_key(period, label), -1) for label in cube.data[dim].values],
            dtype=int,
        )
    picked = normal_cube.data.isel({normal_dim: np.maximum(index, 0)})
    picked = picked.where(xr.DataArray(index >= 0, dims=[normal_dim]))
    picked = picked.rename({normal_dim: dim}) if normal_dim != dim else picked
    picked = picked.assign_coords(
        {dim: cube.data[dim].values, **_shared_labels(cube, normal_cube, normal_dim)}
    )
    return cube.with_data((cube.data - picked).transpose(*cube.dims))


def _shared_labels(cube: RasterCube, normals: RasterCube, normal_dim: str) -> dict[str, np.ndarray]:
    """The data's labels for the normals' other dimensions, which must be the same."""
    labels = {}
    for dim in normals.dims:
        if dim == normal_dim:
            continue
        if dim not in cube.dims:
            raise _incompatible(f"the data has no dimension {dim!r}")
        ours, theirs = cube.data[dim].values, normals.data[dim].values
        spatial = cube.dimension_types.get(dim) == SPATIAL
        same = len(ours) == len(theirs) and (
            same_coordinates(ours, theirs) if spatial else bool(np.all(ours == theirs))
        )
        if not same:
            raise _incompatible(f"the labels of {dim!r} differ")
        labels[dim] = ours
    if normals.dimension_of_type(SPATIAL) and normals.crs != cube.crs:
        raise _incompatible(f"the normals are in {normals.crs}, the data in {cube.crs}")
    return labels


def _data_key(period: str, label: Any) -> Key:
    """The period key of a data label: `2022-06` or 2022-06-15T00:00:00 -> 6 (month)."""
    text = _label_of(period, label) if isinstance(label, np.datetime64) else str(label)
    return _key(_suffix(period, text, "anomaly"))


def _suffix(period: str, text: str, process_id: str) -> str:
    """An aggregate_temporal_period label without its year (`2022-06` -> `06`), the year
    itself for yearly periods."""
    if period in YEAR_PERIODS:
        return text
    if period == "hour":
        return text.rsplit("-", 1)[-1]
    year, separator, suffix = text.partition("-")
    if not separator or not year.isdigit():
        raise _invalid(
            process_id,
            "data",
            f"the label {text!r} is not one of a {period} (see aggregate_temporal_period)",
        )
    return suffix


def _normal_key(period: str, label: Any) -> Key:
    """The period key of a normals label: `06` -> 6, `DJF` -> djf."""
    if isinstance(label, np.datetime64):
        return _data_key(period, label) if period not in SINGLE_PERIODS else "single"
    return _key(str(label))


def _key(text: str) -> Key:
    return int(text) if text.isdigit() else text.lower()


def _label_of(period: str, instant: Any) -> str:
    """The aggregate_temporal_period label of the period holding `instant`."""
    moment = instant if isinstance(instant, datetime) else _as_datetime(instant)
    calendar = PERIODS[period]
    return calendar.label(calendar.start(moment))


def _as_datetime(value: np.datetime64) -> datetime:
    moment: datetime = value.astype("datetime64[us]").item()
    return moment


def _incompatible(reason: str) -> ProcessParameterInvalid:
    return _invalid("anomaly", "normals", f"IncompatibleDataCubes: {reason}")


def _invalid(process_id: str, parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=process_id, parameter=parameter, reason=reason)
