"""The argument checks and value tests that processes share."""

import math

import numpy as np
import pytest

from eoplex_common.errors import DimensionNotAvailable, ProcessParameterInvalid
from eoplex_executor.processes._checks import (
    is_finite_number,
    is_nodata,
    is_number,
    require_cube,
    require_temporal_dimension,
)
from services.executor.tests.cubes import make_cube


@pytest.mark.parametrize(
    ("value", "number", "finite"),
    [
        (1, True, True),
        (2.5, True, True),
        (10**400, True, True),  # an integer beyond every float is still a finite number
        (math.nan, True, False),
        (math.inf, True, False),
        (np.float64(1.5), True, True),  # a float
        (np.float32(1.5), True, False),
        (np.int16(3), True, False),  # a numpy integer is an operand, not a JSON argument
        (True, False, False),
        ("1", False, False),
        (None, False, False),
    ],
)
def test_is_number_takes_nan_and_numpy_numbers_is_finite_number_json_numbers_only(
    value: object, number: bool, finite: bool
) -> None:
    assert is_number(value) is number
    assert is_finite_number(value) is finite


@pytest.mark.parametrize(
    ("item", "nodata"), [(None, True), (math.nan, True), (0, False), ("", False)]
)
def test_is_nodata_is_null_or_nan(item: object, nodata: bool) -> None:
    assert bool(is_nodata(item)) is nodata


def test_require_cube_names_the_process_and_parameter() -> None:
    with pytest.raises(ProcessParameterInvalid, match="expected a raster data cube") as caught:
        require_cube([1, 2], "mask", "mask")
    assert caught.value.params["process"] == "mask"
    assert caught.value.params["parameter"] == "mask"


def test_require_temporal_dimension_finds_the_only_one_or_refuses() -> None:
    cube = make_cube()
    assert require_temporal_dimension(cube, None, "anomaly") == "t"
    with pytest.raises(DimensionNotAvailable, match="'x' is not"):
        require_temporal_dimension(cube, "x", "anomaly")
    with pytest.raises(DimensionNotAvailable, match="the cube has no"):
        require_temporal_dimension(cube.with_data(cube.data.isel(t=0, drop=True)), None, "anomaly")
