"""Rounding, modulo, sign, constants and trigonometry: JSON edge cases the spec examples do
not cover (null, NaN, +-inf, integer extremes, wrong types) and cube values through `apply`."""

import math
from typing import Any

import dask.array
import numpy as np
import pytest
import xarray as xr

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import DimensionArray, RasterCube
from eoplex_executor.engine.environment import Environment
from services.executor.tests.cubes import (
    child_graph,
    graph_on_cube,
    make_cube,
    run_graph,
    run_process,
)

NAN, INF = math.nan, math.inf
BIG = 2**64 + 1  # beyond every numpy integer type


def applied(env: Environment, cube: RasterCube, process_id: str, **arguments: Any) -> RasterCube:
    """`apply(cube, process_id(x, **arguments))` as a real process graph."""
    child = child_graph(process_id, x={"from_parameter": "x"}, **arguments)
    result = run_graph(graph_on_cube("apply", process=child), env, cube=cube)
    assert isinstance(result, RasterCube)
    assert isinstance(result.data.data, dask.array.Array), "the result is not lazy"
    return result


def float_cube(values: list[float], dtype: Any = np.float32) -> RasterCube:
    """One date, one band, one row of `values`."""
    array = np.array([[[values]]], dtype=dtype)
    return make_cube(array, dates=["2022-06-01"], bands=["B04"], shape=(1, len(values)))


# ceil, floor, int


@pytest.mark.parametrize(
    ("process_id", "x", "expected"),
    [
        ("ceil", 2.000001, 3),
        ("ceil", -0.0, 0),
        ("floor", -1e-9, -1),
        ("int", -2.9, -2),
        ("int", 1e300, int(1e300)),
        ("floor", BIG, BIG),
        ("ceil", -(2**63), -(2**63)),
    ],
)
def test_integer_valued_processes_return_exact_json_integers(
    env: Environment, process_id: str, x: Any, expected: int
) -> None:
    result = run_process(process_id, env, x=x)
    assert type(result) is int and result == expected


@pytest.mark.parametrize("process_id", ["ceil", "floor", "int", "sgn"])
@pytest.mark.parametrize("x", [INF, -INF, NAN, None])
def test_integer_valued_processes_pass_special_values_through(
    env: Environment, process_id: str, x: Any
) -> None:
    result = run_process(process_id, env, x=x)
    if process_id == "sgn" and x in (INF, -INF):
        assert result == (1 if x > 0 else -1)
    elif x is None:
        assert result is None
    else:
        assert result == x or (math.isnan(result) and math.isnan(x))


@pytest.mark.parametrize(
    "process_id", ["ceil", "floor", "int", "round", "sgn", "sin", "arctan2", "mod", "arcosh"]
)
@pytest.mark.parametrize("bad", [True, "1", [1.5], {"x": 1}])
def test_booleans_strings_and_arrays_are_not_numbers(
    env: Environment, process_id: str, bad: Any
) -> None:
    arguments = {"arctan2": {"y": bad, "x": 1}, "mod": {"x": 1, "y": bad}}.get(
        process_id, {"x": bad}
    )
    with pytest.raises(ProcessParameterInvalid):
        run_process(process_id, env, **arguments)


def test_integer_valued_processes_keep_nodata_and_float_dtype_in_cubes(env: Environment) -> None:
    values = [1.5, -1.5, NAN, -0.2, INF, 2.0]
    cube = float_cube(values)
    expected = {"ceil": np.ceil, "floor": np.floor, "int": np.trunc}
    for process_id, reference in expected.items():
        result = applied(env, cube, process_id)
        assert result.data.dtype == np.float32
        np.testing.assert_array_equal(
            result.data.values[0, 0, 0], reference(np.array(values, dtype=np.float32))
        )


def test_integer_cubes_stay_integers(env: Environment) -> None:
    cube = float_cube([-5, 0, 7], dtype=np.int16)
    for process_id in ("ceil", "floor", "int", "round"):
        result = applied(env, cube, process_id)
        assert result.data.dtype == np.int16
        np.testing.assert_array_equal(result.data.values[0, 0, 0], [-5, 0, 7])


