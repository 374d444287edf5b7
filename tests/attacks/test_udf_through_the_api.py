"""Attacks of issue 13 on UDFs, replayed through a running back-end with the `openeo` client
and plain HTTP, as a user of `make run` would: sockets and processes of the stack, a fork
bomb and a memory hog next to other users' requests, a client that walks away."""

import os
import threading
import time
from typing import Any

import numpy as np
import openeo
import pytest
import requests
from openeo.rest import OpenEoApiError

from eoplex.stack import LocalStack
from eoplex_executor.udf.sandbox import DEFAULT_UID_BASE
from tests.stack import demo_connection

EXTENT = {"west": 11.28, "south": 46.47, "east": 11.285, "north": 46.475}


@pytest.fixture(scope="module")
def connection(local_stack: LocalStack) -> openeo.Connection:
    return demo_connection(local_stack)


def udf_process(code: str, context: Any = None) -> dict[str, Any]:
    """`load_collection` of a small window, `run_udf` on it, saved as JSON."""
    return {
        "process_graph": {
            "cube": {
                "process_id": "load_collection",
                "arguments": {
                    "id": "SENTINEL2_L2A_DEMO",
                    "spatial_extent": EXTENT,
                    "temporal_extent": ["2022-06-05", "2022-06-06"],
                    "bands": ["B04"],
                },
            },
            "udf": {
                "process_id": "run_udf",
                "arguments": {
                    "data": {"from_node": "cube"},
                    "udf": code,
                    "runtime": "Python",
                    "context": context or {},
                },
            },
            "save": {
                "process_id": "save_result",
                "arguments": {"data": {"from_node": "udf"}, "format": "JSON"},
                "result": True,
            },
        }
    }


def udf_processes() -> list[int]:
    """The pids of every UDF process running on this machine (they run as users of their own)."""
    pids = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/status") as status:
                uid = next(int(line.split()[1]) for line in status if line.startswith("Uid:"))
        except (OSError, StopIteration, ValueError):
            continue
        if uid >= DEFAULT_UID_BASE:
            pids.append(int(name))
    return pids


def _listening_unix_sockets() -> list[str]:
    """Every listening Unix socket of this machine: paths, and abstract names with a NUL."""
    names = []
    with open("/proc/net/unix") as table:
        next(table)
        for line in table:
            fields = line.split()
            if len(fields) >= 8 and int(fields[3], 16) & 0x10000:  # __SO_ACCEPTCON
                name = fields[7]
                names.append("\0" + name[1:] if name.startswith("@") else name)
    return names


def _listening_tcp_ports() -> list[int]:
    ports = []
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            local, state = line.split()[1], line.split()[3]
            if state == "0A":  # LISTEN
                ports.append(int(local.split(":")[1], 16))
    return sorted(set(ports))


REACH_THE_STACK = """
import os, socket
import xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    reached = 0
    for name in context["unix"]:
        try:
            socket.socket(socket.AF_UNIX).connect(name)
            reached |= 1
        except OSError:
            pass
    for port in context["tcp"]:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            reached |= 2
        except OSError:
            pass
    for pid in context["pids"]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                file.read(1)
            reached |= 4
        except OSError:
            pass
    return cube * 0 + reached
"""


def test_a_udf_through_the_api_reaches_no_socket_and_no_process_of_the_stack(
    local_stack: LocalStack, connection: openeo.Connection
) -> None:
    """Critical, replayed as a user of a running back-end would: a UDF sent with the `openeo`
    client tries every listening socket of the machine (the S3 server's filer socket among
    them) and the command lines of the stack's processes; `GET /udf_runtimes` says how UDFs
    are confined."""
    sandbox = connection.list_udf_runtimes()["Python"]["eoplex:sandbox"]
    assert (sandbox["enforced"], sandbox["runs_udfs"], sandbox["reason"]) == (True, True, "")
    assert any("Landlock" in layer for layer in sandbox["layers"])
    context = {
        "unix": _listening_unix_sockets(),
        "tcp": _listening_tcp_ports(),
        "pids": list(local_stack.pids.values()),
    }
    assert context["unix"] and context["tcp"] and context["pids"]
    result = connection.execute(udf_process(REACH_THE_STACK, context))
    assert np.nanmax(np.asarray(result["data"], dtype=float)) == 0


class Latencies:
    """`GET /` answered again and again in a thread while a test runs: the other services'
    latency, and whether they answered at all."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seconds: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                answer = requests.get(self.url, timeout=30)
                if answer.status_code != 200:
                    self.failures.append(str(answer.status_code))
            except requests.RequestException as error:
                self.failures.append(type(error).__name__)
            self.seconds.append(time.perf_counter() - started)
            self._stop.wait(0.2)

    def __enter__(self) -> "Latencies":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        print(
            f"GET / during the attack: {len(self.seconds)} answers, "
            f"median {np.median(self.seconds):.3f} s, max {max(self.seconds):.3f} s"
        )


FORK_BOMB = """
import os, time
import xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    for _ in range(5000):
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
    return cube
"""

MEMORY_HOG = """
import numpy, xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    hog = numpy.ones(2**33 // 8)
    return cube + hog[0]
"""


@pytest.mark.parametrize(
    ("code", "limit"),
    [(FORK_BOMB, "limit of 64 processes and threads"), (MEMORY_HOG, "memory limit of 2048 MiB")],
    ids=["fork bomb", "memory hog"],
)
def test_a_fork_bomb_or_a_memory_hog_ends_with_its_limit_and_the_stack_keeps_serving(
    local_stack: LocalStack, connection: openeo.Connection, code: str, limit: str
) -> None:
    """High: a fork bomb and 8 GiB of memory in a UDF end with the limit they reached, every
    process they started is gone, and the other services answer throughout."""
    with Latencies(local_stack.api_url) as latencies:
        with pytest.raises(OpenEoApiError) as raised:
            connection.execute(udf_process(code))
    assert raised.value.code == "ProcessParameterInvalid"
    assert f"the UDF exceeded its {limit}" in raised.value.message
    assert latencies.seconds and not latencies.failures
    deadline = time.monotonic() + 10
    while udf_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert udf_processes() == []


BURNER = """
import xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    sum(range(10**14))  # C code holding the GIL: no Python thread of its process runs
    return cube
"""


def test_a_udf_is_gone_once_its_client_walked_away(
    local_stack: LocalStack, connection: openeo.Connection
) -> None:
    """High: a UDF that kept its watcher from running burned CPU ~50 s after its client
    disconnected."""
    url = f"{local_stack.api_url}/result"
    headers = {"Authorization": f"Bearer {connection.auth.bearer}"}  # type: ignore[union-attr]
    seen: set[int] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.update(udf_processes())
            stop.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with pytest.raises(requests.ReadTimeout):
            requests.post(url, json={"process": udf_process(BURNER)}, headers=headers, timeout=10)
    finally:
        stop.set()
        watcher.join()
    assert seen, "the UDF process never ran"
    # The connection is closed now: the gateway notices, the request ends, its UDF
    # processes go (the bound is generous for a loaded machine; it takes well under 2 s).
    assert _gone_within(seen, 10.0)


def _gone_within(pids: set[int], seconds: float) -> bool:
    started = time.monotonic()
    deadline = started + seconds
    while time.monotonic() < deadline:
        if not pids & set(udf_processes()):
            print(f"gone after {time.monotonic() - started:.2f} s")
            return True
        time.sleep(0.05)
    return False
