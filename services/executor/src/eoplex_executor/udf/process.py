"""UDF code runs in processes of its own, apart from the executor.

The executor's processes hold what no UDF may have: the S3 keys (which reach every
user's results), connections to the internal services, other requests' data (a
synchronous worker serves many users in turn). So run_udf never runs UDF code in them.
Each execution (one synchronous request, one batch job) starts its own UDF processes
when its first chunk needs one, and stops them when it ends (`UdfProcesses.close`):

- started as `python -m eoplex_executor.udf.confined` with a minimal environment (no
  variable of the executor's), in a session and a directory of its own under the
  execution's scratch directory, with no file descriptor but its two pipes, from one
  thread of the executor that lives as long as it does (`_spawner`);
- confined before any UDF code runs (`sandbox.confine_udf_process`: its own user, no
  socket, no privileges, no other process, no file beyond its directory and the
  system's, within `UdfLimits`), and killed by the kernel when the executor ends;
- recorded in the execution's scratch directory (`scratch.record_udf_group`), so that
  when the execution ends, however it ends, its process group and user are killed,
  including processes the UDF started;
- never reused by another execution, so no user's UDF sees another's data or state.

Where the machine cannot confine UDF processes (`SandboxSupport`), none starts:
run_udf fails with the reason.

The executor sends each chunk (the UDF's code, the chunk and the context) as a pickle,
which the UDF process trusts: it comes from the executor. The answer is untrusted, so
it is no pickle: a JSON header (dimensions, shape, data type, labels) and the raw bytes
of the arrays, checked before use (`decode_array`), preceded by what the UDF printed and
inspected as bounded log entries (`eoplex_executor.udf.output`). A UDF error comes back
as the reason of ProcessParameterInvalid, with the UDF's own traceback frames; a UDF
beyond one of its limits says which.

`OPENEO_EXECUTOR_UDF_PROCESSES` bounds the UDF processes of one execution (default: the
dask threads, so every thread can run a chunk).
"""

import json
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import xarray as xr

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.udf.confined import EXIT_UNCONFINED
from eoplex_executor.udf.output import ENTRIES_PER_CHUNK, ChunkOutput, UdfLogEntry
from eoplex_executor.udf.runtime import PROCESS
from eoplex_executor.udf.sandbox import UdfLimits, UdfSandbox
from eoplex_executor.udf.scratch import record_udf_group, stop_udf_group

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">Q")
_MAX_HEADER_BYTES = 1024 * 1024
_MAX_DIMENSIONS = 16
# Data types of values and labels the executor accepts back (no objects, no structures).
_VALUE_KINDS = "biuf"
_LABEL_KINDS = "biufM"
_READY = b"ready"
# The variables a UDF process gets: none of the executor's.
_KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "TZ")

# Where a chunk's printed text and `openeo.udf.inspect` entries go, in the executor.
UdfOutputSink = Callable[[UdfLogEntry], None]


def _invalid(reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=PROCESS, parameter="udf", reason=reason)


# --- frames over pipes ------------------------------------------------------------------


def write_frame(stream: IO[bytes], payload: bytes) -> None:
    """One length-prefixed frame."""
    stream.write(_LENGTH.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def read_frame(stream: IO[bytes], *, limit: int) -> bytes | None:
    """The next frame; None at the end of the stream; ValueError above `limit` bytes or
    when the stream ends inside a frame."""
    prefix = stream.read(_LENGTH.size)
    if not prefix:
        return None
    if len(prefix) != _LENGTH.size:
        raise ValueError("the stream ended inside a frame")
    (length,) = _LENGTH.unpack(prefix)
    if length > limit:
        raise ValueError(f"a frame of {length} bytes, more than the {limit} expected")
    payload = stream.read(length)
    if len(payload) != length:
        raise ValueError("the stream ended inside a frame")
    return payload


# --- the answer of a UDF process: a DataArray without pickle -----------------------------


def encode_array(array: xr.DataArray) -> list[bytes]:
    """A JSON header and the raw bytes of the labels of each dimension that has them, then
    of the values. ValueError for values or labels of another kind than numbers, booleans,
    dates (labels) or strings (labels)."""
    dims = [str(dim) for dim in array.dims]
    values = np.ascontiguousarray(array.values)
    if values.dtype.kind not in _VALUE_KINDS:
        what = "objects" if values.dtype.kind == "O" else f"values of type {values.dtype}"
        raise ValueError(f"{what}, not numbers or booleans")
    labels: list[dict[str, Any]] = []
    buffers: list[bytes] = []
    for dim in dims:
        if dim not in array.coords:
            continue
        coordinate = np.asarray(array.coords[dim].values)
        if coordinate.dtype.kind in _LABEL_KINDS:
            labels.append({"dim": dim, "dtype": coordinate.dtype.str})
            buffers.append(np.ascontiguousarray(coordinate).tobytes())
        else:
            labels.append({"dim": dim, "strings": [str(label) for label in coordinate]})
    name = array.name if isinstance(array.name, str) else None
    header = {
        "dims": dims,
        "shape": list(values.shape),
        "dtype": values.dtype.str,
        "name": name,
        "labels": labels,
    }
    return [json.dumps(header).encode(), *buffers, values.tobytes()]


def _dtype(text: Any, kinds: str) -> np.dtype:
    try:
        dtype = np.dtype(str(text))
    except TypeError:
        raise ValueError(f"an unknown data type {text!r}") from None
    if dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"a data type of {dtype}")
    return dtype


