"""End to end through the `openeo` client: errors that say what happened in the user's terms,
a synchronous request over the time limit, a graph that saves nothing, and /validation
against the collection's own bands, properties and extents."""

import sys
from collections.abc import Iterator
from typing import Any

import openeo
import pytest
from openeo.rest import OpenEoApiError

from eoplex.probes import grpc_serving
from eoplex.servers import ProcessSpec, free_port
from eoplex.stack import LocalStack, client_env
from tests.stack import another_gateway, demo_connection, running
from tests.test_e2e_processing import EXTENT, JUNE, S2

SLEEPING = """
import time
import xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    time.sleep(120)
    return cube
"""


@pytest.fixture(scope="module")
def connection(local_stack: LocalStack) -> openeo.Connection:
    return demo_connection(local_stack)


@pytest.fixture(scope="module")
def impatient_connection(
    local_stack: LocalStack,
    connection: openeo.Connection,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[openeo.Connection]:
    """The demo user's connection to a gateway whose own executor gives a synchronous
    request 2 seconds."""
    assert local_stack.plan is not None
    tmp = tmp_path_factory.mktemp("impatient")
    address = f"127.0.0.1:{free_port()}"
    settings = {
        **local_stack.env,
        **client_env(local_stack.config, local_stack.plan, "executor"),
        "OPENEO_EXECUTOR_LISTEN": address,
        "OPENEO_EXECUTOR_SYNC_TIMEOUT_SECONDS": "2",
        "OPENEO_EXECUTOR_WORKERS": "1",
        "OPENEO_EXECUTOR_SCRATCH_DIR": str(tmp / "scratch"),
    }
    argv = [sys.executable, "-m", "eoplex_executor"]
    executor = ProcessSpec("impatient-executor", argv, grpc_serving(address), env=settings)
    with (
        running(executor, log_path=tmp / "executor.log"),
        another_gateway(
            local_stack,
            "impatient-gateway",
            env={"OPENEO_EXECUTOR_ADDRESS": address},
            log_path=tmp / "gateway.log",
        ) as (port, _),
    ):
        connection = openeo.connect(f"http://127.0.0.1:{port}/openeo/1.2/")
        connection.authenticate_basic(local_stack.demo_user, local_stack.demo_password)
        yield connection


def test_a_synchronous_request_over_the_limit_names_it_and_batch_jobs(
    impatient_connection: openeo.Connection,
) -> None:
    cube = impatient_connection.load_collection(
        S2, spatial_extent=EXTENT, temporal_extent=JUNE, bands=["B04"]
    )
    with pytest.raises(OpenEoApiError) as raised:
        cube.apply(openeo.UDF(SLEEPING)).execute()
    assert raised.value.http_status_code == 408
    assert raised.value.code == "RequestTimeout"
    assert "within 2 seconds" in raised.value.message
    assert "batch job" in raised.value.message


def _june_of_red(connection: openeo.Connection) -> openeo.DataCube:
    return connection.load_collection(
        S2, spatial_extent=EXTENT, temporal_extent=["2022-06-01", "2022-06-11"], bands=["B04"]
    )


def test_a_cube_reduced_over_space_without_save_result_executes_to_json(
    connection: openeo.Connection,
) -> None:
    series = _june_of_red(connection).reduce_dimension("x", "mean").reduce_dimension("y", "mean")
    document = series.execute()
    assert document["dimensions"]["t"]["labels"] == ["2022-06-05T00:00:00Z", "2022-06-10T00:00:00Z"]
    assert "x" not in document["dimensions"]


def test_a_result_without_save_result_that_no_default_format_holds_says_so(
    connection: openeo.Connection,
) -> None:
    cube = _june_of_red(connection).add_dimension(name="other", label="a", type="other")
    with pytest.raises(OpenEoApiError) as raised:
        cube.execute()
    assert raised.value.http_status_code == 400
    assert raised.value.code == "ProcessGraphInvalid"
    message = raised.value.message
    assert message.startswith(
        "The process graph has no save_result, and its result cannot be returned in the "
        "default format GTiff: "
    )
    assert "Add save_result with a suitable format" in message


def _load_and_save(**arguments: Any) -> dict[str, Any]:
    """A graph loading the demo collection with `arguments` over the usual ones."""
    load = {"id": S2, "spatial_extent": EXTENT, "temporal_extent": JUNE} | arguments
    return {
        "load": {"process_id": "load_collection", "arguments": load},
        "save": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "load"}, "format": "GTiff"},
            "result": True,
        },
    }


def _invalid(errors: list[dict[str, Any]]) -> list[str]:
    """The messages of `errors`, each a ProcessParameterInvalid."""
    assert {error["code"] for error in errors} <= {"ProcessParameterInvalid"}, errors
    return [error["message"] for error in errors]


def test_validation_names_an_ndvi_band_the_loaded_cube_lacks(
    connection: openeo.Connection,
) -> None:
    cube = connection.load_collection(
        S2, spatial_extent=EXTENT, temporal_extent=JUNE, bands=["B04", "B08"]
    )
    assert cube.ndvi(nir="B08", red="B04").validate() == []
    # The exception ndvi's specification declares, as execution raises it.
    [error] = cube.ndvi(nir="B99").validate()
    assert error["code"] == "NirBandAmbiguous"
    assert error["message"] == (
        "The NIR band can't be resolved, please specify the specific NIR band name. Process "
        "'ndvi', parameter 'nir': the cube has no band 'B99'; available bands: B04, B08"
    )
    with pytest.raises(OpenEoApiError) as raised:
        cube.ndvi(nir="B99").download(format="GTiff")
    assert (raised.value.code, raised.value.message) == (error["code"], error["message"])


def test_validation_names_a_band_and_a_property_the_collection_lacks(
    connection: openeo.Connection,
) -> None:
    ascending = {
        "process_graph": {
            "eq": {
                "process_id": "eq",
                "arguments": {"x": {"from_parameter": "value"}, "y": "ascending"},
                "result": True,
            }
        }
    }
    graph = _load_and_save(bands=["B04", "B99"], properties={"sat:orbit_state": ascending})
    band, prop = _invalid(connection.validate_process_graph({"process_graph": graph}))
    assert band.endswith(
        f"band 'B99' does not exist in collection '{S2}'; available: B02, B03, B04, B08, SCL"
    )
    assert f"no item of collection '{S2}' has the property 'sat:orbit_state'" in prop


@pytest.mark.parametrize(
    "extents",
    [
        {"temporal_extent": ["2023-06-01", "2023-07-01"]},
        {"spatial_extent": {"west": 5.0, "south": 40.0, "east": 5.1, "north": 40.1}},
    ],
)
def test_validation_refuses_extents_outside_the_collection(
    connection: openeo.Connection, extents: dict[str, Any]
) -> None:
    process = {"process_graph": _load_and_save(**extents)}
    [error] = connection.validate_process_graph(process)
    assert error["code"] == "NoDataAvailable"
    assert error["message"].startswith("There is no data available for the given extents. ")
    assert f"of collection '{S2}'" in error["message"]
