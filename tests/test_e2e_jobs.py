"""End to end: batch jobs through the `openeo` client against the whole local stack.

The user's example (create, start and wait, logs, results equal to the synchronous
result, estimate, update, stop, delete), isolation between users, the tenant's queue
limit, and faults: the executor killed, the jobs service restarted, NATS restarted, a
job started twice at once. Every JSON body the client receives is checked against
openapi.yaml, and every wait is bounded.
"""

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import openeo
import pytest
import rasterio
import requests
from openeo.rest import OpenEoApiError
from openeo.rest.job import BatchJob

from eoplex.stack import LocalStack
from tests.openapi_validation import validate_error, validate_response
from tests.stac_validation import validate_stac_item
from tests.stack import admin, guarded_gateway

S2 = "SENTINEL2_L2A_DEMO"
EXTENT = {"west": 11.28, "south": 46.47, "east": 11.33, "north": 46.50}
JUNE = ["2022-06-01", "2022-07-01"]
# Every date of the demo collection over its whole area, one file per date: a job
# that runs for seconds, long enough to be seen running, queued behind others, or killed.
ALL_DATES = ["2022-05-01", "2022-07-06"]
FINAL = ("finished", "error", "canceled")
ACTIVE = ("queued", "running")
PASSWORD = "jobs-e2e-secret-1"
PLACEHOLDERS = {"jobs": "{job_id}", "collections": "{collection_id}"}


class SchemaChecker:
    """A `requests` response hook validating every JSON body of the API against
    openapi.yaml, the path's ids replaced by the spec's placeholders."""

    def __init__(self, api_url: str) -> None:
        self.api_path = urlsplit(api_url).path.rstrip("/")

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        path = urlsplit(response.url).path
        # A HEAD answer (the client asks before a download) has no body to check.
        if response.request.method == "HEAD":
            return
        if not path.startswith(self.api_path) or not response.headers.get(
            "Content-Type", ""
        ).startswith("application/json"):
            return
        if response.status_code >= 400:
            validate_error(response.json())
            return
        parts = path.removeprefix(self.api_path).split("/")
        if len(parts) > 2 and parts[1] in PLACEHOLDERS:
            parts[2] = PLACEHOLDERS[parts[1]]
        method = response.request.method or "GET"
        validate_response(method, "/".join(parts) or "/", response.status_code, response.json())


def wait_until(
    condition: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.2
) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting {what}"
        time.sleep(interval)
    return value


def wait_for_status(job: BatchJob, statuses: tuple[str, ...], *, timeout: float) -> str:
    """The job's status once it is one of `statuses`."""
    status: str = wait_until(
        lambda: (s := job.status()) in statuses and s,
        timeout=timeout,
        what=f"for job {job.job_id} to be {'/'.join(statuses)}",
    )
    return status


def start_in_background(job: BatchJob) -> list[BaseException | None]:
    """Starts `job` and waits for its end in another thread; the list it returns gets None,
    or the error, when the job has ended."""
    outcome: list[BaseException | None] = []

    def start_and_wait() -> None:
        try:
            job.start_and_wait(print=lambda *_: None, max_poll_interval=1)
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    # A daemon: a job that never ends fails the caller's deadline instead of hanging the run.
    threading.Thread(target=start_and_wait, daemon=True).start()
    return outcome


def user_connection(stack: LocalStack, name: str, checker: SchemaChecker) -> openeo.Connection:
    connection = openeo.connect(stack.api_url)
    connection.session.hooks["response"].append(checker)
    connection.authenticate_basic(name, PASSWORD)
    return connection


