"""Text processes: `text_begins`, `text_contains`, `text_ends`, `text_find`, `text_concat`.

They work on JSON strings only: cube values are numbers, and dimension labels reach
child processes (`filter_labels`, ...) as strings already. Case-insensitive matching
compares Unicode case folds (`"Ä"` matches `"ä"`, `"ß"` matches `"SS"`); `text_find`
still answers positions in the original text.
"""

import json
import math
from collections.abc import Callable
from typing import Any, NoReturn

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.registry import process


def _invalid(process_id: str, parameter: str, reason: str) -> NoReturn:
    raise ProcessParameterInvalid(process=process_id, parameter=parameter, reason=reason)


def _checked(process_id: str, data: Any, pattern: Any, case_sensitive: Any) -> None:
    """`data` a string or null, `pattern` a string, `case_sensitive` a boolean (spec types)."""
    if data is not None and not isinstance(data, str):
        _invalid(process_id, "data", f"expected a string or null, got {type(data).__name__}.")
    if not isinstance(pattern, str):
        _invalid(process_id, "pattern", f"expected a string, got {type(pattern).__name__}.")
    if not isinstance(case_sensitive, bool):
        _invalid(process_id, "case_sensitive", "expected a boolean.")


def _match(
    process_id: str,
    data: Any,
    pattern: Any,
    case_sensitive: Any,
    test: Callable[[str, str], bool],
) -> bool | None:
    _checked(process_id, data, pattern, case_sensitive)
    if data is None:
        return None  # no-data passes through
    if case_sensitive:
        return test(data, pattern)
    return test(data.casefold(), pattern.casefold())


@process()
def text_begins(data: Any, pattern: Any, case_sensitive: Any = True) -> bool | None:
    """openEO `text_begins`: whether `data` starts with `pattern`; null for null.
    Raises ProcessParameterInvalid for arguments that are not strings."""
    return _match("text_begins", data, pattern, case_sensitive, str.startswith)


@process()
def text_ends(data: Any, pattern: Any, case_sensitive: Any = True) -> bool | None:
    """openEO `text_ends`: whether `data` ends with `pattern`; null for null.
    Raises ProcessParameterInvalid for arguments that are not strings."""
    return _match("text_ends", data, pattern, case_sensitive, str.endswith)


@process()
def text_contains(data: Any, pattern: Any, case_sensitive: Any = True) -> bool | None:
    """openEO `text_contains`: whether `pattern` occurs in `data`; null for null.
    Raises ProcessParameterInvalid for arguments that are not strings."""
    return _match("text_contains", data, pattern, case_sensitive, str.__contains__)


@process()
def text_find(data: Any, pattern: Any, case_sensitive: Any = True) -> int | None:
    """openEO `text_find` (proposal): the position (from 0, in characters) where `pattern`
    first occurs in `data`; null if it does not occur or `data` is null.
    Raises ProcessParameterInvalid for arguments that are not strings."""
    _checked("text_find", data, pattern, case_sensitive)
    if data is None:
        return None
    if case_sensitive:
        position = data.find(pattern)
        return position if position >= 0 else None
    # A case fold can change the length ("ß" folds to "ss"), so fold character by character
    # and map a position in the folded text back to the character it came from.
    folded, origin = [], []
    for index, character in enumerate(data):
        for piece in character.casefold():
            folded.append(piece)
            origin.append(index)
    position = "".join(folded).find(pattern.casefold())
    if position < 0:
        return None
    return origin[position] if origin else 0


def _text(value: Any) -> str:
    """A value as the spec writes it in text: lower-case `true`/`false`/`null`, numbers as
    JSON writes them (an integral float as an integer: `1`, not `1.0`; `NaN`, `Infinity`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return json.dumps(value)  # NaN, Infinity, -Infinity
        if value.is_integer():
            return str(int(value))
    return str(value)


@process()
def text_concat(data: Any, separator: Any = "") -> str:
    """openEO `text_concat`: the texts of `data` joined by `separator`. Raises
    ProcessParameterInvalid for anything but strings, numbers, booleans and null."""
    if not isinstance(data, list):
        _invalid("text_concat", "data", "expected an array.")
    for name, value in (*(("data", item) for item in data), ("separator", separator)):
        if value is not None and not isinstance(value, str | int | float):
            _invalid(
                "text_concat",
                name,
                f"expected strings, numbers, booleans or null, got {type(value).__name__}.",
            )
    return _text(separator).join(_text(item) for item in data)
