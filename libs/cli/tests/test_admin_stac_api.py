"""`eoplex admin collections add-stac-api | refresh`: arguments, their errors and the request."""

import argparse
import json
from pathlib import Path

import pytest

from eoplex.cli import build_parser
from eoplex.stac_api import register_request
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2

EARTH_SEARCH = "https://earth-search.aws.element84.com/v1"
S2 = [EARTH_SEARCH, "s2"]
SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["admin", "collections", *argv])


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The message of a refused command line (argparse's exit status 2)."""
    with pytest.raises(SystemExit) as exit_info:
        parse(*argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err.splitlines()[-1]


@pytest.fixture
def credentials_path(tmp_path: Path) -> Path:
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"access_key_id": "AKIDEXAMPLE", "secret_access_key": SECRET}))
    return path


def test_the_fewest_arguments_leave_every_choice_to_the_service() -> None:
    request = register_request(parse("add-stac-api", EARTH_SEARCH, "sentinel-2-l2a"))

    assert request == data_discovery_pb2.RegisterStacApiRequest(
        url=EARTH_SEARCH, upstream_collection="sentinel-2-l2a"
    )


def test_every_option_goes_into_the_request(tmp_path: Path) -> None:
    dimensions = {"x": {"type": "spatial", "axis": "x", "reference_system": 32633, "step": 10}}
    (tmp_path / "dimensions.json").write_text(json.dumps(dimensions))
    args = parse(
        "add-stac-api",
        "http://127.0.0.1:8080/pc/api/stac/v1/",
        "sentinel-2-l2a",
        *("--id", "S2_PC", "--bands-from", "eo:bands", "--signing", "planetary-computer"),
        *("--signing-url", "http://127.0.0.1:8080/pc/api/sas/v1", "--title", "Sentinel-2"),
        *("--description", "L2A from PC", "--band", "B04=red", "--band", " B08 = nir "),
        *("--dimensions", f"@{tmp_path / 'dimensions.json'}", "--mosaic", "newest-first"),
        *("--s3-access", "requester-pays", "--s3-endpoint", "http://127.0.0.1:9000"),
        *("--s3-region", "eu-central-1", "--credentials-secret", "sentinel-bucket"),
    )

    request = register_request(args)

    assert json.loads(request.overrides_json) == {
        "title": "Sentinel-2",
        "description": "L2A from PC",
        "bands": {"B04": "red", "B08": "nir"},
        "cube:dimensions": dimensions,
        "mosaic": "newest-first",
    }
    request.ClearField("overrides_json")
    assert request == data_discovery_pb2.RegisterStacApiRequest(
        url="http://127.0.0.1:8080/pc/api/stac/v1/",
        upstream_collection="sentinel-2-l2a",
        collection_id="S2_PC",
        bands_from="eo:bands",
        signing="planetary-computer",
        signing_url="http://127.0.0.1:8080/pc/api/sas/v1",
        s3_access="requester-pays",
        s3_endpoint="http://127.0.0.1:9000",
        s3_region="eu-central-1",
        credentials_secret="sentinel-bucket",
    )


def test_a_credentials_file_is_sent_as_json_and_shown_nowhere(credentials_path: Path) -> None:
    args = parse("add-stac-api", EARTH_SEARCH, "s2", "--credentials-file", str(credentials_path))

    request = register_request(args)

    assert request.s3_access == "credentials"
    assert json.loads(request.credentials_json) == {
        "access_key_id": "AKIDEXAMPLE",
        "secret_access_key": SECRET,
    }
    assert SECRET not in repr(args)