def run_job_pids(job_id: str) -> set[int]:
    """The pids of `python -m eoplex_executor run-job <job_id>` processes, their own
    children (same command line) left out."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if b"run-job" in argv and job_id.encode() in argv:
            found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return {pid for pid, parent in found.items() if parent not in found}


def ndvi_max_cube(connection: openeo.Connection) -> Any:
    cube = connection.load_collection(
        S2, spatial_extent=EXTENT, temporal_extent=JUNE, bands=["B04", "B08"]
    )
    return cube.ndvi(nir="B08", red="B04").max_time()


def long_cube(connection: openeo.Connection) -> Any:
    cube = connection.load_collection(S2, temporal_extent=ALL_DATES, bands=["B04", "B08"])
    return cube.ndvi(nir="B08", red="B04")


def started_long_job(connection: openeo.Connection, title: str) -> BatchJob:
    """A batch job of `long_cube`, started."""
    job = long_cube(connection).create_job(title=title)
    job.start()
    return job


def read_tiff(path: Path) -> tuple[np.ndarray, Any, Any]:
    with rasterio.open(path) as dataset:
        return dataset.read(), dataset.crs, dataset.transform


@pytest.fixture(scope="module")
def checker(local_stack: LocalStack) -> SchemaChecker:
    return SchemaChecker(local_stack.api_url)


@pytest.fixture(scope="module")
def connection(local_stack: LocalStack, checker: SchemaChecker) -> openeo.Connection:
    assert local_stack.wait_for_demo_data(timeout_seconds=180)
    connection = openeo.connect(local_stack.api_url)
    connection.session.hooks["response"].append(checker)
    connection.authenticate_basic(local_stack.demo_user, local_stack.demo_password)
    return connection


@pytest.fixture(scope="module")
def other_user(local_stack: LocalStack, checker: SchemaChecker) -> openeo.Connection:
    """Another user of the demo tenant."""
    admin(local_stack, "users", "add", "jobs-other", "--tenant", "demo", "--password", PASSWORD)
    return user_connection(local_stack, "jobs-other", checker)


@pytest.fixture(scope="module")
def finished_job(connection: openeo.Connection) -> Iterator[BatchJob]:
    """A finished NDVI-max job of the demo user."""
    job = ndvi_max_cube(connection).create_job(title="finished")
    job.start()
    assert wait_for_status(job, FINAL, timeout=90) == "finished"
    yield job
    job.delete()


def test_user_example(connection: openeo.Connection, tmp_path: Path) -> None:
    job = ndvi_max_cube(connection).create_job(title="ndvi", job_options={"memory": "2Gi"})
    described = job.describe()
    assert (described["status"], described["title"]) == ("created", "ndvi")
    assert described["process"]["process_graph"]

    outcome = start_in_background(job)
    logs_while_active = []
    deadline = time.monotonic() + 60
    while not outcome:
        assert time.monotonic() < deadline, f"job still {job.status()} after 60 s"
        status, logs = job.status(), job.logs(level="info")
        if status in ACTIVE:
            logs_while_active.append(len(logs))
        time.sleep(0.1)
    assert outcome == [None]
    assert job.status() == "finished"
    assert any(logs_while_active), f"no info logs while queued or running: {logs_while_active}"
    logs = job.logs(level="info")
    assert logs and {entry["level"] for entry in logs} <= {"info", "warning", "error"}

    described = job.describe()
    assert described["progress"] == 100
    assert described["usage"]

    results = job.get_results()
    assets = results.get_metadata()["assets"]
    downloaded = results.download_files(tmp_path / "out")
    tiffs = [path for path in downloaded if path.suffix == ".tif"]
    assert len(tiffs) == 1 == len(assets)
    (asset,) = assets.values()
    assert asset["file:size"] == tiffs[0].stat().st_size
    assert "data" in asset["roles"] and asset["type"].startswith("image/tiff")

    synchronous = tmp_path / "sync.tif"
    ndvi_max_cube(connection).download(synchronous)
    batch_values, batch_crs, batch_transform = read_tiff(tiffs[0])
    sync_values, sync_crs, sync_transform = read_tiff(synchronous)
    assert (batch_crs, batch_transform) == (sync_crs, sync_transform)
    assert batch_values.shape == sync_values.shape
    np.testing.assert_array_equal(batch_values, sync_values)

    estimate = job.estimate()
    assert estimate["costs"] > 0 and estimate["size"] > 0 and estimate["duration"].startswith("P")

    connection.patch(f"/jobs/{job.job_id}", json={"title": "x"}, expected_status=204)
    assert job.describe()["title"] == "x"
    job.stop()
    assert job.status() == "finished"
    href = asset["href"]
    assert requests.get(href, timeout=30).status_code == 200
    job.delete()
    with pytest.raises(OpenEoApiError) as raised:
        job.describe()
    assert raised.value.code == "JobNotFound"
    assert requests.get(href, timeout=30).status_code != 200, "results outlive their job"


def test_jobs_are_listed(connection: openeo.Connection, finished_job: BatchJob) -> None:
    listed = {job["id"]: job for job in connection.list_jobs()}
    assert listed[finished_job.job_id]["status"] == "finished"
    assert "process" not in listed[finished_job.job_id]


def test_another_user_gets_job_not_found_for_every_operation(
    finished_job: BatchJob, other_user: openeo.Connection
) -> None:
    job_id = finished_job.job_id
    foreign = other_user.job(job_id)
    operations: dict[str, Callable[[], Any]] = {
        "describe": foreign.describe,
        "update": lambda: other_user.patch(f"/jobs/{job_id}", json={"title": "mine"}),
        "start": foreign.start,
        "stop": foreign.stop,
        "results": foreign.get_results().get_metadata,
        "logs": foreign.logs,
        "estimate": foreign.estimate,
        "delete": foreign.delete,
    }
    for name, operation in operations.items():
        with pytest.raises(OpenEoApiError) as raised:
            operation()
        assert (raised.value.http_status_code, raised.value.code) == (404, "JobNotFound"), name
    assert job_id not in {job["id"] for job in other_user.list_jobs()}
    assert finished_job.describe()["title"] == "finished"
    assert finished_job.status() == "finished"


def test_the_results_item_locates_and_dates_the_data(finished_job: BatchJob) -> None:
    item = finished_job.get_results().get_metadata()
    validate_stac_item(item)
    west, south, east, north = item["bbox"]
    # The footprint of the requested extent in WGS 84 (snapped to the UTM pixel grid).
    assert west == pytest.approx(EXTENT["west"], abs=0.005)
    assert east == pytest.approx(EXTENT["east"], abs=0.005)
    assert (south, north) == (
        pytest.approx(EXTENT["south"], abs=0.005),
        pytest.approx(EXTENT["north"], abs=0.005),
    )
    assert item["geometry"]["type"] == "Polygon"
    assert item["geometry"]["coordinates"][0][0] == [west, south]
    # The maximum over June: the dates read, not the time the job ran.
    properties = item["properties"]
    assert properties["datetime"] is None
    assert JUNE[0] <= properties["start_datetime"] < properties["end_datetime"] < JUNE[1]
    (asset,) = item["assets"].values()
    assert asset["proj:code"] == "EPSG:32632"
    height, width = asset["proj:shape"]
    assert asset["proj:transform"][0] == 10.0 and height > 0 and width > 0
    proj_west, proj_south, proj_east, proj_north = asset["proj:bbox"]
    assert (proj_east - proj_west, proj_north - proj_south) == (10.0 * width, 10.0 * height)


def tampered(href: str, name: str, change: Callable[[str], str]) -> str:
    """`href` with its query parameter `name` changed."""
    url = urlsplit(href)
    query = dict(parse_qsl(url.query))
    query[name] = change(query[name])
    return urlunsplit(url._replace(query=urlencode(query)))


def test_a_result_url_with_a_tampered_signature_is_refused(finished_job: BatchJob) -> None:
    (asset,) = finished_job.get_results().get_metadata()["assets"].values()
    # Without a public S3 endpoint, the API's own port serves the results.
    assert asset["href"].startswith(finished_job.connection.root_url)
    for name, change in [
        ("signature", lambda value: value[:-1] + ("0" if value[-1] != "0" else "1")),
        ("expires", lambda value: str(int(value) + 3600)),
    ]:
        refused = requests.get(tampered(asset["href"], name, change), timeout=30)
        assert refused.status_code == 403
        validate_error(refused.json())
        assert refused.json()["code"] == "PermissionsInsufficient"
    # Another asset name under the same signature names nothing of this job's.
    url = urlsplit(asset["href"])
    other = urlunsplit(url._replace(path=url.path.rsplit("/", 1)[0] + "/result_2.tif"))
    assert requests.get(other, timeout=30).json()["code"] == "PermissionsInsufficient"
    assert requests.get(asset["href"], timeout=30).status_code == 200


def test_results_download_through_the_api_in_ranges(finished_job: BatchJob, tmp_path: Path) -> None:
    results = finished_job.get_results()
    (asset,) = results.get_metadata()["assets"].values()
    (path,) = [path for path in results.download_files(tmp_path / "out") if path.suffix == ".tif"]
    content = path.read_bytes()
    assert len(content) == asset["file:size"]
    whole = requests.get(asset["href"], timeout=30)
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert int(whole.headers["Content-Length"]) == len(content) == len(whole.content)
    assert whole.headers["Content-Type"] == asset["type"]
    part = requests.get(asset["href"], headers={"Range": "bytes=100-199"}, timeout=30)
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(content)}"
    assert part.content == content[100:200]
    beyond = requests.get(asset["href"], headers={"Range": f"bytes={len(content)}-"}, timeout=30)
    assert (beyond.status_code, beyond.json()["code"]) == (416, "RangeNotSatisfiable")


def test_the_canonical_link_shares_the_results_without_credentials(
    finished_job: BatchJob, tmp_path: Path
) -> None:
    item = finished_job.get_results().get_metadata()
    (canonical,) = [link for link in item["links"] if link["rel"] == "canonical"]
    shared = requests.get(canonical["href"], timeout=30)
    assert shared.status_code == 200
    document = shared.json()
    validate_stac_item(document)
    assert document["properties"]["expires"] == item["properties"]["expires"]
    assert (document["id"], document["bbox"]) == (item["id"], item["bbox"])
    (asset,) = document["assets"].values()
    assert len(requests.get(asset["href"], timeout=30).content) == asset["file:size"]
    changed = tampered(canonical["href"], "expires", lambda value: str(int(value) + 1))
    refused = requests.get(changed, timeout=30)
    assert (refused.status_code, refused.json()["code"]) == (403, "PermissionsInsufficient")


@pytest.fixture(scope="module")
def guarded_api(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway on an executor that refuses private addresses to load_stac: what it reads
    of the back-end's own results it cannot have fetched from the gateway on loopback."""
    with guarded_gateway(local_stack, log_dir=tmp_path_factory.mktemp("guarded")) as api_url:
        yield api_url


