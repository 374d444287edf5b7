"""Run one process graph to its result files: a batch job (every file) or a synchronous
request (`POST /result`, exactly one file).

The graph is validated before it reads any data. A graph without `save_result`
still answers with a file: its result is saved in a default format, a raster cube
as GeoTIFF and anything else as JSON.
"""

from collections.abc import Mapping
from typing import Any

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_common.process_graph import validate_process
from eoplex_executor.engine.cube import RasterCube
from eoplex_executor.engine.environment import Environment, ResultFile
from eoplex_executor.engine.graph import call_process, execute


def default_format(value: Any) -> str:
    """The format a result without `save_result` is saved in: GTiff for a raster cube, else JSON."""
    return "GTiff" if isinstance(value, RasterCube) else "JSON"


def run_process(process: Mapping[str, Any], env: Environment) -> list[ResultFile]:
    """Validate and run `process` (`{"process_graph": ...}`); every file it wrote.

    Raises the first error of `validate_process` (ProcessGraphMissing,
    ProcessGraphInvalid, ProcessUnsupported, ProcessParameter*, ...) and any error of
    the processes themselves.
    """
    problems = validate_process(process, user_process=env.user_processes, limits=env.limits.graph)
    if problems:
        raise problems[0]
    value = execute(process, env)
    if not env.saved:
        arguments = {"data": value, "format": default_format(value)}
        call_process("save_result", None, arguments, env)
    return env.outputs


def run_to_file(process: Mapping[str, Any], env: Environment) -> ResultFile:
    """`run_process` for a synchronous request: the one file it wrote.

    Raises what `run_process` raises, and ProcessParameterInvalid of `save_result` when
    the graph wrote more than one file, which only a batch job can return.
    """
    run_process(process, env)
    if len(env.outputs) > 1:
        raise ProcessParameterInvalid(
            process="save_result",
            parameter="format",
            reason=f"the process wrote {len(env.outputs)} files, but synchronous processing "
            "returns exactly one. Save one result in a single-file format, or run the "
            "process as a batch job.",
        )
    return env.outputs[0]
