"""Limits on what a request may contain: numbers in headers, JSON nesting, body size."""

import pydantic
import pytest

from eoplex_common.rpc import MAX_MESSAGE_BYTES
from eoplex_gateway.middleware import LARGEST_HEADER_NUMBER, header_number
from eoplex_gateway.request_members import MAX_JSON_DEPTH, within_json_depth
from eoplex_gateway.settings import GatewaySettings


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("0", 0),
        ("007", 7),
        ("1234567890", 1234567890),
        (str(LARGEST_HEADER_NUMBER), LARGEST_HEADER_NUMBER),
        (str(LARGEST_HEADER_NUMBER + 1), LARGEST_HEADER_NUMBER),
        ("9" * 4400, LARGEST_HEADER_NUMBER),
        ("0" * 4400 + "5", 5),
        ("", None),
        ("-1", None),
        ("1.5", None),
        (" 1", None),
        ("\u00b2", None),
    ],
)
def test_header_numbers_of_any_length_are_read_without_error(
    value: str, number: int | None
) -> None:
    assert header_number(value) == number


def nested(depth: int) -> dict[str, object]:
    """An object whose innermost member is `depth` levels deep, half lists, half objects."""
    value: object = 1
    for level in range(depth - 1):
        value = [value] if level % 2 else {"a": value}
    return {"a": value}


def test_json_nested_to_the_limit_passes() -> None:
    body = nested(MAX_JSON_DEPTH)
    assert within_json_depth(body) is body


def test_json_nested_deeper_than_the_limit_is_refused() -> None:
    with pytest.raises(ValueError, match=f"deeper than {MAX_JSON_DEPTH} levels"):
        within_json_depth(nested(MAX_JSON_DEPTH + 1))


def test_json_nested_far_deeper_than_the_stack_is_refused() -> None:
    with pytest.raises(ValueError, match="deeper than"):
        within_json_depth(nested(100_000))


def test_wide_json_passes() -> None:
    within_json_depth(
        {"a": [[1] * 1000 for _ in range(1000)], "b": {str(i): {} for i in range(1000)}}
    )


def test_a_body_limit_beyond_what_a_grpc_message_holds_is_refused() -> None:
    assert GatewaySettings(max_body_bytes=MAX_MESSAGE_BYTES).max_body_bytes == MAX_MESSAGE_BYTES
    with pytest.raises(pydantic.ValidationError):
        GatewaySettings(max_body_bytes=MAX_MESSAGE_BYTES + 1)
