"""The real infrastructure servers of the local stack: NATS JetStream, SeaweedFS S3, SecantusDB.

Each server is described by a `ProcessSpec` (command line, readiness probe); the
local stack supervises them like the services, and the test fixtures start the
very same specs on free ports. Every port is set explicitly and every listener
is bound to 127.0.0.1.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class ProcessSpec:
    """How to start one process of the stack and how to tell it is ready."""

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    env: Mapping[str, str] = field(default_factory=dict)
    ready_timeout_seconds: float = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tcp_open(port: int) -> Callable[[], bool]:
    """A readiness probe: something accepts connections on 127.0.0.1:`port`."""

    def probe() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    return probe


def http_answers(url: str) -> Callable[[], bool]:
    """A readiness probe: `url` answers HTTP at all (any status)."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    return probe


def nats_spec(*, port: int, monitor_port: int, store_dir: Path) -> ProcessSpec:
    """nats-server with JetStream, its store in `store_dir`."""
    argv = [
        str(BIN / "nats-server"),
        "--addr", "127.0.0.1",
        "--port", str(port),
        "--http_port", str(monitor_port),
        "--jetstream",
        "--store_dir", str(store_dir),
    ]  # fmt: skip
    return ProcessSpec("nats", argv, http_answers(f"http://127.0.0.1:{monitor_port}/healthz"))


@dataclass(frozen=True)
class S3Credentials:
    """The access key pair the S3 server accepts and the services use."""

    access_key: str
    secret_key: str


def weed_spec(*, s3_port: int, data_dir: Path, credentials: S3Credentials) -> ProcessSpec:
    """SeaweedFS `weed mini` serving S3 on `s3_port`; its other ports are free ones."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "s3-identities.json"
    identity = {
        "name": "eoplex",
        "credentials": [{"accessKey": credentials.access_key, "secretKey": credentials.secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    config.chmod(0o600)
    ports = {
        name: free_port()
        for name in (
            "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
            "volume.port.public", "filer.port", "filer.port.grpc", "filer.port.public",
            "s3.port.grpc", "admin.port", "admin.port.grpc", "metricsPort", "debug.port",
        )
    }  # fmt: skip
    argv = [
        str(BIN / "weed"),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.port={s3_port}",
        *(f"-{name}={port}" for name, port in ports.items()),
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        f"-s3.config={config}",
    ]
    # weed puts its unix sockets and glog files in the temp dir: keep them with its data.
    scratch = data_dir / "tmp"
    scratch.mkdir(exist_ok=True)
    ready = http_answers(f"http://127.0.0.1:{s3_port}/")
    return ProcessSpec("s3", argv, ready, env={"TMPDIR": str(scratch)})


def mongodb_spec(*, port: int, storage_dir: Path) -> ProcessSpec:
    """SecantusDB, a MongoDB-wire-compatible server, storing in `storage_dir`."""
    argv = [
        str(BIN / "secantusd-py"),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--storage-path", str(storage_dir),
        "--log-level", "WARNING",
    ]  # fmt: skip
    return ProcessSpec("mongodb", argv, tcp_open(port))


def start_process(spec: ProcessSpec, *, log_path: Path) -> subprocess.Popen[bytes]:
    """Start `spec` in its own process group, its output appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            spec.argv,
            env={**os.environ, **spec.env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(spec: ProcessSpec, process: subprocess.Popen[bytes]) -> None:
    """Block until `spec.ready()` holds; raise if the process exits or the timeout passes."""
    deadline = time.monotonic() + spec.ready_timeout_seconds
    while not spec.ready():
        if process.poll() is not None:
            status = process.returncode
            raise RuntimeError(f"{spec.name} exited with status {status} while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{spec.name} not ready after {spec.ready_timeout_seconds:.0f} s")
        time.sleep(0.1)


def stop_process(process: subprocess.Popen[bytes], *, grace_seconds: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after the grace period."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()
