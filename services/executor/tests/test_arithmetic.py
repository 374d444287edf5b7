"""Math, comparison and logic processes on cube values (dask-backed DataArrays) and their
edge cases on JSON values that the spec examples do not cover."""

from typing import Any

import dask.array
import numpy as np
import pytest
import xarray as xr

from eoplex_common.errors import MinMaxSwapped, ProcessParameterInvalid
from eoplex_executor.engine.cube import DimensionArray
from eoplex_executor.engine.environment import Environment
from services.executor.tests.cubes import make_cube, run_process

NAN = np.nan


def band_values(red: list[float], nir: list[float], dtype: Any) -> np.ndarray:
    """One date, bands B04 (red) and B08 (nir), one row."""
    return np.array([[[red], [nir]]], dtype=dtype)


def uint16_bands() -> tuple[xr.DataArray, xr.DataArray, np.ndarray, np.ndarray]:
    """Red and NIR as uint16 cube values where red exceeds NIR in some pixels."""
    red = [3000, 400, 0, 65535, 1200]
    nir = [1000, 4000, 0, 1, 1200]
    cube = make_cube(band_values(red, nir, np.uint16), dates=["2022-06-01"], shape=(1, 5))
    return (
        cube.data.sel(bands="B04", drop=True),
        cube.data.sel(bands="B08", drop=True),
        np.array(red, dtype=np.float64),
        np.array(nir, dtype=np.float64),
    )


def is_lazy(value: xr.DataArray) -> bool:
    return isinstance(value.data, dask.array.Array)


def test_uint16_subtraction_does_not_wrap_around(env: Environment) -> None:
    red, nir, red_ref, nir_ref = uint16_bands()
    result = run_process("subtract", env, x=nir, y=red)
    assert is_lazy(result)
    np.testing.assert_array_equal(result.values[0, 0], nir_ref - red_ref)
    assert result.values.min() == 1 - 65535


def test_uint16_addition_and_multiplication_do_not_overflow(env: Environment) -> None:
    red, nir, red_ref, nir_ref = uint16_bands()
    np.testing.assert_array_equal(
        run_process("add", env, x=red, y=nir).values[0, 0], red_ref + nir_ref
    )
    product = run_process("multiply", env, x=red, y=red).values[0, 0]
    np.testing.assert_array_equal(product, red_ref * red_ref)


def test_normalized_difference_of_uint16_bands_matches_float64(env: Environment) -> None:
    red, nir, red_ref, nir_ref = uint16_bands()
    result = run_process("normalized_difference", env, x=nir, y=red)
    assert is_lazy(result)
    assert result.dtype == np.float64
    with np.errstate(invalid="ignore"):
        expected = (nir_ref - red_ref) / (nir_ref + red_ref)
    np.testing.assert_allclose(result.values[0, 0], expected, rtol=1e-6, equal_nan=True)
    assert result.values[0, 0, 0] == pytest.approx(-0.5)


def test_divide_integer_arrays_in_floating_point_with_ieee_zero_division(env: Environment) -> None:
    x = xr.DataArray(dask.array.from_array(np.array([1, -1, 0, 7], dtype=np.int16)), dims="x")
    result = run_process("divide", env, x=x, y=0)
    assert is_lazy(result)
    np.testing.assert_array_equal(result.values, [np.inf, -np.inf, NAN, np.inf])
    halves = run_process("divide", env, x=x, y=2).values
    np.testing.assert_array_equal(halves, [0.5, -0.5, 0.0, 3.5])


def test_math_passes_nodata_through_and_broadcasts_scalars(env: Environment) -> None:
    values = np.array([4.0, NAN, -1.0, 0.0], dtype=np.float32)
    x = xr.DataArray(dask.array.from_array(values), dims="x")
    with np.errstate(all="ignore"):
        expected = {
            ("sqrt", "x"): np.sqrt(values),
            ("ln", "x"): np.log(values),
            ("exp", "p"): np.exp(values),
            ("absolute", "x"): np.abs(values),
        }
        for (process_id, parameter), reference in expected.items():
            result = run_process(process_id, env, **{parameter: x})
            assert is_lazy(result)
            np.testing.assert_allclose(result.values, reference, rtol=1e-6, equal_nan=True)
        logs = run_process("log", env, x=x, base=2).values
        np.testing.assert_allclose(logs, np.log2(values), rtol=1e-6, equal_nan=True)
        powers = run_process("power", env, base=x, p=0.5).values
        np.testing.assert_allclose(powers, np.power(values, 0.5), rtol=1e-6, equal_nan=True)
    plus_null = run_process("add", env, x=x, y=None).values
    assert np.isnan(plus_null).all()


