"""Rounding, modulo, sign, constants, trigonometric and hyperbolic processes.

They follow the two-rule pattern of `eoplex_executor.processes.arithmetic` (`elementwise`):
a scalar rule that follows each spec exactly for JSON values, and a numpy rule run lazily
on every chunk of cube values. Typing decisions (see also `eoplex_executor.engine.cube`):

- *Integer-valued* processes (`ceil`, `floor`, `int`, `sgn`, `round` with `p <= 0`) return
  JSON integers (exact Python ints, of any size) for finite JSON numbers; NaN and +-inf
  cannot be integers and pass through as they are. On cube values, floats keep their
  dtype (NaN stays no-data) and integer arrays keep their integer dtype.
- *Floating* processes (trigonometry, hyperbolic functions) give floats, also for JSON
  integers; an integer too large for a float counts as +-infinity instead of failing.
- Booleans are not numbers in JSON (`ProcessParameterInvalid`); boolean cube values count
  as 0 and 1, as in the arithmetic processes.
"""

import math
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import numpy as np

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.registry import process
from eoplex_executor.processes._checks import is_number, require_or_null
from eoplex_executor.processes._elementwise import (
    ARRAY_TYPES,
    as_float,
    as_wide_integer,
    dtype_kind,
    elementwise,
    float64_of,
)

Formula = Callable[..., Any]


def _floating(process_id: str, formula: Formula, **values: Any) -> Any:
    """A process whose result is a float: null if any argument is null (spec), NaN for
    arguments outside the domain (IEEE 754, no exception), no-data passing through cubes."""

    def scalar_rule(*arguments: Any) -> float | None:
        for name, value in zip(values, arguments, strict=True):
            require_or_null(process_id, name, value, is_number, "a number")
        if any(value is None for value in arguments):
            return None
        with np.errstate(all="ignore"):
            return float(formula(*map(float64_of, arguments)))

    return elementwise(
        process_id, scalar_rule, lambda *operands: formula(*map(as_float, operands)), **values
    )


def _integral(process_id: str, scalar: Formula, array: Formula, x: Any) -> Any:
    """ceil/floor/int: `scalar` on finite JSON numbers (ints pass as they are); `array` on
    float arrays; integer arrays are integral already."""

    def scalar_rule(x: Any) -> Any:
        require_or_null(process_id, "x", x, is_number, "a number")
        if x is None or isinstance(x, int | np.integer) or not math.isfinite(x):
            return x
        return int(scalar(x))

    def array_rule(x: Any) -> Any:
        kind = dtype_kind(x)
        if kind == "b":
            return np.asarray(x, dtype=np.uint8)
        return array(x) if kind in "fc" else x

    return elementwise(process_id, scalar_rule, array_rule, x=x)


@process()
def ceil(x: Any) -> Any:
    """openEO `ceil`: the least integer >= x; no-data passes through."""
    return _integral("ceil", math.ceil, np.ceil, x)


@process()
def floor(x: Any) -> Any:
    """openEO `floor`: the greatest integer <= x; no-data passes through."""
    return _integral("floor", math.floor, np.floor, x)


@process()
def int_(x: Any) -> Any:
    """openEO `int`: the integer part of x (towards zero, so int(-3.5) is -3)."""
    return _integral("int", math.trunc, np.trunc, x)


# round


@process()
def round_(x: Any, p: Any = 0) -> Any:
    """openEO `round`: x rounded to `p` decimal places (tens, hundreds, ... for negative p),
    halves to the even neighbour (IEEE 754). ProcessParameterInvalid unless p is an integer."""
    if isinstance(p, bool) or not isinstance(p, int):
        raise ProcessParameterInvalid(
            process="round", parameter="p", reason="expected an integer number of decimal places."
        )
    return elementwise("round", lambda x: _round_number(x, p), lambda x: _round_array(x, p), x=x)