@pytest.fixture(scope="module")
def finished_job_tiff(
    finished_job: BatchJob, tmp_path_factory: pytest.TempPathFactory
) -> tuple[np.ndarray, Any, Any]:
    """The values, CRS and transform of the finished job's GeoTIFF."""
    folder = tmp_path_factory.mktemp("finished")
    (path,) = [
        path for path in finished_job.get_results().download_files(folder) if path.suffix == ".tif"
    ]
    return read_tiff(path)


def test_a_jobs_results_are_the_input_of_its_owners_next_process(
    local_stack: LocalStack,
    guarded_api: str,
    finished_job: BatchJob,
    finished_job_tiff: tuple[np.ndarray, Any, Any],
    other_user: openeo.Connection,
    tmp_path: Path,
) -> None:
    expected, crs, transform = finished_job_tiff
    owner = openeo.connect(guarded_api)
    owner.authenticate_basic(local_stack.demo_user, local_stack.demo_password)
    results_url = f"{guarded_api}jobs/{finished_job.job_id}/results"
    # The canonical link (load_stac_from_job), then the job's results URL.
    for cube in (
        owner.load_stac_from_job(finished_job.job_id),
        owner.load_stac(results_url),
    ):
        target = tmp_path / "loaded.tif"
        cube.download(target, format="GTiff")
        values, loaded_crs, loaded_transform = read_tiff(target)
        assert (loaded_crs, loaded_transform) == (crs, transform)
        np.testing.assert_array_equal(values, expected)

    # Another user, who holds the links, has them refused: the guard lets nobody reach the
    # gateway's loopback address.
    item = finished_job.get_results().get_metadata()
    (canonical,) = [link["href"] for link in item["links"] if link["rel"] == "canonical"]
    other = openeo.connect(guarded_api)
    other.authenticate_basic("jobs-other", PASSWORD)
    for url in (canonical, results_url):
        with pytest.raises(OpenEoApiError) as refused:
            other.load_stac(url).download(tmp_path / "refused.tif", format="GTiff")
        assert refused.value.code == "ProcessParameterInvalid"
        assert "not one of yours" in refused.value.message


