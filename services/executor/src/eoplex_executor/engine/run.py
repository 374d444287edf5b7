"""Run one process graph to its result files: a batch job (every file) or a synchronous
request (`POST /result`, exactly one file).

The graph is validated before it reads any data. A graph without `save_result`
still answers with a file: its result is saved in a default format, a raster cube
with x and y as GeoTIFF and anything else (numbers, arrays, a time series of a
cube reduced over space, vector cubes) as JSON.
"""

from collections.abc import Mapping
from typing import Any

from eoplex_common.errors import FormatUnsuitable, ProcessGraphInvalid, ProcessParameterInvalid
from eoplex_common.process_graph import validate_process
from eoplex_executor.engine.cube import RasterCube
from eoplex_executor.engine.environment import Environment, ResultFile
from eoplex_executor.engine.graph import call_process, execute


def default_format(value: Any) -> str:
    """The format a result without `save_result` is saved in: GTiff for a raster cube with
    the spatial dimensions x and y, else JSON."""
    is_image = isinstance(value, RasterCube) and {"x", "y"} <= set(value.dims)
    return "GTiff" if is_image else "JSON"


def save_by_default(value: Any, env: Environment) -> None:
    """Save the result of a graph that has no `save_result` in its `default_format`.

    Raises ProcessGraphInvalid when that format cannot hold the result, in the terms of
    the graph the user wrote: it has no `save_result`, and which format to add.
    """
    format_name = default_format(value)
    try:
        call_process("save_result", None, {"data": value, "format": format_name}, env)
    except (FormatUnsuitable, ProcessParameterInvalid) as error:
        if error.params.get("process") != "save_result":
            raise
        raise ProcessGraphInvalid(
            "The process graph has no save_result, and its result cannot be returned in the "
            f"default format {format_name}: {error.params.get('reason', error.message)} Add "
            "save_result with a suitable format (GET /file_formats lists them)."
        ) from None


def run_process(process: Mapping[str, Any], env: Environment) -> list[ResultFile]:
    """Validate and run `process` (`{"process_graph": ...}`); every file it wrote.

    Raises the first error of `validate_process` (ProcessGraphMissing,
    ProcessGraphInvalid, ProcessUnsupported, ProcessParameter*, ...), any error of the
    processes themselves, and ProcessGraphInvalid of `save_by_default`.
    """
    problems = validate_process(process, user_process=env.user_processes, limits=env.limits.graph)
    if problems:
        raise problems[0]
    value = execute(process, env)
    if not env.saved:
        save_by_default(value, env)
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
