"""The dimension labels that processes share: label arrays, positions, spatial equality."""

import numpy as np
import xarray as xr

from eoplex_executor.engine.cube import DimensionArray
from eoplex_executor.processes._labels import label_array, label_position, same_coordinates


def test_label_array_keeps_mixed_labels_as_they_are() -> None:
    assert label_array(["a", "b"]).dtype.kind == "U"
    assert label_array([1, 2.5]).dtype.kind == "f"
    mixed = label_array([1, "b"])
    assert mixed.dtype == object and list(mixed) == [1, "b"]


def test_label_position_matches_dates_given_as_text() -> None:
    times = np.array(["2022-06-01", "2022-06-06"], dtype="datetime64[ns]")
    data = DimensionArray(xr.DataArray([1.0, 2.0], dims=["t"], coords={"t": times}), "t")
    assert label_position(data, "2022-06-06") == 1
    assert label_position(data, "2022-06-06T00:00:00Z") == 1
    assert label_position(data, "2022-06-07") is None
    assert label_position(data, "not a date") is None


def test_same_coordinates_allows_a_thousandth_of_a_pixel() -> None:
    ours = np.array([0.0, 10.0, 20.0])
    assert same_coordinates(ours, ours + 0.009)
    assert not same_coordinates(ours, ours + 0.011)