# round


@pytest.mark.parametrize(
    ("x", "p", "expected"),
    [
        (2.5, 0, 2),
        (3.5, 0, 4),
        (-0.5, 0, 0),
        (1250, -2, 1200),
        (1350, -2, 1400),
        (-1250, -2, -1200),
        (18446744073709551666, -2, 18446744073709551700),
        (2.675, 2, 2.68),  # the decimal digits decide, not the binary float (2.67499...)
        (1.5, 400, 1.5),
        (1e300, -400, 0),
        (1e300, 0, int(1e300)),
        (5e-324, 2, 0.0),
    ],
)
def test_round_half_to_even_on_json_numbers(
    x: Any, p: int, expected: Any, env: Environment
) -> None:
    result = run_process("round", env, x=x, p=p)
    assert result == expected
    assert type(result) is type(expected)


def test_round_of_a_big_integer_is_exact(env: Environment) -> None:
    assert run_process("round", env, x=18446744073709551650, p=-2) == 18446744073709551600
    assert run_process("round", env, x=18446744073709551750, p=-2) == 18446744073709551800


@pytest.mark.parametrize("p", [1.5, True, None, "1"])
def test_round_refuses_a_precision_that_is_not_an_integer(env: Environment, p: Any) -> None:
    with pytest.raises(ProcessParameterInvalid, match="'p'"):
        run_process("round", env, x=1.25, p=p)


def test_round_cube_values_half_to_even_with_nodata(env: Environment) -> None:
    cube = float_cube([0.25, 0.35, NAN, -2.5, 1234.5, 3e38], dtype=np.float64)
    one = applied(env, cube, "round", p=1).data.values[0, 0, 0]
    np.testing.assert_allclose(one, [0.2, 0.4, NAN, -2.5, 1234.5, 3e38], equal_nan=True)
    hundreds = applied(env, cube, "round", p=-2).data.values[0, 0, 0]
    np.testing.assert_allclose(hundreds, [0, 0, NAN, 0, 1200, 3e38], equal_nan=True)
    huge_p = applied(env, cube, "round", p=400).data.values[0, 0, 0]
    np.testing.assert_array_equal(huge_p, cube.data.values[0, 0, 0])
    nothing_left = applied(env, cube, "round", p=-400).data.values[0, 0, 0]
    np.testing.assert_array_equal(nothing_left, [0, 0, NAN, 0, 0, 0])


def test_round_integer_cubes_with_negative_precision_exactly(env: Environment) -> None:
    extremes = [-(2**31), 2**31 - 1, 1250, 1350, -1250, 49]
    cube = float_cube(extremes, dtype=np.int32)
    result = applied(env, cube, "round", p=-2).data
    assert result.dtype.kind == "i"
    expected = [run_process("round", env, x=value, p=-2) for value in extremes]
    np.testing.assert_array_equal(result.values[0, 0, 0], expected)
    assert applied(env, cube, "round", p=-30).data.values.max() == 0
    wide = applied(env, float_cube([2**62 + 51], dtype=np.int64), "round", p=-2).data
    assert wide.dtype == np.float64 and wide.values.item() == pytest.approx(2**62, rel=1e-15)


# mod


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (7, 0, INF),
        (-7, 0, -INF),
        (0, 0, NAN),
        (7.5, 0.0, INF),
        (NAN, 3, NAN),
        (5, INF, 5.0),
        (-5, INF, INF),  # the divisor's sign: floor division gives -1, remainder inf
        (INF, 3, NAN),
        (BIG, -3, BIG % -3),
        (-(2**63), -1, 0),
        (5.5, 2, 1.5),
    ],
)
def test_mod_edge_cases(env: Environment, x: Any, y: Any, expected: float) -> None:
    result = run_process("mod", env, x=x, y=y)
    if math.isnan(expected):
        assert math.isnan(result)
    else:
        assert result == expected


def test_mod_of_integers_is_an_exact_integer(env: Environment) -> None:
    result = run_process("mod", env, x=10**30 + 7, y=10)
    assert type(result) is int and result == 7