def decode_array(header_bytes: bytes, read_buffer: Any) -> xr.DataArray:
    """The DataArray `encode_array` described, its buffers read with `read_buffer(length)`
    (exactly the length the header implies); ValueError for anything inconsistent."""
    header = json.loads(header_bytes)
    labels = header.get("labels") if isinstance(header, dict) else None
    if not isinstance(header, dict) or not isinstance(labels, list):
        raise ValueError("the header is no object")
    dims, shape = header.get("dims"), header.get("shape")
    if (
        not isinstance(dims, list)
        or not isinstance(shape, list)
        or len(dims) != len(shape)
        or len(dims) > _MAX_DIMENSIONS
        or len(set(map(str, dims))) != len(dims)
        or not all(isinstance(dim, str) for dim in dims)
        or not all(isinstance(size, int) and size >= 0 for size in shape)
    ):
        raise ValueError("inconsistent dimensions")
    sizes = dict(zip(dims, shape, strict=True))
    coords: dict[str, Any] = {}
    for label in labels:
        dim = label.get("dim") if isinstance(label, dict) else None
        if not isinstance(dim, str) or dim not in sizes or dim in coords:
            raise ValueError(f"labels of an unknown dimension {dim!r}")
        if "strings" in label:
            strings = label["strings"]
            if not isinstance(strings, list) or not all(isinstance(s, str) for s in strings):
                raise ValueError("labels that are not strings")
            coords[dim] = np.array(strings, dtype=str)
        else:
            dtype = _dtype(label.get("dtype"), _LABEL_KINDS)
            coords[dim] = np.frombuffer(read_buffer(sizes[dim] * dtype.itemsize), dtype=dtype)
        if len(coords[dim]) != sizes[dim]:
            raise ValueError(f"{len(coords[dim])} labels for {sizes[dim]} values of {dim}")
    dtype = _dtype(header.get("dtype"), _VALUE_KINDS)
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    values = np.frombuffer(read_buffer(count * dtype.itemsize), dtype=dtype).reshape(shape)
    name = header.get("name") if isinstance(header.get("name"), str) else None
    return xr.DataArray(values.copy(), dims=dims, coords=coords, name=name)


# --- the executor's side ----------------------------------------------------------------


_spawners: dict[int, ThreadPoolExecutor] = {}
_spawners_lock = threading.Lock()


def _spawner() -> ThreadPoolExecutor:
    """This process's one thread that starts UDF processes. The kernel kills a UDF process
    when the thread that started it ends (`PR_SET_PDEATHSIG`), and dask's threads may end
    before the execution does; this one lives as long as the process. One per pid: a
    forked worker inherits no thread."""
    with _spawners_lock:
        pid = os.getpid()
        if pid not in _spawners:
            _spawners[pid] = ThreadPoolExecutor(1, thread_name_prefix="udf-spawner")
        return _spawners[pid]