def test_a_cube_and_a_band_broadcast_over_the_missing_dimension(env: Environment) -> None:
    data = make_cube().data
    first_band = data.isel(bands=0, drop=True)
    result = run_process("subtract", env, x=data, y=first_band)
    assert result.dims == data.dims
    np.testing.assert_array_equal(result.values, (data - first_band).values)
    assert np.all(result.sel(bands="B08").values == 100)


def test_linear_scale_range_clips_integer_arrays(env: Environment) -> None:
    x = xr.DataArray(dask.array.from_array(np.array([0, 50, 100, 200], dtype=np.uint8)), dims="x")
    result = run_process("linear_scale_range", env, x=x, inputMin=0, inputMax=100, outputMax=255)
    assert result.dtype == np.float64
    np.testing.assert_allclose(result.values, [0.0, 127.5, 255.0, 255.0])


def test_clip_on_arrays_and_swapped_bounds(env: Environment) -> None:
    x = xr.DataArray(dask.array.from_array(np.array([-5.0, 0.5, NAN, 9.0])), dims="x")
    np.testing.assert_array_equal(
        run_process("clip", env, x=x, min=0, max=1).values, [0.0, 0.5, NAN, 1.0]
    )
    with pytest.raises(MinMaxSwapped, match="min 2, max 1"):
        run_process("clip", env, x=1, min=2, max=1)


@pytest.mark.parametrize(
    ("process_id", "arguments", "expected"),
    [
        ("eq", {"y": 2.0}, [False, True, False, False]),
        ("neq", {"y": 2.0}, [True, False, True, False]),
        ("lt", {"y": 2.0}, [True, False, False, False]),
        ("lte", {"y": 2.0}, [True, True, False, False]),
        ("gt", {"y": 2.0}, [False, False, True, False]),
        ("gte", {"y": 2.0}, [False, True, True, False]),
        ("eq", {"y": 2.5, "delta": 0.6}, [False, True, True, False]),
        ("between", {"min": 1, "max": 3}, [True, True, True, False]),
        ("between", {"min": 1, "max": 3, "exclude_max": True}, [True, True, False, False]),
        ("between", {"min": 3, "max": 1}, [False, False, False, False]),
        ("lt", {"y": "2018-01-01"}, [False, False, False, False]),
        ("eq", {"y": "1"}, [False, False, False, False]),
        ("lt", {"y": True}, [False, False, False, False]),
    ],
)
def test_comparisons_on_arrays_are_boolean_and_false_on_nodata(
    env: Environment, process_id: str, arguments: dict[str, Any], expected: list[bool]
) -> None:
    x = xr.DataArray(
        dask.array.from_array(np.array([1.0, 2.0, 3.0, NAN], dtype=np.float32)), dims="x"
    )
    result = run_process(process_id, env, x=x, **arguments)
    assert is_lazy(result)
    assert result.dtype == np.bool_
    np.testing.assert_array_equal(result.values, expected)


def test_eq_with_delta_on_unsigned_values_does_not_wrap(env: Environment) -> None:
    x = xr.DataArray(np.array([3, 10], dtype=np.uint16), dims="x")
    y = xr.DataArray(np.array([10, 3], dtype=np.uint16), dims="x")
    np.testing.assert_array_equal(run_process("eq", env, x=x, y=y, delta=8).values, [True, True])
    np.testing.assert_array_equal(run_process("eq", env, x=x, y=y, delta=5).values, [False, False])