def test_mod_on_cube_values(env: Environment) -> None:
    cube = float_cube([27, -27, 3.14, NAN, 0, 5])
    by_five = applied(env, cube, "mod", y=-5).data
    assert by_five.dtype == np.float32
    expected = np.mod(np.array([27, -27, 3.14, NAN, 0, 5], dtype=np.float32), -5)
    np.testing.assert_allclose(by_five.values[0, 0, 0], expected, equal_nan=True, rtol=1e-6)
    by_zero = applied(env, cube, "mod", y=0).data.values[0, 0, 0]
    np.testing.assert_array_equal(by_zero, [INF, -INF, INF, NAN, NAN, INF])
    integers = applied(env, float_cube([-7, 7, 32767], dtype=np.int16), "mod", y=3).data
    assert integers.dtype.kind == "i"
    np.testing.assert_array_equal(integers.values[0, 0, 0], [2, 1, 1])
    as_floats = applied(env, float_cube([-7, 7], dtype=np.int16), "mod", y=0).data
    np.testing.assert_array_equal(as_floats.values[0, 0, 0], [-INF, INF])


def test_mod_of_two_cube_values_by_zero_elements(env: Environment) -> None:
    x = xr.DataArray(dask.array.from_array(np.array([7, -7, 0, 7], dtype=np.int32)), dims="x")
    y = xr.DataArray(dask.array.from_array(np.array([0, 0, 0, 5], dtype=np.int32)), dims="x")
    result = run_process("mod", env, x=x, y=y)
    np.testing.assert_array_equal(result.values, [INF, -INF, NAN, 2])


# sgn


def test_sgn_of_zero_is_zero(env: Environment) -> None:
    for zero in (0, 0.0, -0.0):
        result = run_process("sgn", env, x=zero)
        assert result == 0 and type(result) is int
    cube = float_cube([-0.0, 0.0, -3, 2.5, NAN, -INF])
    result = applied(env, cube, "sgn").data
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result.values[0, 0, 0], [0, 0, -1, 1, NAN, -1])
    unsigned = applied(env, float_cube([0, 65535], dtype=np.uint16), "sgn").data.values
    np.testing.assert_array_equal(unsigned[0, 0, 0], [0, 1])


# constants


@pytest.mark.parametrize(("process_id", "expected"), [("e", math.e), ("pi", math.pi)])
def test_constants(env: Environment, process_id: str, expected: float) -> None:
    graph = {"c": {"process_id": process_id, "arguments": {}, "result": True}}
    assert run_graph(graph, env) == expected


def test_nan_is_not_a_number_and_not_infinite(env: Environment) -> None:
    graph = {
        "nan": {"process_id": "nan", "arguments": {}},
        "check": {
            "process_id": "is_infinite",
            "arguments": {"x": {"from_node": "nan"}},
            "result": True,
        },
    }
    assert run_graph(graph, env) is False
    assert math.isnan(run_graph({"n": {"process_id": "nan", "arguments": {}, "result": True}}, env))


def test_constant_returns_any_value_unchanged(env: Environment) -> None:
    for value in (None, 1, "text", [1, None], {"a": [True]}):
        graph = {"c": {"process_id": "constant", "arguments": {"x": value}, "result": True}}
        assert run_graph(graph, env) == value
    cube = make_cube()
    assert run_process("constant", env, x=cube) is cube


@pytest.mark.parametrize(
    ("x", "expected"),
    [(INF, True), (-INF, True), (NAN, False), (None, False), (1e308, False), (BIG, False),
     ("inf", False), ([INF], False), (True, False)],
)  # fmt: skip
def test_is_infinite_on_json_values(env: Environment, x: Any, expected: bool) -> None:
    assert run_process("is_infinite", env, x=x) is expected


def test_is_infinite_on_cube_values(env: Environment) -> None:
    result = applied(env, float_cube([INF, -INF, NAN, 0.0]), "is_infinite").data
    assert result.dtype == bool
    np.testing.assert_array_equal(result.values[0, 0, 0], [True, True, False, False])
    integers = applied(env, float_cube([1, 2], dtype=np.int8), "is_infinite").data.values
    assert not integers.any()


