"""`eoplex admin collections add-stac-api | refresh | list`: arguments, their errors and the
request; then against data-discovery in-process (real MongoDB, NATS) and the test STAC API."""

import argparse
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from eoplex.cli import build_parser
from eoplex.stac_api import register_request
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2
from tests.admin_command import admin
from tests.data_discovery_server import RunningDataDiscovery
from tests.stac_api_data import make_sentinel2_archive
from tests.stac_api_server import StacApi, serve_stac_api

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


# --- against the data-discovery service and the test STAC API ----------------------------


@pytest.fixture(scope="module")
def stac_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StacApi]:
    folder = tmp_path_factory.mktemp("stac-api")
    make_sentinel2_archive(folder, size=32, many=0)
    with serve_stac_api(folder) as api:
        yield api


async def listed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    status, out, _ = await admin(capsys, "collections", "list", "--json")
    assert status == 0
    records: list[dict[str, Any]] = json.loads(out)
    return records


def instant(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None
    return parsed


async def test_a_stac_api_collection_is_registered_listed_refreshed_and_removed(
    data_discovery: RunningDataDiscovery,
    stac_api: StacApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add = ["collections", "add-stac-api", stac_api.earth_search, "sentinel-2-l2a", "--id", "S2"]

    status, out, err = await admin(capsys, *add, "--title", "Sentinel-2 L2A", "--json")

    assert (status, err) == (0, "")
    registered = json.loads(out)
    assert registered == {
        "id": "S2",
        "kind": "stac-api",
        "title": "Sentinel-2 L2A",
        "upstream": f"{stac_api.earth_search}collections/sentinel-2-l2a",
        "refreshed": registered["refreshed"],
        "refresh_error": "",
    }
    assert await listed(capsys) == [registered]

    status, out, err = await admin(capsys, "collections", "refresh", "S2", "--json")
    assert (status, err) == (0, "")
    refreshed = json.loads(out)
    assert instant(refreshed["refreshed"]) >= instant(registered["refreshed"])
    assert {**refreshed, "refreshed": ""} == {**registered, "refreshed": ""}

    status, out, _ = await admin(capsys, "collections", "list")
    header, row = out.splitlines()
    assert header.split() == ["ID", "KIND", "TITLE", "UPSTREAM", "REFRESHED", "REFRESH_ERROR"]
    assert row.split()[:2] == ["S2", "stac-api"]

    status, _, _ = await admin(capsys, "collections", "remove", "--id", "S2")
    assert status == 0
    assert await listed(capsys) == []


async def test_credentials_from_a_file_reach_the_catalog_and_are_shown_nowhere(
    data_discovery: RunningDataDiscovery,
    stac_api: StacApi,
    capsys: pytest.CaptureFixture[str],
    credentials_path: Path,
) -> None:
    status, out, err = await admin(
        capsys,
        *("collections", "add-stac-api", stac_api.earth_search, "sentinel-2-l2a", "--id", "S2"),
        *("--s3-access", "requester-pays", "--credentials-file", str(credentials_path)),
    )

    assert (status, err) == (0, "")
    request = data_discovery_pb2.GetCollectionRequest(collection_id="S2")
    document = await data_discovery.stub.GetCollection(request)
    access = await data_discovery.stub.GetCollectionAccess(request)
    assert access.gdal_options["AWS_SECRET_ACCESS_KEY"] == SECRET
    assert access.gdal_options["AWS_REQUEST_PAYER"] == "requester"
    assert SECRET not in out + document.json
    assert SECRET not in json.dumps(await listed(capsys))


async def test_an_upstream_collection_that_does_not_exist_is_refused(
    data_discovery: RunningDataDiscovery,
    stac_api: StacApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    host = stac_api.url.removeprefix("http://").rstrip("/")

    status, out, err = await admin(
        capsys, "collections", "add-stac-api", stac_api.earth_search, "no-such-collection"
    )

    assert (status, out) == (1, "")
    assert err.startswith("error: BadRequest: ")
    assert f"{host} has no collection 'no-such-collection'" in err
    assert await listed(capsys) == []


async def test_refreshing_fails_clearly_for_what_cannot_be_refreshed(
    data_discovery: RunningDataDiscovery,
    stac_api: StacApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, _, err = await admin(capsys, "collections", "refresh", "NOPE")
    assert status == 1
    assert err.startswith("error: CollectionNotFound:")

    add = ["collections", "add-stac-api", stac_api.earth_search, "sentinel-2-l2a", "--id", "S2"]
    assert (await admin(capsys, *add))[0] == 0
    stac_api.fail("/earth-search/v1/collections/sentinel-2-l2a$", 404, count=1)
    try:
        status, _, err = await admin(capsys, "collections", "refresh", "--id", "S2")
    finally:
        stac_api.reset()
    assert status == 1
    assert err.startswith("error: UpstreamUnavailable:")
    assert "HTTP 404" in err
