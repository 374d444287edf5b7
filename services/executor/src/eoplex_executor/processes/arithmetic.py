"""Math, comparison and logic processes on numbers, arrays and cube values.

Every process has two rules, and `elementwise` picks one:

- a *scalar rule* for plain JSON values, following the process's spec exactly
  (null handling, strict types: a boolean or string is not a number);
- an *array rule* (numpy, chunk by chunk) for `xarray.DataArray`s, numpy arrays and
  `DimensionArray`s, applied lazily through `xarray.apply_ufunc`. NaN is no-data:
  arithmetic passes it through, comparisons and logic on it yield `false` (see
  `eoplex_executor.engine.cube`). Integers are widened before arithmetic so that nothing
  wraps around (`uint16` red minus a smaller NIR stays negative).

A JSON argument of the wrong type (a string for `add`, a number for `and`) raises
`ProcessParameterInvalid`, as does a list next to cube values.

Array rules run under `np.errstate(all="ignore")` in each chunk: a division by zero is
`inf`/NaN as IEEE 754 and the spec say, and must not surface as a warning when dask
computes the cube much later.
"""

import math
import operator
from typing import Any

import numpy as np

from eoplex_common.errors import MinMaxSwapped
from eoplex_executor.engine.registry import process
from eoplex_executor.processes._checks import is_number, require_or_null
from eoplex_executor.processes._elementwise import (
    ARRAY_TYPES,
    Rule,
    as_float,
    as_wide_integer,
    dtype_kind,
    elementwise,
    float64_of,
)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON expects."""
    return value.item() if isinstance(value, np.generic) else value


def _math(process_id: str, formula: Rule, *, floating: bool, **values: Any) -> Any:
    """A numeric process: null if any argument is null (spec), NaN passes through arrays.

    `floating` formulas (divide, logarithms, ...) run in float64 on JSON numbers too, so a
    division by zero is +-inf or NaN as the specs say rather than a Python exception."""

    def scalar_rule(*arguments: Any) -> Any:
        for name, value in zip(values, arguments, strict=True):
            require_or_null(process_id, name, value, is_number, "a number")
        if any(value is None for value in arguments):
            return None
        if floating:
            with np.errstate(all="ignore"):
                return _plain(formula(*(float64_of(value) for value in arguments)))
        return _plain(formula(*arguments))

    widen = as_float if floating else as_wide_integer
    return elementwise(
        process_id, scalar_rule, lambda *operands: formula(*map(widen, operands)), **values
    )


@process()
def add(x: Any, y: Any) -> Any:
    """openEO `add`: x + y; null if either is null."""
    return _math("add", operator.add, floating=False, x=x, y=y)


@process()
def subtract(x: Any, y: Any) -> Any:
    """openEO `subtract`: x - y; null if either is null."""
    return _math("subtract", operator.sub, floating=False, x=x, y=y)


@process()
def multiply(x: Any, y: Any) -> Any:
    """openEO `multiply`: x * y; null if either is null."""
    return _math("multiply", operator.mul, floating=False, x=x, y=y)


@process()
def divide(x: Any, y: Any) -> Any:
    """openEO `divide`: x / y; a division by zero is +inf, -inf or NaN (IEEE 754)."""
    return _math("divide", operator.truediv, floating=True, x=x, y=y)


@process()
def power(base: Any, p: Any) -> Any:
    """openEO `power`: base ** p; null if either is null, NaN for a negative base and a
    fractional power."""
    return _math("power", np.power, floating=True, base=base, p=p)


@process()
def absolute(x: Any) -> Any:
    """openEO `absolute`: |x|."""
    return _math("absolute", abs, floating=False, x=x)


@process()
def sqrt(x: Any) -> Any:
    """openEO `sqrt`: the square root; NaN for negative numbers."""
    return _math("sqrt", np.sqrt, floating=True, x=x)


@process()
def ln(x: Any) -> Any:
    """openEO `ln`: the natural logarithm; -inf at 0, NaN below."""
    return _math("ln", np.log, floating=True, x=x)


@process()
def log(x: Any, base: Any) -> Any:
    """openEO `log`: the logarithm of x to `base`."""
    return _math("log", lambda x, b: np.log(x) / np.log(b), floating=True, x=x, base=base)


@process()
def exp(p: Any) -> Any:
    """openEO `exp`: e to the power p."""
    return _math("exp", np.exp, floating=True, p=p)


def _scale(x: Any, in_min: Any, in_max: Any, out_min: Any, out_max: Any) -> Any:
    # Clipping to the input range keeps results inside the output range (spec).
    clipped = np.clip(x, np.minimum(in_min, in_max), np.maximum(in_min, in_max))
    return (clipped - in_min) / (in_max - in_min) * (out_max - out_min) + out_min


@process()
def linear_scale_range(
    x: Any, inputMin: Any, inputMax: Any, outputMin: Any = 0, outputMax: Any = 1
) -> Any:
    """openEO `linear_scale_range`: x clipped to [inputMin, inputMax], mapped linearly onto
    [outputMin, outputMax]; no-data passes through."""
    return _math(
        "linear_scale_range",
        _scale,
        floating=True,
        x=x,
        inputMin=inputMin,
        inputMax=inputMax,
        outputMin=outputMin,
        outputMax=outputMax,
    )


@process()
def clip(x: Any, min: Any, max: Any) -> Any:
    """openEO `clip`: x limited to [min, max]; MinMaxSwapped when max < min."""
    if is_number(min) and is_number(max) and max < min:
        raise MinMaxSwapped(process="clip", parameter="max", reason=f"min {min}, max {max}.")
    return _math("clip", np.clip, floating=False, x=x, min=min, max=max)


@process()
def normalized_difference(x: Any, y: Any) -> Any:
    """openEO `normalized_difference`: (x - y) / (x + y), in floating point (uint16 bands
    with y > x give negative values)."""
    return _math("normalized_difference", lambda x, y: (x - y) / (x + y), floating=True, x=x, y=y)


# Comparisons.


def _valid(value: Any) -> Any:
    """True where an operand is not no-data (NaN)."""
    return ~np.isnan(value) if dtype_kind(value) in "fc" else np.ones(np.shape(value), dtype=bool)


def _all_numbers(*operands: Any) -> bool:
    return all(
        dtype_kind(operand) in "iuf" and not isinstance(operand, bool) for operand in operands
    )


def _eq_scalar(x: Any, y: Any, delta: Any, case_sensitive: bool) -> bool | None:
    if x is None or y is None:
        return None
    if is_number(x) and is_number(y):
        return bool(abs(x - y) <= delta) if delta is not None else bool(x == y)
    if isinstance(x, str) and isinstance(y, str) and not case_sensitive:
        return x.casefold() == y.casefold()
    # Types are checked strictly: "1" is not 1 and false is not 0 (spec).
    return type(x) is type(y) and bool(x == y)


def _eq_array(x: Any, y: Any, delta: Any) -> Any:
    if delta is not None and _all_numbers(x, y):
        return np.abs(as_wide_integer(x) - as_wide_integer(y)) <= delta
    return (
        np.equal(x, y)
        if dtype_kind(x) == dtype_kind(y) or _all_numbers(x, y)
        else _false_like(x, y)
    )


def _false_like(*operands: Any) -> Any:
    return np.zeros(np.broadcast(*operands).shape, dtype=bool)


@process()
def eq(x: Any, y: Any, delta: Any = None, case_sensitive: bool = True) -> Any:
    """openEO `eq`: x equals y (within `delta` for numbers, ignoring case for strings when
    `case_sensitive` is false); null if either is null, false on no-data in cubes. Cube values
    are numbers, so `case_sensitive` applies to JSON strings only."""
    return elementwise(
        "eq",
        lambda x, y: _eq_scalar(x, y, delta, case_sensitive),
        lambda x, y: _eq_array(x, y, delta),
        x=x,
        y=y,
    )


@process()
def neq(x: Any, y: Any, delta: Any = None, case_sensitive: bool = True) -> Any:
    """openEO `neq`: the negation of `eq`; null if either is null, false on no-data in cubes."""

    def scalar_rule(x: Any, y: Any) -> bool | None:
        equal = _eq_scalar(x, y, delta, case_sensitive)
        return None if equal is None else not equal

    return elementwise(
        "neq",
        scalar_rule,
        lambda x, y: ~_eq_array(x, y, delta) & _valid(x) & _valid(y),
        x=x,
        y=y,
    )


def _order(process_id: str, compare: Rule, x: Any, y: Any) -> Any:
    """lt/lte/gt/gte: null if either is null, false unless both are numbers (spec)."""

    def scalar_rule(x: Any, y: Any) -> bool | None:
        if x is None or y is None:
            return None
        return bool(compare(x, y)) if is_number(x) and is_number(y) else False

    def array_rule(x: Any, y: Any) -> Any:
        return compare(x, y) if _all_numbers(x, y) else _false_like(x, y)

    return elementwise(process_id, scalar_rule, array_rule, x=x, y=y)


@process()
def lt(x: Any, y: Any) -> Any:
    """openEO `lt`: x < y."""
    return _order("lt", operator.lt, x, y)


@process()
def lte(x: Any, y: Any) -> Any:
    """openEO `lte`: x <= y."""
    return _order("lte", operator.le, x, y)


@process()
def gt(x: Any, y: Any) -> Any:
    """openEO `gt`: x > y."""
    return _order("gt", operator.gt, x, y)


@process()
def gte(x: Any, y: Any) -> Any:
    """openEO `gte`: x >= y."""
    return _order("gte", operator.ge, x, y)


@process()
def between(x: Any, min: Any, max: Any, exclude_max: bool = False) -> Any:
    """openEO `between`: min <= x <= max (x < max with `exclude_max`); false when min > max
    or x is not a number, null when x is null."""
    below_max = operator.lt if exclude_max else operator.le

    def within(x: Any, low: Any, high: Any) -> Any:
        return operator.ge(x, low) & below_max(x, high)

    def scalar_rule(x: Any, low: Any, high: Any) -> bool | None:
        for name, bound in (("min", low), ("max", high)):
            require_or_null("between", name, bound, is_number, "a number")
        if x is None or low is None or high is None:
            return None
        return bool(within(x, low, high)) if is_number(x) else False

    def array_rule(x: Any, low: Any, high: Any) -> Any:
        return within(x, low, high) if _all_numbers(x) else _false_like(x)

    return elementwise("between", scalar_rule, array_rule, x=x, min=min, max=max)


# Logic. On arrays, a value is true when it is neither zero nor no-data.


def _truth(value: Any) -> Any:
    return (
        np.asarray(value, dtype=bool) if dtype_kind(value) == "b" else (value != 0) & _valid(value)
    )


def _logic(process_id: str, scalar_rule: Rule, array_rule: Rule, **values: Any) -> Any:
    def checked(*arguments: Any) -> Any:
        for name, value in zip(values, arguments, strict=True):
            require_or_null(process_id, name, value, lambda v: isinstance(v, bool), "a boolean")
        return scalar_rule(*arguments)

    return elementwise(process_id, checked, array_rule, **values)


def _and_scalar(x: bool | None, y: bool | None) -> bool | None:
    if x is False or y is False:
        return False
    return None if x is None or y is None else True


def _or_scalar(x: bool | None, y: bool | None) -> bool | None:
    if x is True or y is True:
        return True
    return None if x is None or y is None else False


@process()
def and_(x: Any, y: Any) -> Any:
    """openEO `and`: both true; false as soon as one is false, else null on null."""
    return _logic("and", _and_scalar, lambda x, y: _truth(x) & _truth(y), x=x, y=y)


@process()
def or_(x: Any, y: Any) -> Any:
    """openEO `or`: either true; true as soon as one is true, else null on null."""
    return _logic("or", _or_scalar, lambda x, y: _truth(x) | _truth(y), x=x, y=y)


@process()
def xor(x: Any, y: Any) -> Any:
    """openEO `xor`: exactly one true; null (false in cubes) if either is null."""
    return _logic(
        "xor",
        lambda x, y: None if x is None or y is None else x != y,
        lambda x, y: (_truth(x) ^ _truth(y)) & _valid(x) & _valid(y),
        x=x,
        y=y,
    )


@process()
def not_(x: Any) -> Any:
    """openEO `not`: the negation; null (false in cubes) for null."""
    return _logic(
        "not", lambda x: None if x is None else not x, lambda x: ~_truth(x) & _valid(x), x=x
    )


@process()
def if_(value: Any, accept: Any, reject: Any = None) -> Any:
    """openEO `if`: `accept` where `value` is true, else `reject` (also for null)."""

    def scalar_rule(value: Any, accept: Any, reject: Any) -> Any:
        require_or_null("if", "value", value, lambda v: isinstance(v, bool), "a boolean")
        return accept if value is True else reject

    if not isinstance(value, ARRAY_TYPES):
        # Only `value` decides: `accept` and `reject` are returned as they are, arrays or not.
        return scalar_rule(value, accept, reject)
    return elementwise(
        "if",
        scalar_rule,
        lambda value, accept, reject: np.where(_truth(value), accept, reject),
        value=value,
        accept=accept,
        reject=reject,
    )


# Checks for special values.


@process()
def is_nan(x: Any) -> Any:
    """openEO `is_nan`: true only for NaN (not for null or other types)."""
    return elementwise(
        "is_nan",
        lambda x: isinstance(x, float | np.floating) and math.isnan(x),
        lambda x: ~_valid(x),
        x=x,
    )


@process()
def is_nodata(x: Any) -> Any:
    """openEO `is_nodata`: true for null; in cubes, where NaN marks no-data, for NaN."""
    return elementwise("is_nodata", lambda x: x is None, lambda x: ~_valid(x), x=x)


@process()
def is_valid(x: Any) -> Any:
    """openEO `is_valid`: false for null, NaN and +-infinity, true otherwise."""

    def scalar_rule(x: Any) -> bool:
        return x is not None and not (isinstance(x, float | np.floating) and not math.isfinite(x))

    def array_rule(x: Any) -> Any:
        return np.isfinite(x) if dtype_kind(x) in "fc" else np.ones(np.shape(x), dtype=bool)

    return elementwise("is_valid", scalar_rule, array_rule, x=x)