def test_logic_on_arrays_treats_nodata_as_false(env: Environment) -> None:
    # x, y over every pair of (no-data, false, true) as NaN/0/1 floats.
    x = xr.DataArray(dask.array.from_array(np.repeat([NAN, 0.0, 1.0], 3)), dims="p")
    y = xr.DataArray(dask.array.from_array(np.tile([NAN, 0.0, 1.0], 3)), dims="p")
    results = {
        process_id: run_process(process_id, env, x=x, y=y).values
        for process_id in ("and", "or", "xor")
    }
    # The spec's truth tables, with no-data as false in cubes.
    np.testing.assert_array_equal(results["and"], [0, 0, 0, 0, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(results["or"], [0, 0, 1, 0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(results["xor"], [0, 0, 0, 0, 0, 1, 0, 1, 0])
    negated = run_process("not", env, x=x).values
    np.testing.assert_array_equal(negated, [0, 0, 0, 1, 1, 1, 0, 0, 0])
    assert all(result.dtype == np.bool_ for result in results.values())


def test_logic_on_boolean_arrays_and_scalars(env: Environment) -> None:
    x = xr.DataArray(dask.array.from_array(np.array([True, False])), dims="x")
    np.testing.assert_array_equal(run_process("and", env, x=x, y=True).values, [True, False])
    np.testing.assert_array_equal(run_process("or", env, x=x, y=None).values, [True, False])
    np.testing.assert_array_equal(run_process("not", env, x=x).values, [False, True])


def test_if_on_arrays_selects_elementwise(env: Environment) -> None:
    data = make_cube().data
    result = run_process("if", env, value=run_process("gt", env, x=data, y=1500), accept=data)
    assert is_lazy(result)
    expected = np.where(data.values > 1500, data.values, NAN)
    np.testing.assert_array_equal(result.values, expected)
    both = run_process("if", env, value=data > 1500, accept=1, reject=0).values
    np.testing.assert_array_equal(both, (data.values > 1500).astype(int))


def test_if_with_a_scalar_value_returns_accept_or_reject_unchanged(env: Environment) -> None:
    data = make_cube().data
    assert run_process("if", env, value=True, accept=data) is data
    assert run_process("if", env, value=None, accept=data, reject=[1]) == [1]


def test_nodata_checks_on_arrays(env: Environment) -> None:
    x = xr.DataArray(dask.array.from_array(np.array([1.0, NAN, np.inf, -np.inf])), dims="x")
    np.testing.assert_array_equal(run_process("is_nan", env, x=x).values, [0, 1, 0, 0])
    np.testing.assert_array_equal(run_process("is_nodata", env, x=x).values, [0, 1, 0, 0])
    np.testing.assert_array_equal(run_process("is_valid", env, x=x).values, [1, 0, 0, 0])
    integers = xr.DataArray(np.array([1, 2]), dims="x")
    np.testing.assert_array_equal(run_process("is_valid", env, x=integers).values, [1, 1])


def test_a_dimension_array_operand_gives_a_dimension_array(env: Environment) -> None:
    data = DimensionArray(make_cube().data, "t")
    result = run_process("multiply", env, x=data, y=2)
    assert isinstance(result, DimensionArray) and result.dimension == "t"
    assert is_lazy(result.data)
    np.testing.assert_array_equal(result.data.values, data.data.values * 2)


@pytest.mark.parametrize(
    ("process_id", "arguments", "expected"),
    [
        ("add", {"x": 1, "y": 2}, 3),
        ("divide", {"x": -1, "y": 0}, -np.inf),
        ("power", {"base": -8, "p": 1 / 3}, NAN),
        ("power", {"base": 0, "p": -1}, np.inf),
        ("ln", {"x": 0}, -np.inf),
        ("sqrt", {"x": -1}, NAN),
        ("normalized_difference", {"x": 1, "y": -1}, np.inf),
        ("eq", {"x": NAN, "y": NAN}, False),
        ("neq", {"x": True, "y": True}, False),
        ("lt", {"x": "a", "y": "b"}, False),
        ("between", {"x": "1", "min": 0, "max": 2}, False),
        ("is_nan", {"x": NAN}, True),
        ("is_nan", {"x": None}, False),
        ("is_valid", {"x": np.inf}, False),
        ("if", {"value": False, "accept": 1}, None),
    ],
)
def test_json_edge_cases(
    env: Environment, process_id: str, arguments: dict[str, Any], expected: Any
) -> None:
    result = run_process(process_id, env, **arguments)
    if isinstance(expected, float) and np.isnan(expected):
        assert isinstance(result, float) and np.isnan(result)
    else:
        assert result == expected and type(result) is type(expected)


def test_add_keeps_integers_integral(env: Environment) -> None:
    assert type(run_process("add", env, x=1, y=2)) is int
    assert type(run_process("subtract", env, x=1.5, y=2)) is float


@pytest.mark.parametrize(
    ("process_id", "arguments"),
    [
        ("add", {"x": "1", "y": 2}),
        ("multiply", {"x": True, "y": 2}),
        ("and", {"x": 1, "y": True}),
        ("not", {"x": "true"}),
        ("if", {"value": 1, "accept": 2}),
        ("between", {"x": 1, "min": "0", "max": 2}),
        ("add", {"x": make_cube().data, "y": [1, 2]}),
    ],
)
def test_invalid_types_are_parameter_errors(
    env: Environment, process_id: str, arguments: dict[str, Any]
) -> None:
    with pytest.raises(ProcessParameterInvalid):
        run_process(process_id, env, **arguments)


def test_integers_beyond_the_float_range_are_infinite_in_floating_math(env: Environment) -> None:
    """`divide(10**400, 1)` is +inf (IEEE 754), not an OverflowError."""
    assert run_process("divide", env, x=10**400, y=1) == float("inf")
    assert run_process("divide", env, x=-(10**400), y=2) == float("-inf")