# trigonometric and hyperbolic functions


FUNCTIONS = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "arctan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "arsinh": np.arcsinh,
    "arcosh": np.arccosh,
    "artanh": np.arctanh,
}


@pytest.mark.parametrize("process_id", sorted(FUNCTIONS))
def test_functions_on_json_numbers_match_numpy(env: Environment, process_id: str) -> None:
    reference = FUNCTIONS[process_id]
    for x in (0, 0.5, -0.5, 1, -1, 2, -2, INF, -INF, NAN):
        with np.errstate(all="ignore"):
            expected = float(reference(np.float64(x)))
        result = run_process(process_id, env, x=x)
        assert type(result) is float
        assert result == expected or (math.isnan(result) and math.isnan(expected)), x
    assert run_process(process_id, env, x=None) is None


def test_domain_edges_follow_ieee_754(env: Environment) -> None:
    assert run_process("artanh", env, x=1) == INF
    assert run_process("artanh", env, x=-1) == -INF
    assert math.isnan(run_process("arcsin", env, x=1.5))
    assert math.isnan(run_process("arcosh", env, x=0))
    assert run_process("arccos", env, x=-1) == pytest.approx(math.pi)
    assert run_process("cosh", env, x=1000) == INF


def test_integers_beyond_the_float_range_count_as_infinite(env: Environment) -> None:
    assert run_process("tanh", env, x=10**400) == 1.0
    assert run_process("arctan", env, x=-(10**400)) == pytest.approx(-math.pi / 2)
    assert math.isnan(run_process("sin", env, x=10**400))


@pytest.mark.parametrize(
    ("y", "x", "expected"),
    [(1, -1, 3 * math.pi / 4), (-1, -1, -3 * math.pi / 4), (0, -1, math.pi), (1, 0, math.pi / 2),
     (None, 1, None), (1, None, None)],
)  # fmt: skip
def test_arctan2_uses_both_signs(env: Environment, y: Any, x: Any, expected: Any) -> None:
    result = run_process("arctan2", env, y=y, x=x)
    assert result == (expected if expected is None else pytest.approx(expected))


@pytest.mark.parametrize("process_id", sorted(FUNCTIONS))
def test_functions_on_cube_values_keep_float32_and_nodata(
    env: Environment, process_id: str
) -> None:
    values = np.array([0.0, 0.5, -0.9, NAN, 3.0], dtype=np.float32)
    result = applied(env, float_cube(list(values)), process_id).data
    assert result.dtype == np.float32
    with np.errstate(all="ignore"):
        expected = FUNCTIONS[process_id](values)
    np.testing.assert_allclose(result.values[0, 0, 0], expected, rtol=1e-6, equal_nan=True)


def test_functions_on_integer_cube_values_are_float64(env: Environment) -> None:
    result = applied(env, float_cube([0, 1, -32768], dtype=np.int16), "sin").data
    assert result.dtype == np.float64
    np.testing.assert_allclose(result.values[0, 0, 0], np.sin([0.0, 1.0, -32768.0]))


def test_arctan2_of_two_bands(env: Environment) -> None:
    cube = make_cube(np.array([[[[1.0, -1.0, NAN]], [[-1.0, -1.0, 1.0]]]], dtype=np.float32),
                     dates=["2022-06-01"], shape=(1, 3))  # fmt: skip
    y = cube.data.sel(bands="B04", drop=True)
    x = cube.data.sel(bands="B08", drop=True)
    result = run_process("arctan2", env, y=y, x=x)
    assert isinstance(result.data, dask.array.Array)
    np.testing.assert_allclose(
        result.values[0, 0], [3 * math.pi / 4, -3 * math.pi / 4, NAN], rtol=1e-6, equal_nan=True
    )


def test_math_along_a_dimension_stays_a_dimension_array(env: Environment) -> None:
    data = DimensionArray(make_cube().data, "t")
    result = run_process("floor", env, x=data)
    assert isinstance(result, DimensionArray) and result.dimension == "t"