def test_a_batch_job_reads_an_earlier_jobs_results(
    connection: openeo.Connection,
    finished_job: BatchJob,
    finished_job_tiff: tuple[np.ndarray, Any, Any],
    tmp_path: Path,
) -> None:
    """Through the results URL, which the batch job's executor could not read over HTTP
    (it holds no token of the user's): only inside the back-end."""
    results_url = connection.build_url(f"/jobs/{finished_job.job_id}/results")
    job = connection.load_stac(results_url).create_job(title="results as input")
    job.start()
    assert wait_for_status(job, FINAL, timeout=90) == "finished", job.logs()
    (path,) = [path for path in job.get_results().download_files(tmp_path) if path.suffix == ".tif"]
    values, crs, transform = read_tiff(path)
    expected, expected_crs, expected_transform = finished_job_tiff
    assert (crs, transform) == (expected_crs, expected_transform)
    np.testing.assert_array_equal(values, expected)
    job.delete()


def test_a_tenant_runs_at_most_its_limit_of_jobs(
    local_stack: LocalStack, checker: SchemaChecker
) -> None:
    admin(local_stack, "tenants", "add", "jobs-queue", "--max-concurrent-jobs", "2")
    for name in ("queue-a", "queue-b"):
        admin(local_stack, "users", "add", name, "--tenant", "jobs-queue", "--password", PASSWORD)
    first, second = (user_connection(local_stack, n, checker) for n in ("queue-a", "queue-b"))
    # Two of the first user and the third of another: only the tenant's limit holds it.
    jobs = [long_cube(first).create_job(), long_cube(first).create_job()]
    third = long_cube(second).create_job()
    for job in jobs:
        job.start()
    wait_until(
        lambda: all(job.status() == "running" for job in jobs),
        timeout=60,
        what="for the first two jobs to run",
    )
    third.start()
    seen_queued_behind_two = 0
    deadline = time.monotonic() + 150
    while (third_status := third.status()) not in FINAL:
        assert time.monotonic() < deadline, "the third job never ended"
        # Statuses only move forward: polled after the third, the first two were no
        # further along when the third was polled.
        others = [job.status() for job in jobs]
        if all(status in ACTIVE for status in others):
            assert third_status == "queued", f"three jobs at once: {[*others, third_status]}"
            seen_queued_behind_two += 1
        time.sleep(0.2)
    assert third_status == "finished"
    assert seen_queued_behind_two > 0
    for job in jobs:
        assert wait_for_status(job, FINAL, timeout=60) == "finished"


