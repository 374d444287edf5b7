"""Run one process graph to one result file: what a synchronous request (`POST /result`) does.

The graph is validated before it reads any data. A graph without `save_result`
still answers with a file: its result is saved in a default format, a raster cube
as GeoTIFF and anything else as JSON.
"""

from collections.abc import Mapping
from typing import Any

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_common.process_graph import validate_process
from eoplex_executor.cube import RasterCube
from eoplex_executor.environment import Environment, ResultFile
from eoplex_executor.graph import call_process, execute


def default_format(value: Any) -> str:
    """The format a result without `save_result` is saved in: GTiff for a raster cube, else JSON."""
    return "GTiff" if isinstance(value, RasterCube) else "JSON"


def run_to_file(process: Mapping[str, Any], env: Environment) -> ResultFile:
    """Validate and run `process` (`{"process_graph": ...}`); the one file it wrote.

    Raises the first error of `validate_process` (ProcessGraphMissing,
    ProcessGraphInvalid, ProcessUnsupported, ProcessParameter*, ...), any error of the
    processes themselves, and ProcessParameterInvalid of `save_result` when the graph
    wrote more than one file, which only a batch job can return.
    """
    problems = validate_process(process, user_process=env.user_processes)
    if problems:
        raise problems[0]
    value = execute(process, env)
    if not env.outputs:
        arguments = {"data": value, "format": default_format(value)}
        call_process("save_result", None, arguments, env)
    if len(env.outputs) > 1:
        raise ProcessParameterInvalid(
            process="save_result",
            parameter="format",
            reason=f"the process wrote {len(env.outputs)} files, but synchronous processing "
            "returns exactly one. Save one result in a single-file format, or run the "
            "process as a batch job.",
        )
    return env.outputs[0]