class UdfProcess:
    """One confined UDF process of an execution; `run` one chunk at a time."""

    def __init__(self, scratch_dir: Path, sandbox: UdfSandbox) -> None:
        support = sandbox.support()
        if not support.runs_udfs:
            raise _invalid(support.reason)
        self.limits = sandbox.limits
        self.work_dir = Path(tempfile.mkdtemp(prefix="udf-", dir=scratch_dir))
        self._stderr = (self.work_dir / "stderr.txt").open("wb")
        request_read, self._request = _pipe()
        self._answer, answer_write = _pipe()
        uid_base = sandbox.uid_base if support.separate_users else None
        config = {
            "parent": os.getpid(),
            "uid_base": uid_base,
            "limits": sandbox.limits.as_dict(),
            "unsafe_without_landlock": sandbox.unsafe_without_landlock,
        }
        argv = [sys.executable, "-m", "eoplex_executor.udf.confined"]
        argv += [str(request_read.fileno()), str(answer_write.fileno()), json.dumps(config)]
        self.process = _spawner().submit(self._start, argv, request_read, answer_write).result()
        request_read.close()
        answer_write.close()
        uid = None if uid_base is None else uid_base + self.process.pid
        self._record = record_udf_group(scratch_dir, self.process.pid, uid)
        self._uid = uid
        self._started = False

    def _start(self, argv: list[str], *pipes: IO[bytes]) -> "subprocess.Popen[bytes]":
        return subprocess.Popen(
            argv,
            cwd=self.work_dir,
            env=_udf_environment(self.work_dir),
            stdin=subprocess.DEVNULL,
            stdout=self._stderr,
            stderr=self._stderr,
            pass_fds=tuple(pipe.fileno() for pipe in pipes),
            start_new_session=True,
        )

    def run(
        self, code: str, block: xr.DataArray, context: Any, *, output: UdfOutputSink | None = None
    ) -> xr.DataArray:
        """The UDF's result for `block`, what it printed and inspected passed to `output`
        (if given) first; ProcessParameterInvalid for the UDF's errors and for a UDF process that
        ended or answered nonsense."""
        try:
            if not self._started:
                if read_frame(self._answer, limit=len(_READY)) != _READY:
                    raise self._ended()
                self._started = True
            write_frame(self._request, pickle.dumps((code, block, context), protocol=5))
            header = read_frame(self._answer, limit=_MAX_HEADER_BYTES)
            entries: list[UdfLogEntry] = []
            while header is not None and header.startswith(b"L"):
                entries.append(self._entry(header[1:], count=len(entries)))
                header = read_frame(self._answer, limit=_MAX_HEADER_BYTES)
        except (BrokenPipeError, ValueError):
            raise self._ended() from None
        if output is not None:
            for entry in entries:
                output(entry)
        if header is None:
            raise self._ended()
        if header.startswith(b"E"):
            raise _invalid(header[1:].decode("utf-8", "replace"))

        def read_buffer(length: int) -> bytes:
            payload = read_frame(self._answer, limit=length)
            if payload is None or len(payload) != length:
                raise ValueError(f"expected {length} bytes")
            return payload

        try:
            return decode_array(header[1:], read_buffer)
        except (ValueError, TypeError) as error:
            self.close()
            raise _invalid(f"the UDF's process answered something unreadable: {error}") from None

    def _entry(self, payload: bytes, *, count: int) -> UdfLogEntry:
        """One entry of the UDF's output; beyond what an honest process sends, the UDF
        wrote to the pipe itself: the process is stopped."""
        try:
            if count > ENTRIES_PER_CHUNK:
                raise ValueError(f"more than {ENTRIES_PER_CHUNK + 1} log entries for one chunk")
            return UdfLogEntry.decode(payload)
        except ValueError as error:
            self.close()
            raise _invalid(f"the UDF's process answered something unreadable: {error}") from None

    def _ended(self) -> ProcessParameterInvalid:
        self.close()
        tail = (self.work_dir / "stderr.txt").read_bytes()[-2000:].decode("utf-8", "replace")
        status = self.process.returncode
        reason = _exit_reason(status, self.limits)
        if status == EXIT_UNCONFINED:
            return _invalid(tail.strip() or "the UDF process cannot be confined")
        return _invalid(
            f"the UDF's process ended unexpectedly ({reason})"
            + (f"; its last output:\n{tail.strip()}" if tail.strip() else "")
        )

    def running(self) -> bool:
        """Whether the process still runs; a process that ended stays unreaped (its pid
        and so its group cannot go to another process) until `close`."""
        if self.process.returncode is not None:
            return False
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        return os.waitid(os.P_PID, self.process.pid, flags) is None

    def close(self) -> None:
        """Stop the process and every process it started (they are killed: a UDF may be
        stuck in a loop); only then reap it."""
        if self.process.returncode is None:
            stop_udf_group(self.process.pid, self._uid)
        self.process.wait()
        self._record.unlink(missing_ok=True)
        for stream in (self._request, self._answer, self._stderr):
            try:
                stream.close()
            except OSError:
                pass


