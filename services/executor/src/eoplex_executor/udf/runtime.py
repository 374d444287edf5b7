"""A UDF's code run on one chunk through the `openeo.udf` API, with its errors as openEO
errors. Light to import (no process registry): the UDF process imports it at start.
"""

import ast
import errno
import inspect
import logging
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import xarray as xr

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.udf.sandbox import UdfLimits

PROCESS = "run_udf"
# The source name compiled UDF code carries; openeo.udf executes it as "<string>".
UDF_FILENAME = "<string>"
ENTRY_NAMES = ("apply_datacube", "apply_hypercube", "apply_timeseries")
ENTRY_POINTS = (
    "apply_datacube(cube, context) returning an xarray.DataArray",
    "apply_timeseries(series, context) returning a pandas.Series",
    "a function taking one UdfData argument",
)

# openeo.udf logs every call it dispatches at INFO: once per chunk would flood the job log.
logging.getLogger("openeo.udf.run_code").setLevel(logging.WARNING)


@dataclass(frozen=True)
class UdfProgram:
    """Checked UDF source code, run on one chunk at a time through `openeo.udf`."""

    code: str
    # The UDF process's limits, to name the one a UDF exceeded.
    limits: UdfLimits | None = None

    @classmethod
    def compile(cls, code: str) -> "UdfProgram":
        """Parse the code (without running it) so a syntax error is reported before any data
        is read; ProcessParameterInvalid naming the line otherwise."""
        try:
            compile(code, UDF_FILENAME, "exec")
        except (SyntaxError, ValueError) as error:
            where = ""
            if isinstance(error, SyntaxError) and error.lineno:
                where = f" on line {error.lineno}: {(error.text or '').strip()}"
            raise ProcessParameterInvalid(
                process=PROCESS,
                parameter="udf",
                reason=f"the UDF code has a syntax error{where} ({error.__class__.__name__}: "
                f"{getattr(error, 'msg', error)})",
            ) from None
        return cls(code)

    @property
    def entry_point(self) -> str:
        """The name of the UDF's entry point, as its top-level definitions tell (the UDF's
        name in the job's log)."""
        defined = [
            node.name for node in ast.parse(self.code).body if isinstance(node, ast.FunctionDef)
        ]
        named = [name for name in ENTRY_NAMES if name in defined]
        return (named or defined or ["(no function)"])[0]

    def run(self, block: xr.DataArray, context: Any) -> xr.DataArray:
        """The UDF's result for one chunk, as a DataArray; ProcessParameterInvalid when the
        UDF raises, defines no entry point or returns something else."""
        from openeo.udf import OpenEoUdfException, UdfData, XarrayDataCube, run_udf_code
        from openeo.udf.run_code import load_module_from_string

        try:
            # Cached per code text by openeo.udf, so this runs the module once per process.
            module = load_module_from_string(self.code)
        except (Exception, SystemExit) as error:
            raise self._failure(error, None) from None
        _annotate_entry_points(module)
        data = UdfData(datacube_list=[XarrayDataCube(block)], user_context=context)
        try:
            result = run_udf_code(self.code, data)
        except OpenEoUdfException as error:
            if str(error) == "No UDF found.":
                reason = f"the UDF defines none of the entry points: {'; '.join(ENTRY_POINTS)}"
            elif _udf_frames(error.__traceback__, module, []):
                raise self._failure(error, module) from None
            else:
                # Raised by openeo.udf on what the UDF returned.
                reason = f"the UDF must return an xarray.DataArray (or XarrayDataCube): {error}"
            raise ProcessParameterInvalid(process=PROCESS, parameter="udf", reason=reason) from None
        except (Exception, SystemExit) as error:
            raise self._failure(error, module) from None
        cubes = result.get_datacube_list() or []
        if len(cubes) != 1 or not isinstance(cubes[0], XarrayDataCube):
            got = ", ".join(type(cube).__name__ for cube in cubes) or "no data cube"
            raise ProcessParameterInvalid(
                process=PROCESS,
                parameter="udf",
                reason=f"the UDF must return one xarray.DataArray (or XarrayDataCube), not {got}",
            )
        array = cubes[0].get_array()
        if not isinstance(array, xr.DataArray):
            raise ProcessParameterInvalid(
                process=PROCESS,
                parameter="udf",
                reason=f"the UDF must return an xarray.DataArray, not {type(array).__name__}",
            )
        return array

    def _failure(
        self, error: BaseException, module: Mapping[str, Any] | None
    ) -> ProcessParameterInvalid:
        """The UDF's exception with the traceback trimmed to the UDF's own frames."""
        frames = _udf_frames(error.__traceback__, module, self.code.splitlines())
        trace = (
            "Traceback (UDF frames, most recent call last):\n" + "\n".join(frames)
            if frames
            else "(raised by the UDF runtime while handling the UDF's result)"
        )
        summary = "".join(traceback.format_exception_only(error)).strip()
        exceeded = _exceeded_limit(error, self.limits) if self.limits else None
        failed = f"the UDF exceeded its {exceeded} ({summary})" if exceeded else summary
        return ProcessParameterInvalid(
            process=PROCESS, parameter="udf", reason=f"the UDF failed: {failed}\n{trace}"
        )


