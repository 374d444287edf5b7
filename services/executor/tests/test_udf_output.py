"""What a UDF prints and inspects reaches the execution's log: in order, bounded per chunk and
per execution, with the UDF's name; and UDF entry points are found by name without
annotations."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.processes import udf as udf_process
from eoplex_executor.processes.inspection import forwarded_logs
from eoplex_executor.udf.output import ENTRIES_PER_CHUNK, TEXT_LIMIT, UdfLogEntry
from eoplex_executor.udf.process import UdfProcesses
from services.executor.tests.cubes import make_cube, make_environment, run_graph

CHATTY = """
from openeo.udf import inspect

def apply_datacube(cube, context):
    print("scaling", cube.shape)
    inspect(data=cube, message="the chunk", code="Check", level="warning")
    print("x" * 5000)
    for index in range(30):
        inspect(message=str(index), level="debug")
    return cube * 2
"""


def test_printed_text_and_inspect_come_back_in_order_and_bounded(tmp_path: Path) -> None:
    processes = UdfProcesses(tmp_path, limit=1)
    entries: list[UdfLogEntry] = []
    block = xr.DataArray(np.ones((2, 3)), dims=("y", "x"), coords={"x": [10, 20, 30]})
    try:
        result = processes.run(CHATTY, block, {}, output=entries.append)
    finally:
        processes.close()
    np.testing.assert_array_equal(result.values, 2 * np.ones((2, 3)))
    assert entries[0] == UdfLogEntry("info", "scaling (2, 3)")
    assert (entries[1].level, entries[1].message) == ("warning", "Check: the chunk")
    assert entries[1].data["dimensions"] == {"y": 2, "x": 3}
    assert entries[1].data["labels"] == {"x": [10, 20, 30]}
    # 5000 characters printed: entries of TEXT_LIMIT characters at most.
    assert [len(entry.message) for entry in entries[2:5]] == [TEXT_LIMIT, TEXT_LIMIT, 1000]
    assert entries[5] == UdfLogEntry("debug", "User: 0")
    # At most ENTRIES_PER_CHUNK, then how many were left out.
    assert len(entries) == ENTRIES_PER_CHUNK + 1
    assert entries[-1].level == "warning"
    assert entries[-1].message.startswith(f"{5 + 30 - ENTRIES_PER_CHUNK} more entries")


def test_output_of_a_failing_udf_is_kept_and_the_name_and_job_bound_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(udf_process, "OUTPUT_ENTRIES", 3)
    code = "def apply_datacube(cube, context):\n    print('before')\n    print('after')\n"
    code += "    raise ValueError('stop')\n"
    graph = _apply(code)
    logged: list[tuple[str, str, Any]] = []
    with (
        forwarded_logs(lambda *entry: logged.append(entry)),
        pytest.raises(ProcessParameterInvalid, match="ValueError: stop"),
    ):
        run_graph(graph, make_environment(tmp_path), cube=make_cube())
    assert logged == [("info", "UDF apply_datacube: before\nafter", None)]

    chatty = "def apply_datacube(cube, context):\n"
    chatty += "    for i in range(10):\n        print(i)\n        inspect(message='')\n"
    chatty += "    return cube\n"
    logged.clear()
    with forwarded_logs(lambda *entry: logged.append(entry)):
        env = make_environment(tmp_path)
        run_graph(_apply("from openeo.udf import inspect\n" + chatty), env, cube=make_cube())
    assert [message for _, message, _ in logged] == [
        "UDF apply_datacube: 0",
        "UDF apply_datacube: User",
        "UDF apply_datacube: 1",
        "UDF apply_datacube: further output left out (at most 3 entries of UDF output per "
        "job or request)",
    ]


def _apply(code: str) -> dict[str, Any]:
    return {
        "apply": {
            "process_id": "run_udf",
            "arguments": {"data": {"from_parameter": "cube"}, "udf": code, "runtime": "Python"},
            "result": True,
        }
    }


@pytest.mark.parametrize(
    "code",
    [
        "def apply_datacube(cube, context):\n    return cube * 2\n",
        "from __future__ import annotations\nimport xarray as xr\n\n"
        "def apply_datacube(cube: xr.DataArray, context: dict) -> xr.DataArray:\n"
        "    return cube * 2\n",
        "def apply_hypercube(cube, context):\n    return XarrayDataCube(cube.get_array() * 2)\n",
        "def apply_timeseries(series, context):\n    return series * 2\n",
    ],
    ids=["unannotated", "postponed-annotations", "hypercube", "timeseries"],
)
def test_entry_points_are_found_by_name(tmp_path: Path, code: str) -> None:
    cube = make_cube()
    result = run_graph(_apply(code), make_environment(tmp_path), cube=cube)
    np.testing.assert_allclose(result.data.values, cube.data.values * 2)
