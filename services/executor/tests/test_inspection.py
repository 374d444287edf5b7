"""inspect: passes data through unchanged, logs a summary without computing, and reaches a
batch job's log events (run-job against real NATS and S3, as in test_batch)."""

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.processes.inspection import forwarded_logs, inspect
from services.executor.tests import test_batch
from services.executor.tests.catalog import LocalCatalog
from services.executor.tests.cubes import (
    child_graph,
    graph_on_cube,
    make_cube,
    make_environment,
    run_graph,
)
from services.executor.tests.test_batch import SAVE_GTIFF, Harness, _load, _logs

# The fixtures of run-job's tests (fake jobs service, real NATS and S3, a small catalog).
harness = test_batch.harness
written = test_batch.written


def test_inspect_returns_its_data_and_logs_at_the_level(caplog: pytest.LogCaptureFixture) -> None:
    cube = make_cube()
    with caplog.at_level(logging.DEBUG, logger="eoplex_executor.processes.inspection"):
        assert inspect(cube, message="after load", code="Load", level="warning") is cube
        assert inspect(42, level="debug") == 42
    warning, debug = caplog.records
    assert warning.levelno == logging.WARNING and warning.getMessage().startswith(
        "Load: after load"
    )
    assert "'size': 3" in warning.getMessage() and "B08" in warning.getMessage()
    assert debug.levelno == logging.DEBUG and debug.getMessage() == "User 42"


def test_inspect_forwards_entries_with_a_summary_that_needs_no_computation() -> None:
    def explode(block: np.ndarray) -> np.ndarray:
        raise AssertionError("inspect computed the cube")

    cube = make_cube()
    cube = cube.with_data(cube.data.copy(data=cube.data.data.map_blocks(explode, dtype=np.float32)))
    entries: list[tuple[str, str, Any]] = []
    with forwarded_logs(lambda *entry: entries.append(entry)):
        inspect(cube, message="cube", level="error")
        inspect(list(range(30)), message="list")
    inspect("after", message="not forwarded")
    (level, message, data), (_, _, items) = entries
    assert (level, message) == ("error", "User: cube")
    assert data["dimensions"]["t"] == {
        "type": "temporal",
        "size": 3,
        "labels": ["2022-06-01T00:00:00Z", "2022-06-06T00:00:00Z", "2022-06-11T00:00:00Z"],
    }
    assert data["crs"] == "EPSG:32632" and data["dtype"] == "float32"
    assert items[:10] == list(range(10)) and items[10] == "... 20 more"


def test_inspect_inside_a_child_process_and_unknown_levels(tmp_path: Path) -> None:
    values = np.arange(60, dtype=np.float32).reshape(3, 2, 2, 5)
    look = child_graph("inspect", data={"from_parameter": "x"}, message="x")
    graph = graph_on_cube("apply", process=look)
    entries: list[tuple[str, str, Any]] = []
    with forwarded_logs(lambda *entry: entries.append(entry)):
        result = run_graph(graph, make_environment(tmp_path), cube=make_cube(values, shape=(2, 5)))
    np.testing.assert_array_equal(result.data.values, values)
    assert entries[0][2]["type"] == "array"
    assert entries[0][2]["dimensions"] == {"t": 3, "bands": 2, "y": 2, "x": 5}
    with pytest.raises(ProcessParameterInvalid):
        inspect(1, level="verbose")


async def test_inspect_entries_reach_the_batch_job_log(
    harness: Harness, written: tuple[LocalCatalog, dict[Any, Any]]
) -> None:
    catalog, _ = written
    look = {
        "process_id": "inspect",
        "arguments": {
            "data": {"from_node": "load"},
            "message": "loaded",
            "code": "Checkpoint",
            "level": "warning",
        },
    }
    save = {**SAVE_GTIFF, "arguments": {**SAVE_GTIFF["arguments"], "data": {"from_node": "look"}}}
    job_id = harness.jobs.add({"process_graph": {"load": _load(), "look": look, "save": save}})

    assert await harness.run(job_id, catalog) == 0

    logs = _logs(await harness.events(job_id))
    messages = [event.message for event in logs]
    assert "Checkpoint: loaded" in messages
    # In order: after the start, before the summary written once the computation is done.
    position = messages.index("Checkpoint: loaded")
    assert messages[0] == f"job {job_id} started"
    assert messages[position + 1].startswith("read ")
    entry = logs[position]
    assert entry.level == "warning"
    assert entry.data["dimensions"]["bands"]["labels"] == ["B04", "B08"]
