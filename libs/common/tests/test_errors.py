"""The error hierarchy covers exactly the codes of the openEO API's errors.json, the
back-end's own codes, and the exceptions the process specifications declare that the
back-end raises as themselves."""

import json
from importlib import resources

import pytest

from eoplex_common import errors
from eoplex_common.errors import ERRORS, OpenEOError, ProcessException, error_for_code
from eoplex_common.process_specs import implemented_process_specs

SPEC = json.loads(resources.files("eoplex_common").joinpath("specs/errors.json").read_text())
OWN_CODES = {
    "ServiceUnavailable",
    "UpstreamUnavailable",
    "TooManyRequests",
    "PayloadTooLarge",
    "RangeNotSatisfiable",
    "JobFailed",
    "BadRequest",
}


def test_every_spec_code_has_a_class() -> None:
    assert set(SPEC) <= set(ERRORS)


PROCESS_EXCEPTIONS = {
    code: cls for code, cls in ERRORS.items() if issubclass(cls, ProcessException)
}
# Declared by the specifications of implemented processes but not raised as themselves:
# DataCubeEmpty, DivisionByZero and MultiplicandMissing cannot happen (the filters refuse
# to leave no label, so save_result never gets an empty cube; division gives infinities
# and NaN by IEEE 754, which the specifications prefer; `multiply` has two required operands);
# PropertiesUnsupported cannot happen either: load_stac evaluates the property conditions on
# every item itself, for static catalogs and STAC APIs alike, so querying is supported for
# every STAC entity (no item meeting them is NoDataAvailable);
# IncompatibleGeometryTypes belongs to merging vector cubes, which merge_cubes does not do.
NOT_YET_RAISED = {
    "DataCubeEmpty",
    "DivisionByZero",
    "IncompatibleGeometryTypes",
    "MultiplicandMissing",
    "PropertiesUnsupported",
}


def declared_exceptions() -> dict[str, set[str]]:
    """Exception name -> its messages in the specifications of the implemented processes."""
    declared: dict[str, set[str]] = {}
    for spec in implemented_process_specs():
        for name, exception in (spec.get("exceptions") or {}).items():
            declared.setdefault(name, set()).add(exception["message"])
    return declared


def test_only_documented_own_codes_and_declared_process_exceptions_are_added() -> None:
    assert set(ERRORS) - set(SPEC) == OWN_CODES | set(PROCESS_EXCEPTIONS)


def test_process_exceptions_carry_a_name_and_message_a_specification_declares() -> None:
    declared = declared_exceptions()
    for code, cls in PROCESS_EXCEPTIONS.items():
        assert cls.__name__ == code
        assert getattr(errors, code) is cls
        assert cls.message_template in declared[code]


def test_every_declared_exception_is_raised_as_itself_or_listed_as_not_yet() -> None:
    declared = set(declared_exceptions())
    # FileNotFound of load_uploaded_files is the API's own error.
    assert declared - set(SPEC) - set(PROCESS_EXCEPTIONS) == NOT_YET_RAISED


def test_a_process_exception_says_what_happened_and_crosses_services_as_itself() -> None:
    error = errors.NoDataAvailable(reason="collection 'S2' has no item in 2030.")
    assert (error.code, error.status) == ("NoDataAvailable", 400)
    assert error.message == (
        "There is no data available for the given extents. collection 'S2' has no item in 2030."
    )
    rebuilt = error_for_code(error.code, error.message)
    assert isinstance(rebuilt, errors.NoDataAvailable)
    assert (rebuilt.status, rebuilt.message) == (400, error.message)


def test_a_process_exception_names_its_process_and_parameter() -> None:
    error = errors.DimensionNotAvailable(
        process="reduce_dimension", parameter="dimension", reason="the cube has no dimension 'z'."
    )
    assert error.message == (
        "A dimension with the specified name does not exist. Process 'reduce_dimension', "
        "parameter 'dimension': the cube has no dimension 'z'."
    )
    assert error.params["process"] == "reduce_dimension"
    # The message of the process's own specification where processes word it differently.
    assert errors.LabelExists(process="array_append").message == (
        "An array element with the specified label already exists. Process 'array_append'."
    )
    assert errors.ArrayElementParameterMissing(process="array_element").message == (
        "The process `array_element` requires either the `index` or `labels` parameter to be "
        "set. Process 'array_element'."
    )


@pytest.mark.parametrize("code", sorted(SPEC))
def test_class_matches_spec(code: str) -> None:
    cls = ERRORS[code]
    assert cls.__name__ == code
    assert getattr(errors, code) is cls
    assert cls.status == SPEC[code]["http"]
    assert cls.message_template == SPEC[code]["message"]


def test_a_failing_provider_is_a_502_without_retry_after() -> None:
    error = errors.UpstreamUnavailable(upstream="stac.example", collection="S2", reason="HTTP 500")
    assert (error.status, error.headers) == (502, {})
    assert error.message == "The data provider stac.example of collection 'S2' failed: HTTP 500"


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
