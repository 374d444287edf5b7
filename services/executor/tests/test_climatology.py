"""climatological_normal and anomaly against pandas/numpy references computed here."""

import numpy as np
import pandas as pd
import pytest

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import RasterCube
from eoplex_executor.engine.environment import Environment
from eoplex_executor.processes.climatology import anomaly, climatological_normal
from services.executor.tests.cubes import (
    computed,
    graph_on_cube,
    make_cube,
    reducer_graph,
    result_node,
    run_graph,
)

# Every 10 days from December 2019 to the end of 2021 (83 dates).
DATES = pd.date_range("2019-12-01", "2021-12-31", freq="10D")


def series_cube(dates: pd.DatetimeIndex = DATES, *, nodata: bool = True) -> RasterCube:
    values = np.random.default_rng(7).uniform(0, 10, (len(dates), 2, 2, 3)).astype(np.float32)
    if nodata:
        values[5, 0, 1, 1] = np.nan
        values[::7, 1, 0, 0] = np.nan
    return make_cube(values, dates=[str(d.date()) for d in dates], shape=(2, 3))


def reference_means(cube: RasterCube, keys: list[str], labels: list[str]) -> np.ndarray:
    """NaN-skipping means of the values per key, in the order of `labels`."""
    values = np.asarray(cube.data.values, dtype=np.float64)
    means = []
    for label in labels:
        chosen = values[[key == label for key in keys]]
        valid = ~np.isnan(chosen)
        count = valid.sum(axis=0)
        total = np.where(valid, chosen, 0).sum(axis=0)
        means.append(np.where(count > 0, total / np.maximum(count, 1), np.nan))
    return np.array(means)


def test_monthly_normals_are_the_means_of_each_month_over_the_period() -> None:
    cube = series_cube()
    normals = climatological_normal(cube, "month", [2020, 2021])
    labels = [f"{month:02d}" for month in range(1, 13)]
    assert normals.labels("t") == labels
    assert normals.dimension_types == cube.dimension_types
    keys = [f"{d.month:02d}" if d.year in (2020, 2021) else "-" for d in DATES]
    np.testing.assert_allclose(computed(normals), reference_means(cube, keys, labels), rtol=1e-5)


def test_winter_counts_the_december_before_the_period_only_when_there_is_one() -> None:
    cube = series_cube()
    normals = climatological_normal(cube, "season", [2020, 2021])
    assert normals.labels("t") == ["djf", "mam", "jja", "son"]

    def season(day: pd.Timestamp) -> str:
        names = {12: "djf", 1: "djf", 2: "djf", 3: "mam", 4: "mam", 5: "mam"}
        return names.get(day.month, "jja" if day.month < 9 else "son")

    # December 2019 opens the winter of 2020; December 2021 starts one after the period.
    keys = [season(d) if not (d.year == 2021 and d.month == 12) else "-" for d in DATES]
    expected = reference_means(cube, keys, ["djf", "mam", "jja", "son"])
    np.testing.assert_allclose(computed(normals), expected, rtol=1e-5)

    late = series_cube(DATES[DATES >= "2020-01-01"])
    normals = climatological_normal(late, "season", [2020, 2021])
    # Without December 2019 the first winter (January, February 2020) does not count.
    keys = [
        "-" if (d.year == 2020 and d.month < 3) or (d.year == 2021 and d.month == 12) else season(d)
        for d in late.data.t.to_index()
    ]
    expected = reference_means(late, keys, ["djf", "mam", "jja", "son"])
    np.testing.assert_allclose(computed(normals), expected, rtol=1e-5)


def test_tropical_seasons_and_the_whole_period() -> None:
    cube = series_cube()
    tropical = climatological_normal(cube, "tropical-season", [2020, 2021])
    assert tropical.labels("t") == ["ndjfma", "mjjaso"]
    whole = climatological_normal(cube, "climatology-period", [2021, 2021])
    assert whole.labels("t") == ["climatology-period"]
    keys = ["all" if d.year == 2021 else "-" for d in DATES]
    np.testing.assert_allclose(computed(whole), reference_means(cube, keys, ["all"]), rtol=1e-5)


def test_daily_normals_have_365_labels_and_366_for_a_leap_year_end() -> None:
    cube = series_cube(pd.date_range("2020-01-01", "2020-12-31", freq="5D"))
    normals = climatological_normal(cube, "day", [2020, 2020])
    labels = normals.labels("t")
    assert labels[0] == "001" and labels[364] == "365" and labels[-1] == "366"
    values = computed(normals)
    # 2020-01-06 is day 6; day 2 has no data.
    np.testing.assert_allclose(values[5], cube.data.values[1], rtol=1e-6)
    assert np.isnan(values[1]).all()


