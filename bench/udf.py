"""What running UDF code in its own confined processes costs (`eoplex_executor.udf.process`).

In this process, on an in-memory cube of 6 dates x 2 bands x 2048 x 2048 float32 in
chunks of 1024 x 1024 (the engine's default threads): `apply` with a UDF that rescales
(`cube * 0.5 + 3`) against `apply` with the same arithmetic as openEO processes, each
computed to a numpy array, the repetitions interleaved; and the time one UDF process
takes from its start to its first answer. The results must be equal.
"""

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import dask.array
import numpy as np
import xarray as xr

RESCALE = """
import xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    return cube * 0.5 + 3
"""


def _graphs() -> dict[str, dict[str, Any]]:
    udf = {
        "process_graph": {
            "udf": {
                "process_id": "run_udf",
                "arguments": {"data": {"from_parameter": "x"}, "udf": RESCALE, "runtime": "Python"},
                "result": True,
            }
        }
    }
    native = {
        "process_graph": {
            "mul": {
                "process_id": "multiply",
                "arguments": {"x": {"from_parameter": "x"}, "y": 0.5},
            },
            "add": {
                "process_id": "add",
                "arguments": {"x": {"from_node": "mul"}, "y": 3},
                "result": True,
            },
        }
    }
    return {
        name: {
            "process_graph": {
                "apply": {
                    "process_id": "apply",
                    "arguments": {"data": {"from_parameter": "cube"}, "process": child},
                    "result": True,
                }
            }
        }
        for name, child in (("udf", udf), ("native", native))
    }


def _cube() -> Any:
    from eoplex_executor.engine.cube import BANDS, SPATIAL, TEMPORAL, RasterCube

    shape = (6, 2, 2048, 2048)
    values = np.random.default_rng(1).random(shape, dtype=np.float32) * 10000
    array = xr.DataArray(
        dask.array.from_array(values, chunks=(1, 1, 1024, 1024)),
        dims=("t", "bands", "y", "x"),
        coords={
            "t": np.arange("2022-06-01", "2022-06-07", dtype="datetime64[D]").astype(
                "datetime64[ns]"
            ),
            "bands": ["B04", "B08"],
            "y": 5155000.0 - 10.0 * (np.arange(shape[2]) + 0.5),
            "x": 675000.0 + 10.0 * (np.arange(shape[3]) + 0.5),
        },
    )
    types = {"t": TEMPORAL, "bands": BANDS, "y": SPATIAL, "x": SPATIAL}
    return RasterCube(data=array, crs="EPSG:32632", dimension_types=types)


def measure_udf(repetitions: int = 3) -> dict[str, Any]:
    """Median seconds of each side (graph built and computed), their ratio, the start of
    one UDF process, and whether the results agree."""
    import eoplex_executor.processes  # noqa: F401  (registers every process, as the entry points do)
    from eoplex_executor.engine.environment import Environment
    from eoplex_executor.engine.graph import execute
    from eoplex_executor.udf.process import UdfProcesses

    cube, graphs = _cube(), _graphs()
    seconds: dict[str, list[float]] = {"udf": [], "native": []}
    results: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="eoplex-bench-udf-") as scratch:
        for _ in range(repetitions):
            for name, graph in graphs.items():
                env = Environment(catalog=None, scratch_dir=Path(scratch))  # type: ignore[arg-type]
                try:
                    started = time.perf_counter()
                    results[name] = np.asarray(execute(graph, env, cube=cube).data.values)
                    seconds[name].append(time.perf_counter() - started)
                finally:
                    env.close()
        starts = []
        block = xr.DataArray(np.ones((1, 8, 8), dtype=np.float32), dims=("t", "y", "x"))
        for _ in range(repetitions):
            processes = UdfProcesses(Path(scratch), limit=1)
            try:
                started = time.perf_counter()
                processes.run(RESCALE, block, None)
                starts.append(time.perf_counter() - started)
            finally:
                processes.close()
    udf, native = statistics.median(seconds["udf"]), statistics.median(seconds["native"])
    return {
        "udf_seconds": udf,
        "native_seconds": native,
        "ratio": udf / native,
        "process_start_seconds": statistics.median(starts),
        "runs": seconds,
        "equal": bool(np.allclose(results["udf"], results["native"], rtol=1e-6)),
        "megabytes": cube.data.nbytes / 1024**2,
    }
