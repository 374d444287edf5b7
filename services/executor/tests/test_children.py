"""Child processes on cube values: their results brought into the cube's shape, and one
reducer call per group of labels."""

import numpy as np
import pytest
import xarray as xr

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import DimensionArray
from eoplex_executor.processes._children import (
    LIST_DIMENSION,
    aggregate,
    as_dimension_array,
    conform,
)
from services.executor.tests.cubes import make_cube

TEMPLATE = xr.DataArray(np.zeros((2, 3), dtype=np.float32), dims=("y", "x"))


def test_conform_broadcasts_scalars_and_null_with_their_own_type() -> None:
    assert conform(7, TEMPLATE, "apply", "process").dtype == np.int64
    assert conform(True, TEMPLATE, "apply", "process").dtype == bool
    filled = conform(None, TEMPLATE, "apply", "process")
    assert filled.shape == (2, 3) and bool(filled.isnull().all())


def test_conform_orders_dimensions_as_the_template_and_refuses_new_ones() -> None:
    transposed = xr.DataArray(np.ones((3, 2)), dims=("x", "y"))
    assert conform(transposed, TEMPLATE, "apply", "process").dims == ("y", "x")
    extra = xr.DataArray(np.ones((2, 3, 4)), dims=("y", "x", "t"))
    with pytest.raises(ProcessParameterInvalid, match="returned values along t"):
        conform(extra, TEMPLATE, "apply", "process")
    assert conform(extra, TEMPLATE, "apply_dimension", "process", along="t").dims == (
        "y",
        "x",
        "t",
    )


def test_conform_refuses_what_is_not_a_value_per_pixel() -> None:
    with pytest.raises(ProcessParameterInvalid, match="returned list, not a value per pixel"):
        conform([1, 2], TEMPLATE, "apply", "process")


def test_a_list_of_cube_values_and_numbers_becomes_one_dimension_array() -> None:
    stacked = as_dimension_array([TEMPLATE + 1, 5, None])
    assert stacked is not None
    assert stacked.dimension == LIST_DIMENSION
    assert stacked.data.sizes[LIST_DIMENSION] == 3
    assert as_dimension_array([1, 2]) is None


def test_aggregate_makes_an_empty_group_no_data() -> None:
    cube = make_cube(chunked=False)

    def first(data: DimensionArray, context: object = None) -> xr.DataArray:
        return data.data.isel({data.dimension: 0}, drop=True)

    groups = [np.array([0, 1]), np.array([], dtype=int), np.array([2])]
    result = aggregate(cube, "t", groups, np.array(["a", "b", "c"]), first, None, "test")
    assert list(result.data.coords["t"].values) == ["a", "b", "c"]
    values = result.data.values
    assert np.array_equal(values[0], cube.data.values[0])
    assert bool(np.isnan(values[1]).all())
    assert np.array_equal(values[2], cube.data.values[2])
