"""End to end: discovery as the official clients do it, the `openeo` Python client and the
`@openeo/js-client` JavaScript client under Node (`tests/js`, installed by `make install`)."""

import json
import shutil
import subprocess
from pathlib import Path

import openeo
import pytest
import requests
from openeo.rest import OpenEoApiError

from conftest import ServiceProcess
from eoplex.stack import LocalStack, client_env
from eoplex_common.process_specs import IMPLEMENTED_PROCESSES
from tests.stack import another_gateway, demo_connection

S2 = "SENTINEL2_L2A_DEMO"
JS_CLIENT = Path(__file__).with_name("js")


def run_js_client(script: str, *argv: str) -> dict[str, object]:
    """The JSON a script of `tests/js` prints, run by Node with the pinned JS client."""
    node = shutil.which("node")
    assert node, "Node.js is needed to run the JavaScript client"
    assert (JS_CLIENT / "node_modules" / "@openeo" / "js-client").is_dir(), "run make install"
    done = subprocess.run(
        [node, str(JS_CLIENT / script), *argv],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_python_client_lists_every_process(local_stack: LocalStack) -> None:
    listed = {process["id"] for process in openeo.connect(local_stack.api_url).list_processes()}
    assert listed == set(IMPLEMENTED_PROCESSES)


@pytest.mark.parametrize("limit", [1, 50])
def test_processes_are_not_paged_whatever_the_limit(local_stack: LocalStack, limit: int) -> None:
    response = requests.get(f"{local_stack.api_url}processes?limit={limit}", timeout=30)
    body = response.json()
    assert len(body["processes"]) == len(IMPLEMENTED_PROCESSES)
    assert [link["rel"] for link in body["links"]] == ["self"]


@pytest.fixture(scope="module")
def connection(local_stack: LocalStack) -> openeo.Connection:
    """The demo user's connection, once the demo collections are registered."""
    return demo_connection(local_stack)


def test_js_client_builds_a_graph_from_the_process_list(
    local_stack: LocalStack, connection: openeo.Connection
) -> None:
    result = run_js_client(
        "build_process.js",
        local_stack.api_url,
        local_stack.demo_user,
        local_stack.demo_password,
        S2,
    )
    assert set(result["listed"]) == set(IMPLEMENTED_PROCESSES)  # type: ignore[arg-type]
    graph = result["process"]["process_graph"]  # type: ignore[index]
    assert sorted(node["process_id"] for node in graph.values()) == [
        "load_collection",
        "ndvi",
        "save_result",
    ]
    assert result["errors"] == []


def item_dates(connection: openeo.Connection, temporal_extent: list[str | None]) -> list[str]:
    """The dates of the demo items the Python client finds in `temporal_extent`."""
    pages = connection.collection_items(S2, temporal_extent=temporal_extent)
    return sorted(
        item["properties"]["datetime"][:10] for page in pages for item in page["features"]
    )


JUNE_DATES = ["2022-06-05", "2022-06-10", "2022-06-15", "2022-06-20", "2022-06-25", "2022-06-30"]


@pytest.mark.parametrize(
    ("temporal_extent", "dates"),
    [
        # Dates are whole days, and the end of an interval is included.
        (["2022-06-01", "2022-06-30"], JUNE_DATES),
        (["2022-06-01", "2022-06-29"], JUNE_DATES[:-1]),
        (["2022-06-30", "2022-06-30"], ["2022-06-30"]),
        (["2022-08-24", None], ["2022-08-24", "2022-08-29"]),
        ([None, "2022-05-06"], ["2022-05-01", "2022-05-06"]),
        (["2022-06-01T00:00:00Z", "2022-06-10T23:59:59Z"], JUNE_DATES[:2]),
    ],
)
def test_python_client_searches_items_by_dates(
    connection: openeo.Connection, temporal_extent: list[str | None], dates: list[str]
) -> None:
    assert item_dates(connection, temporal_extent) == dates


def test_a_single_date_finds_that_day(
    local_stack: LocalStack, connection: openeo.Connection
) -> None:
    url = f"{local_stack.api_url}collections/{S2}/items?datetime=2022-06-10"
    features = requests.get(url, timeout=30).json()["features"]
    assert [feature["properties"]["datetime"][:10] for feature in features] == ["2022-06-10"]


def test_without_oidc_providers_clients_see_only_basic_login(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    assert local_stack.plan is not None
    # A second auth service, on the stack's database with its own login, trusting no issuer.
    logins = client_env(local_stack.config, local_stack.plan, "auth")
    env = {**local_stack.env, **logins, "OPENEO_AUTH_OIDC_PROVIDERS": "[]"}
    with ServiceProcess("auth", env=env, log_dir=tmp_path) as auth:
        gateway_env = {"OPENEO_AUTH_ADDRESS": auth.address}
        log = tmp_path / "gateway.log"
        with another_gateway(local_stack, "gateway-no-oidc", env=gateway_env, log_path=log) as (
            port,
            _,
        ):
            connection = openeo.connect(f"http://127.0.0.1:{port}/openeo/1.2/")
            assert [provider["type"] for provider in connection.list_auth_providers()] == ["basic"]
            with pytest.raises(OpenEoApiError) as raised:
                connection.get("/credentials/oidc", expected_status=200)
    assert (raised.value.http_status_code, raised.value.code) == (501, "FeatureUnsupported")


def test_an_empty_job_update_changes_nothing(connection: openeo.Connection) -> None:
    process = {
        "process_graph": {
            "one": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}
        }
    }
    job = connection.create_job(process, title="kept", description="as it was")
    before = job.describe()
    response = connection.patch(f"/jobs/{job.job_id}", json={}, expected_status=204)
    assert response.status_code == 204
    assert job.describe() == before
    with pytest.raises(OpenEoApiError) as raised:
        connection.patch("/jobs/no-such-job", json={}, expected_status=204)
    assert (raised.value.http_status_code, raised.value.code) == (404, "JobNotFound")