def test_a_killed_executor_makes_the_job_fail_with_a_reason(
    connection: openeo.Connection,
) -> None:
    job = started_long_job(connection, "to be killed")
    (pid,) = wait_until(
        lambda: run_job_pids(job.job_id), timeout=60, what="for the executor to start"
    )
    os.kill(pid, signal.SIGKILL)
    assert wait_for_status(job, FINAL, timeout=60) == "error"
    errors = job.logs(level="error")
    assert errors and all(entry["message"] for entry in errors), errors
    with pytest.raises(OpenEoApiError) as raised:
        job.get_results().get_metadata()
    assert raised.value.http_status_code == 424
    assert errors[-1]["message"] in raised.value.message
    job.delete()


def test_a_job_failing_in_a_process_reports_the_exception_its_specification_declares(
    connection: openeo.Connection,
) -> None:
    load = {"id": S2, "spatial_extent": EXTENT, "temporal_extent": JUNE, "bands": ["B04"]}
    graph = {
        "load": {"process_id": "load_collection", "arguments": load},
        "rename": {
            "process_id": "rename_labels",
            "arguments": {
                "data": {"from_node": "load"},
                "dimension": "bands",
                "source": ["B99"],
                "target": ["red"],
            },
        },
        "save": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "rename"}, "format": "GTiff"},
            "result": True,
        },
    }
    job = connection.create_job({"process_graph": graph}, title="unknown label")
    job.start()
    assert wait_for_status(job, FINAL, timeout=60) == "error"
    errors = job.logs(level="error")
    [error] = [entry for entry in errors if "code" in (entry.get("data") or {})]
    assert error["data"]["code"] == "LabelNotAvailable", errors
    assert error["code"] == "LabelNotAvailable"
    assert error["message"].startswith("A label with the specified name does not exist. ")
    with pytest.raises(OpenEoApiError) as raised:
        job.get_results().get_metadata()
    assert error["message"] in raised.value.message
    job.delete()


