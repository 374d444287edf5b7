"""End to end: user-defined processes through the `openeo` client against the whole local
stack: stored with parameters, listed, described, called from another graph (synchronous
and as a batch job, pixel for pixel equal to the inline graph), confined to their owner,
refused for predefined or invalid ids and for recursion, deleted."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openeo
import pytest
import rasterio
from openeo.api.process import Parameter
from openeo.rest import OpenEoApiError
from openeo.rest.udp import RESTUserDefinedProcess

from eoplex.stack import LocalStack
from tests.stack import demo_connection

S2 = "SENTINEL2_L2A_DEMO"
EXTENT = {"west": 11.28, "south": 46.47, "east": 11.33, "north": 46.50}
JUNE = ["2022-06-01", "2022-07-01"]
PASSWORD = "udp-e2e-secret-1"


@pytest.fixture(scope="module")
def connection(local_stack: LocalStack) -> openeo.Connection:
    return demo_connection(local_stack)


@pytest.fixture(scope="module")
def other_user(local_stack: LocalStack) -> openeo.Connection:
    """Another user of the demo tenant."""
    command = [sys.executable, "-m", "eoplex", "admin", "users", "add", "udp-other"]
    command += ["--tenant", "demo", "--password", PASSWORD]
    env = {**os.environ, **local_stack.env}
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=60)
    connection = openeo.connect(local_stack.api_url)
    connection.authenticate_basic("udp-other", PASSWORD)
    return connection


def inline_ndvi_max(connection: openeo.Connection, extent: Any = EXTENT) -> Any:
    cube = connection.load_collection(
        S2, spatial_extent=extent, temporal_extent=JUNE, bands=["B04", "B08"]
    )
    return cube.ndvi(nir="B08", red="B04").max_time()


@pytest.fixture(scope="module")
def ndvi_max(connection: openeo.Connection) -> Iterator[RESTUserDefinedProcess]:
    """`ndvi_max(spatial_extent, temporal_extent=JUNE)`: the maximum NDVI over time."""
    spatial = Parameter.spatial_extent(name="spatial_extent", description="The area.")
    temporal = Parameter.temporal_interval(name="temporal_extent", default=JUNE)
    cube = connection.load_collection(
        S2, spatial_extent=spatial, temporal_extent=temporal, bands=["B04", "B08"]
    )
    udp = connection.save_user_defined_process(
        "ndvi_max",
        cube.ndvi(nir="B08", red="B04").max_time(),
        parameters=[spatial, temporal],
        summary="Maximum NDVI",
        description="The maximum NDVI over time of the demo collection.",
        categories=["ndvi"],
    )
    yield udp
    try:
        udp.delete()
    except OpenEoApiError:
        pass  # deleted by a test already


def read_tiff(path: Path) -> tuple[np.ndarray, Any, Any]:
    with rasterio.open(path) as dataset:
        return dataset.read(), dataset.crs, dataset.transform


def assert_same_raster(actual: Path, expected: Path) -> None:
    values, crs, transform = read_tiff(actual)
    expected_values, expected_crs, expected_transform = read_tiff(expected)
    assert (crs, transform) == (expected_crs, expected_transform)
    assert values.shape == expected_values.shape
    assert np.isfinite(expected_values).any()
    np.testing.assert_array_equal(values, expected_values)


def test_it_is_listed_and_described(
    connection: openeo.Connection, ndvi_max: RESTUserDefinedProcess
) -> None:
    listed = {process["id"]: process for process in connection.list_user_defined_processes()}
    assert "process_graph" not in listed["ndvi_max"]
    assert [p["name"] for p in listed["ndvi_max"]["parameters"]] == [
        "spatial_extent",
        "temporal_extent",
    ]
    described = ndvi_max.describe()
    assert described["id"] == "ndvi_max"
    assert described["summary"] == "Maximum NDVI"
    assert described["categories"] == ["ndvi"]
    assert described["parameters"][1]["default"] == JUNE
    processes = {node["process_id"] for node in described["process_graph"].values()}
    assert {"load_collection", "ndvi", "reduce_dimension"} <= processes


def test_called_from_another_graph_it_equals_the_inline_graph(
    connection: openeo.Connection, ndvi_max: RESTUserDefinedProcess, tmp_path: Path
) -> None:
    inline = tmp_path / "inline.tif"
    inline_ndvi_max(connection).download(inline)
    # The default of `temporal_extent` applies.
    udp_cube = connection.datacube_from_process("ndvi_max", namespace="user", spatial_extent=EXTENT)
    assert connection.validate_process_graph(udp_cube) == []
    through_udp = tmp_path / "udp.tif"
    udp_cube.download(through_udp)
    assert_same_raster(through_udp, inline)


def test_a_batch_job_calling_it_equals_the_inline_graph(
    connection: openeo.Connection, ndvi_max: RESTUserDefinedProcess, tmp_path: Path
) -> None:
    inline = tmp_path / "inline.tif"
    inline_ndvi_max(connection).download(inline)
    udp_cube = connection.datacube_from_process(
        "ndvi_max", namespace="user", spatial_extent=EXTENT, temporal_extent=JUNE
    )
    job = udp_cube.create_job(title="udp")
    job.start()
    deadline = time.monotonic() + 90
    while (status := job.status()) not in ("finished", "error", "canceled"):
        assert time.monotonic() < deadline, f"job still {status} after 90 s"
        time.sleep(0.5)
    assert status == "finished", job.logs()
    (tiff,) = [p for p in job.get_results().download_files(tmp_path / "out") if p.suffix == ".tif"]
    assert_same_raster(tiff, inline)
    job.delete()


def test_a_missing_required_parameter_is_reported(
    connection: openeo.Connection, ndvi_max: RESTUserDefinedProcess
) -> None:
    cube = connection.datacube_from_process("ndvi_max", namespace="user")
    errors = connection.validate_process_graph(cube)
    assert [error["code"] for error in errors] == ["ProcessParameterRequired"]
    with pytest.raises(OpenEoApiError) as raised:
        cube.download()
    assert raised.value.code == "ProcessParameterRequired"


def test_another_user_cannot_see_use_or_delete_it(
    other_user: openeo.Connection, ndvi_max: RESTUserDefinedProcess
) -> None:
    assert "ndvi_max" not in {p["id"] for p in other_user.list_user_defined_processes()}
    theirs = other_user.user_defined_process("ndvi_max")
    for operation in (theirs.describe, theirs.delete):
        with pytest.raises(OpenEoApiError) as raised:
            operation()
        assert (raised.value.http_status_code, raised.value.code) == (404, "ProcessGraphNotFound")
    cube = other_user.datacube_from_process("ndvi_max", namespace="user", spatial_extent=EXTENT)
    with pytest.raises(OpenEoApiError) as raised:
        cube.download()
    assert raised.value.code == "ProcessUnsupported"
    with pytest.raises(OpenEoApiError) as raised:
        cube.create_job()
    assert raised.value.code == "ProcessUnsupported"
    # Still there for its owner.
    assert ndvi_max.describe()["id"] == "ndvi_max"


def test_a_predefined_process_cannot_be_overridden(connection: openeo.Connection) -> None:
    graph = connection.load_collection(S2, spatial_extent=EXTENT, temporal_extent=JUNE)
    with pytest.warns(UserWarning, match="same id as a pre-defined process"):
        with pytest.raises(OpenEoApiError) as raised:
            connection.save_user_defined_process(
                "ndvi", graph, parameters=[Parameter.number("x", description="x")]
            )
    assert (raised.value.http_status_code, raised.value.code) == (400, "PredefinedProcessExists")


@pytest.mark.parametrize("process_id", ["ndvi-max", "ndvi max", "nd.vi"])
def test_invalid_ids_are_refused(connection: openeo.Connection, process_id: str) -> None:
    body = {
        "process_graph": {"a": {"process_id": "absolute", "arguments": {"x": -1}, "result": True}}
    }
    with pytest.raises(OpenEoApiError) as raised:
        connection.put(f"/process_graphs/{process_id}", json=body, expected_status=200)
    assert raised.value.code == "ProcessInvalid"


def test_recursion_is_refused(connection: openeo.Connection) -> None:
    body = {
        "process_graph": {
            "r": {"process_id": "loop", "namespace": "user", "arguments": {}, "result": True}
        }
    }
    with pytest.raises(OpenEoApiError) as raised:
        connection.put("/process_graphs/loop", json=body, expected_status=200)
    assert raised.value.code == "ProcessGraphInvalid"
    assert "calls itself" in raised.value.message


def test_delete_works(connection: openeo.Connection) -> None:
    udp = connection.save_user_defined_process(
        "short_lived",
        {
            "a": {
                "process_id": "add",
                "arguments": {"x": {"from_parameter": "x"}, "y": 1},
                "result": True,
            }
        },
        parameters=[Parameter.number("x", description="x")],
    )
    assert "short_lived" in {p["id"] for p in connection.list_user_defined_processes()}
    udp.delete()
    assert "short_lived" not in {p["id"] for p in connection.list_user_defined_processes()}
    with pytest.raises(OpenEoApiError) as raised:
        udp.describe()
    assert raised.value.code == "ProcessGraphNotFound"