def _round_number(x: Any, p: int) -> Any:
    """A JSON number rounded on its decimal digits, as the spec's examples read them
    (0.35 rounds to 0.4 although the binary float is slightly below 0.35)."""
    require_or_null("round", "x", x, is_number, "a number")
    if x is None:
        return None
    if isinstance(x, int | np.integer):
        if -p > int(x).bit_length():
            return 0  # |x| < 2**bits, less than half of 10**-p: computing 10**-p could hang
        return int(x) if p >= 0 else _round_integer(int(x), 10**-p)
    if not math.isfinite(x):
        return x
    digits = Decimal(repr(float(x)))
    exponent = digits.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, so not 'n'/'N'/'F'
    if -exponent <= p:
        return float(x) if p > 0 else int(x)  # no digits beyond place p: nothing to round
    if p < -400:
        return 0  # beyond any float's magnitude
    with localcontext() as context:
        # Enough precision for the quantized coefficient, whatever p is.
        context.prec = len(digits.as_tuple().digits) + abs(p) + 2
        rounded = digits.quantize(Decimal(1).scaleb(-p), rounding=ROUND_HALF_EVEN)
    return float(rounded) if p > 0 else int(rounded)


def _round_integer(x: int, unit: int) -> int:
    """x rounded to a multiple of `unit`, halves to the even multiple, exactly."""
    quotient, remainder = divmod(x, unit)
    up = remainder > unit - remainder or (remainder == unit - remainder and quotient % 2 == 1)
    return (quotient + up) * unit


def _round_array(x: Any, p: int) -> Any:
    # Beyond 400 places a float64 has no digits to round (numpy takes no larger p).
    p = max(-400, min(p, 400))
    kind = dtype_kind(x)
    if kind == "b":
        x, kind = np.asarray(x, dtype=np.uint8), "u"
    if kind in "iu":
        if p >= 0:
            return x
        if np.asarray(x).dtype.itemsize <= 4:
            return _round_small_integers(x, p)
        # 64-bit integers round in float64: a rounded value beyond their range cannot wrap.
        x = as_float(x)
    rounded = np.round(x, p)
    finite = np.isfinite(x)
    if p > 0:
        # Scaling by 10**p overflows for large values, which have no such digits anyway.
        return np.where(finite & ~np.isfinite(rounded), x, rounded)
    # Dividing by 10**-p underflows to 0 * inf = NaN for large -p: those round to 0.
    return np.where(finite & np.isnan(rounded), 0, rounded).astype(rounded.dtype)


def _round_small_integers(x: Any, p: int) -> Any:
    """Integers of up to 32 bits rounded exactly in int64 (half to even); their magnitude is
    below 5e9, so a unit of 1e18 (any p <= -18) rounds everything to 0 without overflow."""
    values = np.asarray(x, dtype=np.int64)
    unit = 10 ** min(-p, 18)
    quotient = np.floor_divide(values, unit)
    remainder = values - quotient * unit
    half = unit - remainder
    up = (remainder > half) | ((remainder == half) & (quotient % 2 == 1))
    return (quotient + up) * unit


# mod


@process()
def mod(x: Any, y: Any) -> Any:
    """openEO `mod`: the remainder of x / y with the sign of the divisor (-27 mod 5 is 3);
    null if either is null; by 0 it is +inf (x > 0), -inf (x < 0) or NaN (x = 0), as the
    spec says."""

    def scalar_rule(x: Any, y: Any) -> Any:
        for name, value in (("x", x), ("y", y)):
            require_or_null("mod", name, value, is_number, "a number")
        if x is None or y is None:
            return None
        if isinstance(x, int) and isinstance(y, int) and y != 0:
            return x % y  # exact at any size, with the divisor's sign like the spec's
        with np.errstate(all="ignore"):
            if y == 0:
                return float(np.divide(float64_of(x), 0.0))
            # numpy's mod, like Python's, takes the divisor's sign; it also answers for inf.
            return float(np.mod(float64_of(x), float64_of(y)))

    return elementwise("mod", scalar_rule, _mod_array, x=x, y=y)


