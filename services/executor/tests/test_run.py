"""run_to_file: one process graph to one result file, validated first, saved by default."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

from eoplex_common.errors import (
    ProcessGraphComplexity,
    ProcessGraphInvalid,
    ProcessGraphMissing,
    ProcessParameterInvalid,
    ProcessUnsupported,
)
from eoplex_executor.engine.environment import Environment, Limits
from eoplex_executor.engine.run import default_format, run_to_file
from eoplex_executor.engine.settings import ExecutorSettings
from services.executor.tests.catalog import write_s2
from services.executor.tests.cubes import make_cube, make_environment

SIZE = 8


def node(process_id: str, result: bool = False, **arguments: Any) -> dict[str, Any]:
    return {"process_id": process_id, "arguments": arguments, "result": result}


def test_pure_math_graph_without_save_result_is_saved_as_json(tmp_path: Path) -> None:
    graph = {
        "a": node("add", x=1.5, y=2),
        "m": node("multiply", result=True, x={"from_node": "a"}, y=4),
    }
    env = make_environment(tmp_path)
    result = run_to_file({"process_graph": graph}, env)
    assert result.media_type == "application/json"
    assert result.path.parent == tmp_path
    assert json.loads(result.path.read_text()) == (1.5 + 2) * 4
    assert env.outputs == [result]


def test_graph_with_its_own_save_result_is_not_saved_again(tmp_path: Path) -> None:
    graph = {
        "a": node("subtract", x=10, y=3),
        "s": node("save_result", result=True, data={"from_node": "a"}, format="json"),
    }
    env = make_environment(tmp_path)
    result = run_to_file({"process_graph": graph}, env)
    assert json.loads(result.path.read_text()) == 7
    assert len(env.outputs) == 1


def test_raster_cube_result_is_saved_as_geotiff(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    values = np.arange(SIZE * SIZE, dtype=np.uint16).reshape(SIZE, SIZE) + 1
    catalog = write_s2(folder, {("20220601", "B04"): values})
    graph = {
        "load": node("load_collection", id="S2", spatial_extent=None, temporal_extent=None),
        "scale": node(
            "apply",
            result=True,
            data={"from_node": "load"},
            process={
                "process_graph": {
                    "m": node("multiply", result=True, x={"from_parameter": "x"}, y=2)
                }
            },
        ),
    }
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = Environment(catalog=catalog, scratch_dir=scratch, limits=Limits(single_file=True))
    result = run_to_file({"process_graph": graph}, env)
    assert result.media_type.startswith("image/tiff")
    with rasterio.open(result.path) as dataset:
        np.testing.assert_array_equal(dataset.read(1), values * 2.0)
    assert env.pixels == SIZE * SIZE


def test_default_format_by_result_type() -> None:
    cube = make_cube()
    assert default_format(cube) == "GTiff"
    assert default_format(cube.with_data(cube.data.mean(["x", "y"]))) == "JSON"
    assert default_format(3.5) == "JSON"
    assert default_format([1, None]) == "JSON"


def _environment_with_s2(tmp_path: Path) -> Environment:
    """A synchronous request's environment whose catalog holds one 8 by 8 band of S2."""
    folder = tmp_path / "data"
    folder.mkdir()
    values = np.arange(SIZE * SIZE, dtype=np.uint16).reshape(SIZE, SIZE) + 1
    catalog = write_s2(folder, {("20220601", "B04"): values})
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return Environment(catalog=catalog, scratch_dir=scratch, limits=Limits(single_file=True))


def _graph_after_load(process_id: str, **arguments: Any) -> dict[str, Any]:
    """`load_collection` of S2, then `process_id` with `arguments` as the result node."""
    return {
        "process_graph": {
            "load": node("load_collection", id="S2", spatial_extent=None, temporal_extent=None),
            "last": node(process_id, result=True, data={"from_node": "load"}, **arguments),
        }
    }


def test_cube_reduced_over_space_without_save_result_is_saved_as_json(tmp_path: Path) -> None:
    mean = {"process_graph": {"m": node("mean", result=True, data={"from_parameter": "data"})}}
    graph = _graph_after_load("reduce_dimension", dimension="x", reducer=mean)
    result = run_to_file(graph, _environment_with_s2(tmp_path))
    assert result.media_type == "application/json"
    assert "x" not in json.loads(result.path.read_text())["dimensions"]


def test_result_the_default_format_cannot_hold_names_the_missing_save_result(
    tmp_path: Path,
) -> None:
    graph = _graph_after_load("add_dimension", name="other", label="a")
    with pytest.raises(ProcessGraphInvalid) as raised:
        run_to_file(graph, _environment_with_s2(tmp_path))
    message = raised.value.message
    assert message.startswith(
        "The process graph has no save_result, and its result cannot be returned in the "
        "default format GTiff: "
    )
    assert "drop other" in message


@pytest.mark.parametrize(
    ("process", "error"),
    [
        ({"parameters": []}, ProcessGraphMissing),
        ({"process_graph": {"a": node("add", x=1, y=2)}}, ProcessGraphInvalid),
        ({"process_graph": {"a": node("no_such_process", result=True)}}, ProcessUnsupported),
    ],
)
def test_validation_errors_are_raised_before_anything_runs(
    tmp_path: Path, process: dict[str, Any], error: type[Exception]
) -> None:
    env = make_environment(tmp_path)
    with pytest.raises(error):
        run_to_file(process, env)
    assert env.outputs == []
    assert list(tmp_path.iterdir()) == []


def test_two_files_point_to_batch_jobs(tmp_path: Path) -> None:
    graph = {
        "a": node("add", x=1, y=2),
        "s1": node("save_result", data={"from_node": "a"}, format="JSON"),
        "s2": node("save_result", result=True, data={"from_node": "a"}, format="JSON"),
    }
    with pytest.raises(ProcessParameterInvalid, match="batch job"):
        run_to_file({"process_graph": graph}, make_environment(tmp_path))


def test_graph_limits_of_the_processes_service_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The executor reads the processes service's limit variables, so a graph that
    /validation refuses as too large is refused here too."""
    monkeypatch.setenv("OPENEO_PROCESSES_MAX_GRAPH_NODES", "2")
    limits = ExecutorSettings().graph_limits()
    assert limits.max_nodes == 2
    graph = {
        "a": {"process_id": "add", "arguments": {"x": 1, "y": 2}},
        "b": {"process_id": "add", "arguments": {"x": {"from_node": "a"}, "y": 2}},
        "c": {"process_id": "add", "arguments": {"x": {"from_node": "b"}, "y": 2}, "result": True},
    }
    env = Environment(catalog=None, scratch_dir=tmp_path, limits=Limits(graph=limits))
    with pytest.raises(ProcessGraphComplexity):
        run_to_file({"process_graph": graph}, env)
    env = Environment(catalog=None, scratch_dir=tmp_path)
    assert json.loads(run_to_file({"process_graph": graph}, env).path.read_text()) == 7
