"""Element-by-element rules: JSON values get the scalar rule, arrays the array rule, and
integer operands are widened so that nothing wraps around."""

import math

import numpy as np
import xarray as xr

from eoplex_executor.engine.cube import DimensionArray
from eoplex_executor.processes._elementwise import (
    as_float,
    as_wide_integer,
    dtype_kind,
    elementwise,
    float64_of,
)


def test_json_values_take_the_scalar_rule_arrays_the_array_rule() -> None:
    def scalar(x: object, y: object) -> str:
        return "scalar"

    assert elementwise("add", scalar, np.add, x=1, y=2) == "scalar"
    assert list(elementwise("add", scalar, np.add, x=np.array([1, 2]), y=10)) == [11, 12]
    assert np.isnan(elementwise("add", scalar, np.add, x=np.array([1.0]), y=None)).all()


def test_a_dimension_array_operand_gives_a_dimension_array_and_division_by_zero_is_quiet() -> None:
    data = DimensionArray(xr.DataArray([1.0, 0.0], dims=["t"]), "t")
    result = elementwise("divide", float.__truediv__, np.divide, x=data, y=0.0)
    assert isinstance(result, DimensionArray) and result.dimension == "t"
    assert np.isinf(result.data.values[0]) and np.isnan(result.data.values[1])


def test_unsigned_integers_are_widened_before_they_could_wrap() -> None:
    red, nir = np.array([10], dtype=np.uint16), np.array([30], dtype=np.uint16)
    assert (as_wide_integer(red) - as_wide_integer(nir))[0] == -20
    assert as_float(np.array([True])).dtype == np.float64
    assert as_float(np.array([1.5], dtype=np.float32)).dtype == np.float32
    assert dtype_kind(np.array([1], dtype=np.uint8)) == "u"


def test_an_integer_beyond_the_float_range_is_an_infinity() -> None:
    assert float64_of(10**400) == math.inf
    assert float64_of(-(10**400)) == -math.inf
    assert float64_of(3) == 3.0