def _annotate_entry_points(module: Mapping[str, Any]) -> None:
    """Give the UDF's entry points the annotations of the UDF API's documentation.

    `openeo.udf` recognises an entry point by its name and its annotations, but the UDF API
    documents them by name (`apply_datacube(cube, context)`) and users leave annotations out,
    or write ones it cannot resolve (`xr.DataArray`, postponed annotations). Here the name
    decides: `apply_datacube` gets an `XarrayDataCube` if it names one and an
    `xarray.DataArray` otherwise, `apply_hypercube` an `XarrayDataCube`, `apply_timeseries`
    a `pandas.Series`, for its data and its result.
    """
    import pandas
    from openeo.udf import XarrayDataCube

    for name, data in (("apply_datacube", "cube"), ("apply_hypercube", "cube")):
        function = module.get(name)
        if not inspect.isfunction(function):
            continue
        if {data, "context"} - set(inspect.signature(function).parameters):
            continue
        given = function.__annotations__.get(data)
        wrapped = name == "apply_hypercube" or "DataCube" in str(getattr(given, "__name__", given))
        kind = XarrayDataCube if wrapped else xr.DataArray
        function.__annotations__.update({data: kind, "return": kind})
    function = module.get("apply_timeseries")
    if inspect.isfunction(function) and {"series", "context"} <= set(
        inspect.signature(function).parameters
    ):
        function.__annotations__.update({"series": pandas.Series, "return": pandas.Series})


def _exceeded_limit(error: BaseException, limits: UdfLimits) -> str | None:
    """Which of `limits` `error` means the UDF reached, if any."""
    if isinstance(error, MemoryError) and limits.memory_bytes:
        return f"memory limit of {limits.memory_bytes // 2**20} MiB"
    starting = isinstance(error, RuntimeError) and "can't start new thread" in str(error)
    if (isinstance(error, BlockingIOError) and error.errno == errno.EAGAIN) or starting:
        return f"limit of {limits.tasks} processes and threads"
    if isinstance(error, OSError) and error.errno == errno.EFBIG and limits.file_bytes:
        return f"file-size limit of {limits.file_bytes // 2**20} MiB"
    return None


def _udf_frames(
    tb: TracebackType | None, module: Mapping[str, Any] | None, lines: Sequence[str]
) -> list[str]:
    """`File "<udf>", line N, in f` and the line's code for every frame of the UDF's code:
    functions whose globals are the UDF module, or the module's own top level."""
    frames = []
    while tb is not None:
        frame = tb.tb_frame
        ours = frame.f_code.co_filename == UDF_FILENAME and (
            frame.f_globals is module if module is not None else True
        )
        if ours:
            line = lines[tb.tb_lineno - 1].strip() if 0 < tb.tb_lineno <= len(lines) else ""
            frames.append(f'  File "<udf>", line {tb.tb_lineno}, in {frame.f_code.co_name}')
            if line:
                frames.append(f"    {line}")
        tb = tb.tb_next
    return frames
