"""The real infrastructure servers of the local stack: NATS JetStream, SeaweedFS S3, SecantusDB.

Each server is described by a `ProcessSpec` (command line, readiness probe); the
local stack supervises them like the services, and the test fixtures start the
very same specs on free ports. Every port is set explicitly and every listener
is bound to 127.0.0.1; the only Unix sockets (SeaweedFS's filer and S3 gateway) are
in a directory of the data directory that only the stack's user can enter.
"""

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from eoplex.children import dying_with_parent
from eoplex.private import private_dir, write_private

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class ProcessSpec:
    """How to start one process of the stack, how to tell it is ready, how to stop it.

    `stop_signal` asks it to stop; SIGKILL follows a grace period.
    """

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    env: Mapping[str, str] = field(default_factory=dict)
    ready_timeout_seconds: float = 60.0
    stop_signal: signal.Signals = signal.SIGTERM


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


def http_mentions(url: str, text: str) -> Callable[[], bool]:
    """A readiness probe: GET `url` answers 200 with a body that contains `text`."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return text in response.read().decode(errors="replace")
        except OSError:
            return False

    return probe


def nats_spec(
    *, port: int, monitor_port: int, store_dir: Path, user: str, password: str
) -> ProcessSpec:
    """nats-server with JetStream, its store in `store_dir`, serving `user`/`password` only.

    The login is in a configuration file (0600) in `store_dir`, not on the command
    line, which every local process can read. The monitoring port (`/healthz`, `/varz`,
    connection counts) needs none; it shows no message and no credential.
    """
    private_dir(store_dir)
    config = store_dir / "auth.conf"
    login = f"  user: {json.dumps(user)}\n  password: {json.dumps(password)}\n"
    write_private(config, "authorization {\n" + login + "}\n")
    argv = [
        str(BIN / "nats-server"),
        "--config", str(config),
        "--addr", "127.0.0.1",
        "--port", str(port),
        "--http_port", str(monitor_port),
        "--jetstream",
        "--store_dir", str(store_dir),
    ]  # fmt: skip
    return ProcessSpec("nats", argv, http_answers(f"http://127.0.0.1:{monitor_port}/healthz"))


@dataclass(frozen=True)
class S3Credentials:
    """An access key pair the S3 server accepts."""

    access_key: str
    secret_key: str


@dataclass(frozen=True)
class S3Identity:
    """A client of the S3 server: its key and its SeaweedFS actions (`Read:<bucket>`, ...)."""

    name: str
    credentials: S3Credentials
    actions: tuple[str, ...]


# Every action on every bucket.
S3_ADMIN_ACTIONS = ("Admin", "Read", "Write", "List", "Tagging")


# The longest path a Unix socket can have (sun_path holds 108 bytes with its final NUL).
MAX_SOCKET_PATH = 107


def weed_specs(
    *, s3_port: int, data_dir: Path, identities: Sequence[S3Identity]
) -> list[ProcessSpec]:
    """SeaweedFS serving S3 on `s3_port` to `identities`: master, volume, filer, S3 gateway.

    Four processes rather than `weed mini`, because `weed mini` (like `weed server`)
    opens a Unix socket for each of its gRPC servers in /tmp, unauthenticated, where any
    local process could reach them; the standalone commands open none. The filer and the
    S3 gateway still serve HTTP on a Unix socket each: those are in `<data_dir>/sockets`,
    a directory only the stack's user can enter. Their other ports are free ones on
    127.0.0.1. Started in this order, each is ready once the next may use it. The S3
    gateway refuses a request that is not signed by one of `identities`, and one that
    their actions do not allow; its IAM API is off.
    """
    private_dir(data_dir)
    sockets = private_dir(data_dir / "sockets")
    filer_socket, s3_socket = sockets / "filer.sock", sockets / "s3.sock"
    if len(str(filer_socket)) > MAX_SOCKET_PATH:
        raise ValueError(
            f"{filer_socket} is longer than a Unix socket path may be "
            f"({MAX_SOCKET_PATH} bytes): choose a shorter state directory"
        )
    config = data_dir / "s3-identities.json"
    write_private(config, json.dumps({"identities": [_identity(i) for i in identities]}))
    master, master_grpc, volume, volume_grpc = free_port(), free_port(), free_port(), free_port()
    filer, filer_grpc, s3_grpc = free_port(), free_port(), free_port()
    weed = str(BIN / "weed")
    loopback = ["-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    masters = f"-master=127.0.0.1:{master}.{master_grpc}"
    # weed writes its glog files and any temporary file to TMPDIR: keep them with its data.
    env = {"TMPDIR": str(private_dir(data_dir / "tmp"))}
    return [
        ProcessSpec(
            "s3-master",
            [
                weed, "master", *loopback, f"-port={master}", f"-port.grpc={master_grpc}",
                f"-mdir={private_dir(data_dir / 'master')}", "-volumeSizeLimitMB=128",
                "-telemetry=false",
            ],
            http_answers(f"http://127.0.0.1:{master}/cluster/status"),
            env=env,
        ),
        ProcessSpec(
            "s3-volume",
            [
                weed, "volume", *loopback, f"-port={volume}", f"-port.grpc={volume_grpc}",
                f"-dir={data_dir}", masters, "-max=0", "-preStopSeconds=1",
            ],
            # Ready once the master knows it: before that, no write can be placed.
            http_mentions(f"http://127.0.0.1:{master}/dir/status", f"127.0.0.1:{volume}"),
            env=env,
        ),
        ProcessSpec(
            "s3-filer",
            [
                weed, "filer", *loopback, f"-port={filer}", f"-port.grpc={filer_grpc}",
                masters, f"-defaultStoreDir={data_dir}", f"-localSocket={filer_socket}",
            ],
            http_answers(f"http://127.0.0.1:{filer}/"),
            env=env,
            # On SIGTERM the filer waits 15 s for its own metadata subscription to end,
            # then never exits if its master is gone; its store (LevelDB) survives a kill.
            stop_signal=signal.SIGKILL,
        ),
        ProcessSpec(
            "s3",
            [
                weed, "s3", "-ip.bind=127.0.0.1", f"-port={s3_port}", f"-port.grpc={s3_grpc}",
                f"-filer=127.0.0.1:{filer}.{filer_grpc}", f"-localFilerSocket={filer_socket}",
                f"-localSocket={s3_socket}", f"-config={config}", "-iam=false",
                "-port.iceberg=0", "-port.lance=0",
            ],
            http_answers(f"http://127.0.0.1:{s3_port}/"),
            env=env,
        ),
    ]  # fmt: skip


def _identity(identity: S3Identity) -> dict[str, object]:
    keys = identity.credentials
    return {
        "name": identity.name,
        "credentials": [{"accessKey": keys.access_key, "secretKey": keys.secret_key}],
        "actions": list(identity.actions),
    }


def mongodb_spec(*, port: int, storage_dir: Path, auth: bool = False) -> ProcessSpec:
    """SecantusDB, a MongoDB-wire-compatible server, storing in `storage_dir`.

    With `auth`, every command but the handshake and `ping` needs a login (SCRAM), and
    each user only what its roles grant (see `ensure_mongodb_users`).
    """
    argv = [
        str(BIN / "secantusd-py"),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--storage-path", str(storage_dir),
        "--log-level", "WARNING",
        *(["--auth"] if auth else []),
    ]  # fmt: skip
    return ProcessSpec("mongodb", argv, tcp_open(port))


def ensure_mongodb_users(*, storage_dir: Path, users: Mapping[str, str], log_path: Path) -> bool:
    """Make `users` (name to password) the users of the SecantusDB data in `storage_dir`,
    each with `readWrite` on its own database `eoplex_<name>`; whether that was needed.

    SecantusDB has no localhost exception: users are created on the server started
    without `--auth`, here for seconds on a free loopback port, once (and again only if
    the users or their passwords change: a digest of them is kept in `storage_dir`).
    """
    digest = hashlib.sha256(json.dumps(sorted(users.items())).encode()).hexdigest()
    marker = storage_dir / "eoplex-users.sha256"
    if marker.exists() and marker.read_text() == digest:
        return False
    port = free_port()
    spec = mongodb_spec(port=port, storage_dir=storage_dir)
    process = start_process(spec, log_path=log_path)
    try:
        wait_ready(spec, process)
        url = f"mongodb://127.0.0.1:{port}"
        with MongoClient[dict[str, Any]](url, serverSelectionTimeoutMS=10_000) as client:
            existing = {user["user"] for user in client.admin.command("usersInfo")["users"]}
            for name, password in users.items():
                roles = [{"role": "readWrite", "db": "eoplex_" + name.replace("-", "_")}]
                command = "updateUser" if name in existing else "createUser"
                client.admin.command(command, name, pwd=password, roles=roles)
    finally:
        stop_process(process)
    write_private(marker, digest)
    return True


def start_process(spec: ProcessSpec, *, log_path: Path) -> subprocess.Popen[bytes]:
    """Start `spec` in its own process group, its output appended to `log_path`.

    On Linux it is killed when the calling thread ends (see `eoplex.children`).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            dying_with_parent(spec.argv),
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


def stop_process(
    process: subprocess.Popen[bytes],
    *,
    stop_signal: signal.Signals = signal.SIGTERM,
    grace_seconds: float = 10.0,
) -> None:
    """Signal the process group, then SIGKILL what is left after the grace period."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, stop_signal)
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()