def test_a_stopped_job_is_canceled_and_its_executor_ends(connection: openeo.Connection) -> None:
    job = started_long_job(connection, "to be stopped")
    wait_until(lambda: run_job_pids(job.job_id), timeout=60, what="for the executor to start")
    job.stop()
    assert job.status() == "canceled"
    wait_until(
        lambda: not run_job_pids(job.job_id), timeout=20, what="for the executor to be stopped"
    )
    with pytest.raises(OpenEoApiError) as raised:
        job.get_results().get_metadata()
    assert raised.value.code == "JobNotFinished"
    time.sleep(2)
    assert job.status() == "canceled", "a late event revived a canceled job"
    job.delete()


def restart_jobs_service_and_finish(stack: LocalStack, job: BatchJob) -> None:
    stack.kill("jobs")
    stack.wait_until_ready("jobs")
    assert wait_for_status(job, FINAL, timeout=60) == "finished", job.logs()
    assert job.get_results().get_metadata()["assets"]
    job.delete()


def test_a_job_survives_a_restart_of_the_jobs_service(
    local_stack: LocalStack, connection: openeo.Connection
) -> None:
    job = started_long_job(connection, "survives")
    # The executor computes and reports: the restart meets the job's events, not its start.
    wait_until(
        lambda: job.describe().get("progress", 0) > 0,
        timeout=60,
        what="for the executor to report progress",
    )
    restart_jobs_service_and_finish(local_stack, job)


def test_a_job_survives_a_restart_of_the_jobs_service_as_it_starts(
    local_stack: LocalStack, connection: openeo.Connection
) -> None:
    job = started_long_job(connection, "survives its start")
    # Just admitted: the service restarts while the executor starts and sends its first events.
    wait_for_status(job, ("running",), timeout=60)
    restart_jobs_service_and_finish(local_stack, job)


def test_no_status_is_lost_while_nats_restarts(
    local_stack: LocalStack, connection: openeo.Connection
) -> None:
    job = started_long_job(connection, "through a NATS restart")
    wait_for_status(job, ("running",), timeout=60)
    local_stack.kill("nats")
    local_stack.wait_until_ready("nats")
    assert wait_for_status(job, FINAL, timeout=120) == "finished"
    assert job.get_results().get_metadata()["assets"]
    job.delete()


def test_a_job_started_twice_at_once_runs_once(connection: openeo.Connection) -> None:
    job = long_cube(connection).create_job(title="started twice")
    start_together = threading.Barrier(2)

    def start() -> None:
        start_together.wait(timeout=10)
        job.start()

    with ThreadPoolExecutor(2) as pool:
        for started in [pool.submit(start) for _ in range(2)]:
            started.result(timeout=30)
    executors: set[int] = set()
    deadline = time.monotonic() + 120
    while (status := job.status()) not in FINAL:
        assert time.monotonic() < deadline, "the job never ended"
        executors |= run_job_pids(job.job_id)
        time.sleep(0.05)
    assert status == "finished"
    assert len(executors) == 1, f"executor processes seen: {executors}"
    repeated = [m for m, n in Counter(e["message"] for e in job.logs()).items() if n > 1]
    assert not repeated, f"log entries written twice: {repeated}"
    job.delete()
