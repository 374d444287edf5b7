"""resample_cube_temporal against a brute-force nearest-neighbour search written here."""

from pathlib import Path

import numpy as np
import pytest

from eoplex_common.errors import OpenEOError
from eoplex_executor.processes.temporal_resampling import resample_cube_temporal
from services.executor.tests.cubes import (
    computed,
    graph_on_cube,
    make_cube,
    make_environment,
    run_graph,
)

SOURCE = ["2022-06-01", "2022-06-06", "2022-06-11"]
# 06-08T12 is 2.5 days from 06-06 and from 06-11: the tie goes to the earlier.
TARGET = ["2022-05-30", "2022-06-03", "2022-06-08T12:00:00", "2022-07-01"]


def values_with_gaps() -> np.ndarray:
    values = np.random.default_rng(5).uniform(0, 9, (3, 2, 4, 5)).astype(np.float32)
    values[0, 0, 0, :] = np.nan
    values[1, :, 1, 1] = np.nan
    values[:, 1, 3, 4] = np.nan
    return values


def brute_force(
    values: np.ndarray, source: list[str], target: list[str], days: float | None
) -> np.ndarray:
    """For each target and pixel, the nearest (earlier on ties) source value, valid if asked."""
    times = np.array(source, dtype="datetime64[ns]")
    result = np.full((len(target), *values.shape[1:]), np.nan)
    for t, instant in enumerate(np.array(target, dtype="datetime64[ns]")):
        distance = np.abs(times - instant) / np.timedelta64(1, "D")
        for index in np.ndindex(*values.shape[1:]):
            best = None
            for s in range(len(times)):
                value = values[(s, *index)]
                if days is not None and (distance[s] > days or not np.isfinite(value)):
                    continue
                if best is None or distance[s] < distance[best]:
                    best = s
            if best is not None:
                result[(t, *index)] = values[(best, *index)]
    return result


def test_nearest_labels_without_valid_within() -> None:
    values = values_with_gaps()
    result = resample_cube_temporal(make_cube(values, dates=SOURCE), make_cube(dates=TARGET))
    assert result.labels("t") == [
        "2022-05-30T00:00:00Z",
        "2022-06-03T00:00:00Z",
        "2022-06-08T12:00:00Z",
        "2022-07-01T00:00:00Z",
    ]
    expected = brute_force(values, SOURCE, TARGET, None)
    np.testing.assert_array_equal(computed(result), expected)
    # No-data is taken like any value: 06-03 is nearest to 06-01, NaN in row 0 of band 0.
    assert np.isnan(computed(result)[1, 0, 0]).all()
    np.testing.assert_array_equal(computed(result)[2], values[1])


@pytest.mark.parametrize("days", [0, 1, 2.5, 5, 40])
def test_nearest_valid_value_within_days(days: float) -> None:
    values = values_with_gaps()
    result = resample_cube_temporal(
        make_cube(values, dates=SOURCE), make_cube(dates=TARGET), valid_within=days
    )
    np.testing.assert_array_equal(computed(result), brute_force(values, SOURCE, TARGET, days))


def test_a_single_source_date_serves_every_target() -> None:
    values = values_with_gaps()[:1]
    result = resample_cube_temporal(
        make_cube(values, dates=["2022-06-01"]), make_cube(dates=TARGET)
    )
    np.testing.assert_array_equal(computed(result), np.repeat(values, 4, axis=0))


def test_unsorted_source_labels_still_break_ties_towards_the_earlier() -> None:
    values = values_with_gaps()
    order = [2, 0, 1]
    shuffled = make_cube(values[order], dates=[SOURCE[i] for i in order])
    result = resample_cube_temporal(shuffled, make_cube(dates=TARGET))
    np.testing.assert_array_equal(computed(result), brute_force(values, SOURCE, TARGET, None))


def test_resample_cube_temporal_in_a_process_graph(tmp_path: Path) -> None:
    values = values_with_gaps()
    graph = graph_on_cube(
        "resample_cube_temporal",
        target={"from_parameter": "target"},
        dimension="t",
        valid_within=3,
    )
    result = run_graph(
        graph,
        make_environment(tmp_path),
        cube=make_cube(values, dates=SOURCE),
        target=make_cube(dates=TARGET, bands=["other"], shape=(1, 1)),
    )
    assert result.labels("bands") == ["B04", "B08"] and result.data.shape == (4, 2, 4, 5)
    np.testing.assert_array_equal(computed(result), brute_force(values, SOURCE, TARGET, 3))


def test_resample_cube_temporal_refuses_dimensions_it_cannot_match() -> None:
    cube = make_cube(dates=SOURCE)
    target = make_cube(dates=TARGET)
    cases = [
        ({"dimension": "time"}, target, "DimensionNotAvailable"),
        ({"dimension": "bands"}, target, "DimensionMismatch"),
        ({}, target.with_data(target.data.rename(t="time")), "DimensionMismatch"),
        ({"valid_within": -1}, target, "valid_within"),
    ]
    for arguments, other, error in cases:
        with pytest.raises(OpenEOError) as caught:
            resample_cube_temporal(cube, other, **arguments)  # type: ignore[arg-type]
        assert error in f"{caught.value.code}: {caught.value}"