def test_dimensions_are_taken_inline_too() -> None:
    args = parse("add-stac-api", EARTH_SEARCH, "s2", "--dimensions", '{"t": {"type": "temporal"}}')

    assert json.loads(register_request(args).overrides_json) == {
        "cube:dimensions": {"t": {"type": "temporal"}}
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ftp://example.org/v1", "s2"], "argument URL: 'ftp://example.org/v1' is not an http"),
        (["https:///v1", "s2"], "argument URL: 'https:///v1' is not an http"),
        ([*S2, "--bands-from", "bands"], "argument --bands-from: invalid choice: 'bands'"),
        ([*S2, "--signing", "sas"], "argument --signing: invalid choice: 'sas'"),
        ([*S2, "--signing-url", "https://sas.example.org"], "--signing-url needs --signing"),
        ([*S2, "--band", "B04"], "argument --band: 'B04' is not ASSET_KEY=NAME"),
        ([*S2, "--band", "=red"], "argument --band: '=red' is not ASSET_KEY=NAME"),
        ([*S2, "--band", "B04=red", "--band", "B04=nir"], "--band: asset key given twice: B04"),
        ([*S2, "--band", "B04=red", "--band", "B08=red"], "--band: band name given twice: red"),
        ([*S2, "--dimensions", "{x"], "argument --dimensions: not JSON: Expecting property name"),
        (
            [*S2, "--dimensions", '{"x": 1}'],
            "argument --dimensions: not a JSON object of dimensions",
        ),
        ([*S2, "--dimensions", "@/nonexistent.json"], "argument --dimensions: cannot read /nonex"),
        ([*S2, "--mosaic", "oldest-first"], "argument --mosaic: invalid choice: 'oldest-first'"),
        ([*S2, "--s3-access", "public"], "argument --s3-access: invalid choice: 'public'"),
        (
            [*S2, "--s3-access", "credentials"],
            "--s3-access credentials needs --credentials-file or",
        ),
        (
            [*S2, "--s3-access", "requester-pays"],
            "--s3-access requester-pays needs --credentials-f",
        ),
        (
            [*S2, "--s3-access", "anonymous", "--credentials-secret", "k"],
            "anonymous takes no --cred",
        ),
        ([*S2, "--s3-endpoint", "ftp://s3.example.org"], "'ftp://s3.example.org' is not HOST"),
        ([*S2, "--s3-endpoint", "s3.example.org/bucket"], "'s3.example.org/bucket' is not HOST"),
        (
            [*S2, "--s3-endpoint", "s3.example.org:port"],
            "'s3.example.org:port' is not HOST[:PORT] or http",
        ),
        (
            [*S2, "--credentials-file", "/nonexistent.json"],
            "cannot read /nonexistent.json: No such",
        ),
    ],
)
def test_bad_arguments_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    error = usage_error(capsys, "add-stac-api", *argv)

    assert error.startswith("eoplex admin collections add-stac-api: error: ")
    assert message in error


def test_credentials_come_from_a_file_or_a_secret_not_both(
    capsys: pytest.CaptureFixture[str], credentials_path: Path
) -> None:
    error = usage_error(
        capsys,
        "add-stac-api",
        *S2,
        "--credentials-file",
        str(credentials_path),
        "--credentials-secret",
        "k",
    )

    assert error.endswith(
        "argument --credentials-secret: not allowed with argument --credentials-file"
    )


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("not json", "is not JSON"),
        (json.dumps([SECRET]), "is not a JSON object with the strings access_key_id"),
        (json.dumps({"secret_access_key": SECRET}), "(missing: access_key_id)"),
        (
            json.dumps({"access_key_id": "A", "secret_access_key": SECRET, "token": SECRET}),
            "(unknown: token)",
        ),
        (json.dumps({"access_key_id": 7, "secret_access_key": SECRET}), "(not strings: access_k"),
    ],
)
def test_a_bad_credentials_file_is_refused_without_showing_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, document: str, problem: str
) -> None:
    path = tmp_path / "credentials.json"
    path.write_text(document)

    error = usage_error(capsys, "add-stac-api", EARTH_SEARCH, "s2", "--credentials-file", str(path))

    assert f"argument --credentials-file: {path} " in error
    assert problem in error
    assert SECRET not in error


@pytest.mark.parametrize("argv", [["S2"], ["--id", "S2"]])
def test_refresh_takes_the_id_as_argument_or_option(argv: list[str]) -> None:
    args = parse("refresh", *argv)

    assert (args.collection_id or args.id) == "S2"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "one of the arguments ID --id is required"),
        (["S2", "--id", "S2"], "argument --id: not allowed with argument ID"),
    ],
)
def test_refresh_needs_exactly_one_id(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert usage_error(capsys, "refresh", *argv).endswith(message)