@pytest.mark.parametrize(
    ("period", "years", "error"),
    [
        ("week", [2020, 2021], "period"),
        ("month", [2019, 2022], "does not cover"),
        ("month", [2021, 2020], "comes before"),
        ("month", ["x", 2020], "two years"),
    ],
)
def test_climatological_normal_refuses(period: str, years: list[object], error: str) -> None:
    with pytest.raises(ProcessParameterInvalid) as caught:
        climatological_normal(series_cube(), period, years)
    assert error in str(caught.value)


def test_the_default_climatology_period_is_1981_to_2010(env: Environment) -> None:
    graph = graph_on_cube("climatological_normal", period="month")
    with pytest.raises(ProcessParameterInvalid) as caught:
        run_graph(graph, env, cube=series_cube())
    assert "1981-2010" in str(caught.value)


def test_anomaly_subtracts_the_normal_of_each_period(env: Environment) -> None:
    cube = series_cube()
    graph = {
        "monthly": {
            "process_id": "aggregate_temporal_period",
            "arguments": {
                "data": {"from_parameter": "cube"},
                "period": "month",
                "reducer": reducer_graph("mean"),
            },
        },
        "normals": {
            "process_id": "climatological_normal",
            "arguments": {
                "data": {"from_parameter": "cube"},
                "period": "month",
                "climatology_period": [2020, 2021],
            },
        },
        "anomaly": result_node(
            "anomaly",
            data={"from_node": "monthly"},
            normals={"from_node": "normals"},
            period="month",
        ),
    }
    result = run_graph(graph, env, cube=cube)
    assert result.labels("t")[:2] == ["2019-12", "2020-01"]
    normals = computed(climatological_normal(cube, "month", [2020, 2021]))
    monthly = reference_means(cube, [f"{d.year}-{d.month:02d}" for d in DATES], result.labels("t"))
    months = [int(label[5:]) - 1 for label in result.labels("t")]
    np.testing.assert_allclose(computed(result), monthly - normals[months], rtol=1e-5, atol=1e-5)


def test_anomaly_of_instants_and_normals_without_bands() -> None:
    cube = series_cube(nodata=False)
    normals = climatological_normal(cube, "season", [2020, 2021])
    one_band = normals.with_data(normals.data.isel(bands=0, drop=True))
    result = anomaly(cube, one_band, "season")
    assert result.labels("t") == cube.labels("t") and result.dims == cube.dims
    seasons = {12: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1, 6: 2, 7: 2, 8: 2, 9: 3, 10: 3, 11: 3}
    picked = one_band.data.values[[seasons[d.month] for d in DATES]]
    expected = cube.data.values - picked[:, np.newaxis]
    np.testing.assert_allclose(computed(result), expected, rtol=1e-5)


def test_anomaly_of_a_period_without_normal_is_no_data() -> None:
    cube = series_cube(nodata=False)
    normals = climatological_normal(cube, "month", [2020, 2021])
    june = normals.with_data(normals.data.isel(t=[5]))
    values = computed(anomaly(cube, june, "month"))
    in_june = np.array([d.month == 6 for d in DATES])
    assert np.isnan(values[~in_june]).all()
    np.testing.assert_allclose(
        values[in_june], cube.data.values[in_june] - june.data.values, rtol=1e-5
    )


def test_anomaly_of_a_single_period() -> None:
    cube = series_cube(nodata=False)
    whole = climatological_normal(cube, "climatology-period", [2020, 2021])
    result = anomaly(cube, whole, "single-period")
    np.testing.assert_allclose(computed(result), cube.data.values - whole.data.values, rtol=1e-5)
    with pytest.raises(ProcessParameterInvalid):
        anomaly(cube, climatological_normal(cube, "season", [2020, 2021]), "climatology-period")


def test_anomaly_refuses_normals_on_other_labels() -> None:
    cube = series_cube(nodata=False)
    normals = climatological_normal(cube, "month", [2020, 2021])
    shifted = normals.with_data(normals.data.assign_coords(x=normals.data.x + 1000))
    with pytest.raises(ProcessParameterInvalid) as caught:
        anomaly(cube, shifted, "month")
    assert "IncompatibleDataCubes" in str(caught.value)
    with pytest.raises(ProcessParameterInvalid):
        anomaly(cube, normals, "fortnight")
    labelled = cube.with_data(cube.data.assign_coords(t=[f"x{i}" for i in range(len(DATES))]))
    with pytest.raises(ProcessParameterInvalid) as caught:
        anomaly(labelled, normals, "month")
    assert "not one of a month" in str(caught.value)


def test_normals_and_anomalies_are_lazy() -> None:
    def explode(block: np.ndarray) -> np.ndarray:
        raise AssertionError("the process computed the cube")

    cube = series_cube()
    failing = cube.with_data(
        cube.data.copy(data=cube.data.data.map_blocks(explode, dtype=np.float32))
    )
    normals = climatological_normal(failing, "month", [2020, 2021])
    anomaly(failing, normals, "month")