def _mod_array(x: Any, y: Any) -> Any:
    if dtype_kind(x) in "biu" and dtype_kind(y) in "biu" and np.ndim(y) == 0 and y != 0:
        return np.mod(as_wide_integer(x), y)  # integers stay exact integers
    # Otherwise in floating point, so that a remainder by 0 can be +-inf or NaN.
    x, y = as_float(x), as_float(y)
    return np.where(y == 0, x / y, np.mod(x, y))


# sgn


@process()
def sgn(x: Any) -> Any:
    """openEO `sgn`: -1, 0 or 1 by the sign of x (0 for 0 and -0.0); no-data passes through."""

    def scalar_rule(x: Any) -> Any:
        require_or_null("sgn", "x", x, is_number, "a number")
        if x is None or (isinstance(x, float | np.floating) and math.isnan(x)):
            return x
        return (x > 0) - (x < 0)

    def array_rule(x: Any) -> Any:
        return np.sign(np.asarray(x, dtype=np.uint8) if dtype_kind(x) == "b" else x)

    return elementwise("sgn", scalar_rule, array_rule, x=x)


# Constants.


@process()
def e() -> float:
    """openEO `e`: Euler's number."""
    return math.e


@process()
def pi() -> float:
    """openEO `pi`: the ratio of a circle's circumference to its diameter."""
    return math.pi


@process()
def nan() -> float:
    """openEO `nan` (proposal): not a number."""
    return math.nan


@process()
def constant(x: Any) -> Any:
    """openEO `constant`: x itself, of any type, to reuse one value in several places."""
    return x


@process()
def is_infinite(x: Any) -> Any:
    """openEO `is_infinite` (proposal): true for +-infinity only; false for NaN, null and any
    other type. On cube values, a boolean per value."""

    def array_rule(x: Any) -> Any:
        return np.isinf(x) if dtype_kind(x) in "fc" else np.zeros(np.shape(x), dtype=bool)

    def scalar_rule(x: Any) -> bool:
        return isinstance(x, float | np.floating) and math.isinf(x)

    if not isinstance(x, ARRAY_TYPES):
        return scalar_rule(x)  # any JSON value, lists and objects included, is simply false
    return elementwise("is_infinite", scalar_rule, array_rule, x=x)


# Trigonometric and hyperbolic functions (radians).

# The floating processes of one argument `x`: openEO id -> (numpy function, what it gives).
_OF_ONE_NUMBER: dict[str, tuple[Formula, str]] = {
    "sin": (np.sin, "the sine of x"),
    "cos": (np.cos, "the cosine of x"),
    "tan": (np.tan, "the tangent of x"),
    "arcsin": (np.arcsin, "the arc sine; NaN outside [-1, 1]"),
    "arccos": (np.arccos, "the arc cosine; NaN outside [-1, 1]"),
    "arctan": (np.arctan, "the arc tangent"),
    "sinh": (np.sinh, "the hyperbolic sine"),
    "cosh": (np.cosh, "the hyperbolic cosine"),
    "tanh": (np.tanh, "the hyperbolic tangent"),
    "arsinh": (np.arcsinh, "the inverse hyperbolic sine"),
    "arcosh": (np.arccosh, "the inverse hyperbolic cosine; NaN below 1"),
    "artanh": (np.arctanh, "the inverse hyperbolic tangent; +-inf at +-1, NaN beyond"),
}


def _register_of_one_number(process_id: str, formula: Formula, gives: str) -> None:
    def of_one_number(x: Any) -> Any:
        return _floating(process_id, formula, x=x)

    of_one_number.__name__ = of_one_number.__qualname__ = process_id
    of_one_number.__doc__ = f"openEO `{process_id}`: {gives}."
    process(process_id)(of_one_number)


for _process_id, (_formula, _gives) in _OF_ONE_NUMBER.items():
    _register_of_one_number(_process_id, _formula, _gives)


@process()
def arctan2(y: Any, x: Any) -> Any:
    """openEO `arctan2`: the angle of the point (x, y), the signs choosing the quadrant."""
    return _floating("arctan2", np.arctan2, y=y, x=x)
