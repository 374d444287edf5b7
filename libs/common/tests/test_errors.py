"""The error hierarchy covers exactly the codes of the openEO API's errors.json."""

import json
from importlib import resources

import pytest

from eoplex_common import errors
from eoplex_common.errors import ERRORS, OpenEOError, error_for_code

SPEC = json.loads(resources.files("eoplex_common").joinpath("specs/errors.json").read_text())
OWN_CODES = {
    "ServiceUnavailable",
    "TooManyRequests",
    "PayloadTooLarge",
    "RangeNotSatisfiable",
    "JobFailed",
    "BadRequest",
}


def test_every_spec_code_has_a_class() -> None:
    assert set(SPEC) <= set(ERRORS)


def test_only_documented_own_codes_are_added() -> None:
    assert set(ERRORS) - set(SPEC) == OWN_CODES


@pytest.mark.parametrize("code", sorted(SPEC))
def test_class_matches_spec(code: str) -> None:
    cls = ERRORS[code]
    assert cls.__name__ == code
    assert getattr(errors, code) is cls
    assert cls.status == SPEC[code]["http"]
    assert cls.message_template == SPEC[code]["message"]


def test_message_fills_placeholders() -> None:
    error = errors.CollectionNotFound(identifier="S2")
    assert error.message == "Collection 'S2' does not exist."
    assert str(error) == error.message


def test_missing_placeholder_leaves_a_readable_message() -> None:
    assert errors.FilePathInvalid().message == "File path is invalid: "


def test_explicit_message_wins() -> None:
    assert errors.Internal("disk on fire").message == "disk on fire"


def test_error_for_code_rebuilds_the_class() -> None:
    error = error_for_code("TokenInvalid", "expired")
    assert isinstance(error, errors.TokenInvalid)
    assert (error.status, error.message) == (403, "expired")


def test_error_for_unknown_code_is_internal_but_keeps_the_code() -> None:
    error = error_for_code("SomethingNew", "text")
    assert type(error) is OpenEOError
    assert (error.code, error.status) == ("SomethingNew", 500)


def test_own_codes_have_http_statuses_of_their_meaning() -> None:
    assert errors.ServiceUnavailable.status == 503
    assert errors.ServiceUnavailable.headers["Retry-After"]
    assert errors.TooManyRequests.status == 429
    assert errors.PayloadTooLarge.status == 413
    assert errors.BadRequest.status == 400