def _udf_environment(work_dir: Path) -> dict[str, str]:
    """None of the executor's variables; one BLAS thread (an execution runs one UDF process
    per dask thread already), few malloc arenas (they count against the memory limit)."""
    environment = {name: os.environ[name] for name in _KEPT_VARIABLES if name in os.environ}
    environment |= {"HOME": str(work_dir), "TMPDIR": str(work_dir), "MALLOC_ARENA_MAX": "2"}
    threads = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    return environment | dict.fromkeys(threads, "1")


def _exit_reason(status: int | None, limits: UdfLimits) -> str:
    """Why a UDF process ended, in a user's words: its limits first."""
    if status == -signal.SIGXCPU or (status == -signal.SIGKILL and limits.cpu_seconds):
        return (
            f"the UDF exceeded its CPU-time limit of {limits.cpu_seconds} s"
            if status == -signal.SIGXCPU
            else "killed: the UDF exceeded its CPU-time limit of "
            f"{limits.cpu_seconds} s, or the machine's memory"
        )
    if status == -signal.SIGXFSZ:
        return f"the UDF exceeded its file-size limit of {limits.file_bytes // 2**20} MiB"
    if status is not None and status < 0:
        return f"killed by signal {signal.Signals(-status).name}"
    return f"exit status {status}"


def _pipe() -> tuple[IO[bytes], IO[bytes]]:
    read_fd, write_fd = os.pipe()
    return os.fdopen(read_fd, "rb"), os.fdopen(write_fd, "wb")


class UdfProcesses:
    """The UDF processes of one execution: started on demand, at most `limit` at once,
    each running one chunk at a time; `close()` stops them all."""

    def __init__(self, work_dir: Path, *, limit: int, sandbox: UdfSandbox | None = None) -> None:
        self.work_dir = work_dir
        self.limit = max(1, limit)
        self.sandbox = sandbox or UdfSandbox()
        self._idle: list[UdfProcess] = []
        self._all: list[UdfProcess] = []
        self._available = threading.Condition()
        self._closed = False

    def run(
        self, code: str, block: xr.DataArray, context: Any, *, output: UdfOutputSink | None = None
    ) -> xr.DataArray:
        """The UDF's result for one chunk, in a process of this execution; what the UDF
        printed and inspected goes to `output` (if given)."""
        with self._process() as process:
            return process.run(code, block, context, output=output)

    @contextmanager
    def _process(self) -> Iterator[UdfProcess]:
        with self._available:
            while not self._idle and len(self._all) >= self.limit and not self._closed:
                self._available.wait()
            if self._closed:
                raise _invalid("the execution has ended")
            if self._idle:
                process = self._idle.pop()
            else:
                process = UdfProcess(self.work_dir, self.sandbox)
                self._all.append(process)
        try:
            yield process
        finally:
            with self._available:
                if process not in self._all:
                    pass  # closed meanwhile: `close` has stopped it
                elif process.running():
                    self._idle.append(process)
                else:
                    self._all.remove(process)
                    process.close()
                self._available.notify()

    def close(self) -> None:
        """Stop every UDF process of the execution."""
        with self._available:
            self._closed = True
            processes, self._all, self._idle = self._all, [], []
            self._available.notify_all()
        for process in processes:
            process.close()


# --- the UDF process --------------------------------------------------------------------


def serve(requests: IO[bytes], answers: IO[bytes], *, limits: UdfLimits) -> None:
    """The confined UDF process's loop: a chunk in, its result (or the UDF's error) out,
    until the executor closes the pipe. A process the UDF forked never answers."""
    import openeo.udf  # noqa: F401

    from eoplex_executor.udf.runtime import UdfProgram

    leader = os.getpid()
    output = ChunkOutput()
    write_frame(answers, _READY)
    while True:
        request = read_frame(requests, limit=2**62)
        if request is None:
            return
        code, block, context = pickle.loads(request)
        try:
            with output.capture():
                result = UdfProgram(code, limits=limits).run(block, context)
            frames = encode_array(result)
        except ProcessParameterInvalid as error:
            frames = [b"E" + str(error.params.get("reason", error)).encode()]
        except ValueError as error:
            frames = [b"E" + f"the UDF returned {error}".encode()]
        else:
            frames[0] = b"A" + frames[0]
        if os.getpid() != leader:
            os._exit(0)
        for frame in [b"L" + entry.encode() for entry in output.entries()] + frames:
            write_frame(answers, frame)
