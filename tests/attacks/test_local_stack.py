"""Attacks of issue 13 on the local stack itself (`make run`): its sockets, its state
directory and its processes.

The attacks: the local S3 server (SeaweedFS) listened on unauthenticated Unix sockets in
`/tmp` (`/tmp/seaweedfs-filer-<port>.sock` and five more), which a UDF used to read,
plant and delete another tenant's files; after `kill -9` of the supervisor its S3 server
lived on as an orphan while the next `make run` started a second one on the same data
directory.

And the Low "internal services need no credentials": NATS, MongoDB and S3 served any
process that reached them. Now each service has its own keys, generated into the state
directory (0600), and the servers refuse a client without them.

The socket tests look at what the stack's processes really hold: every Unix socket in
`/proc/net/unix` whose inode one of their file descriptors refers to. The supervisor
tests run `eoplex run` as `make run` does, as a child process of their own.
"""

import fcntl
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from minio import Minio
from minio.error import S3Error
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from conftest import Infrastructure
from eoplex.servers import free_port
from eoplex.stack import SERVICES, LocalStack

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
# Starting the whole stack on a busy two-core machine takes a while; a hang fails the test.
START_TIMEOUT_SECONDS = 240.0
# How long the stack's processes may take to stop after the kernel told them their
# parent died (SeaweedFS and MongoDB shut down cleanly on SIGTERM).
STOP_TIMEOUT_SECONDS = 60.0


def children(pid: int) -> list[int]:
    """The direct children of `pid`."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return []
    found: list[int] = []
    for task in tasks:
        try:
            found += [
                int(child)
                for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            ]
        except FileNotFoundError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid`: children, grandchildren, ..."""
    found = []
    pending = children(pid)
    while pending:
        child = pending.pop()
        found.append(child)
        pending += children(child)
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its parent does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return "(gone)"


def described(pid: int) -> str:
    """`pid`'s command line, state, parent and what it waits on, for a failure message."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        wchan = Path(f"/proc/{pid}/wchan").read_text()
    except FileNotFoundError:
        return f"{pid} (gone)"
    return f"{pid} [{fields[0]}, parent {fields[1]}, in {wchan}] {command_line(pid)[:80]}"


def unix_socket_paths(pid: int) -> set[str]:
    """The addresses of the Unix sockets `pid` holds: a path, or `@name` if abstract."""
    addresses = {}
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8:
            addresses[fields[6]] = fields[7]
    held: set[str] = set()
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return held
    for descriptor in descriptors:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{descriptor}")
        except FileNotFoundError:
            continue
        if target.startswith("socket:[") and target[8:-1] in addresses:
            held.add(addresses[target[8:-1]])
    return held


def only_its_owner_can_reach(path: Path) -> bool:
    """Whether some directory above `path` is ours and closed to group and others."""
    for directory in path.parents:
        status = directory.stat()
        if status.st_uid == os.getuid() and not status.st_mode & 0o077:
            return True
    return False


def assert_sockets_are_private(
    server_pids: dict[str, int], every_pid: list[int], root: Path
) -> None:
    for name, pid in server_pids.items():
        for address in unix_socket_paths(pid):
            assert not address.startswith("@"), f"{name} holds the abstract socket {address}"
            path = Path(address)
            assert path.is_relative_to(root), f"{name} holds {address}, outside {root}"
            mode = stat.S_IMODE(path.parent.stat().st_mode)
            assert mode == 0o700, f"{name}'s socket {address} is in a directory of mode {mode:o}"
    for pid in every_pid:
        for address in unix_socket_paths(pid):
            if not address.startswith("@"):
                assert only_its_owner_can_reach(Path(address)), (
                    f"{command_line(pid)} holds {address}, which other users can reach"
                )


@linux_only
def test_no_socket_of_the_stacks_servers_is_in_tmp_or_reachable_by_another_user(
    local_stack: LocalStack,
) -> None:
    """Replays the Critical attack: the S3 server's Unix sockets in /tmp, open to any process."""
    pids = local_stack.pids
    servers = {name: pid for name, pid in pids.items() if name not in {*SERVICES, "gateway"}}
    assert servers, "the stack started no server of its own"
    everyone = [pid for top in pids.values() for pid in [top, *descendants(top)]]
    assert_sockets_are_private(servers, everyone, local_stack.config.state_dir)


@linux_only
def test_the_test_servers_sockets_are_not_in_tmp_either(infrastructure: Infrastructure) -> None:
    """Replays the Critical attack on the servers the tests share (the same `ProcessSpec`s)."""
    root = infrastructure.log_dir.parent
    servers = {
        f"{command_line(pid).split()[0]} ({pid})": pid
        for pid in descendants(os.getpid())
        if str(root) in command_line(pid)
    }
    assert servers, "no server of the infrastructure fixture found"
    assert_sockets_are_private(servers, list(servers.values()), root)


@dataclass
class RunningStack:
    """`eoplex run` as a child process, as `make run` starts it."""

    process: subprocess.Popen[str]
    state_dir: Path
    output: Path


def start_eoplex_run(state_dir: Path, output: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "OPENEO_PORT": str(free_port()), "OPENEO_STATE_DIR": str(state_dir)}
    with output.open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "eoplex", "run"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )


def wait_for(condition: Callable[[], bool], *, timeout_seconds: float, what: str) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout_seconds:.0f} s: {what}")
        time.sleep(0.1)


@pytest.fixture
def running_stack(tmp_path: Path) -> Iterator[RunningStack]:
    """A whole stack started by `eoplex run` in its own state directory; stopped at the end."""
    state_dir, output = tmp_path / "state", tmp_path / "first.out"
    process = start_eoplex_run(state_dir, output)
    stack = RunningStack(process, state_dir, output)
    try:
        wait_for(
            lambda: "eoplex is running" in output.read_text() or process.poll() is not None,
            timeout_seconds=START_TIMEOUT_SECONDS,
            what="eoplex run printed its banner",
        )
        assert process.poll() is None, output.read_text()
        yield stack
    finally:
        left = descendants(process.pid)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(STOP_TIMEOUT_SECONDS)
        for pid in left:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@linux_only
def test_a_second_stack_on_a_state_dir_in_use_is_refused(
    running_stack: RunningStack, tmp_path: Path
) -> None:
    """Replays the Low attack: a second `make run` started servers on the same data dirs."""
    before = sorted(descendants(running_stack.process.pid))
    second = start_eoplex_run(running_stack.state_dir, tmp_path / "second.out")
    try:
        status = second.wait(START_TIMEOUT_SECONDS)
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
    message = (tmp_path / "second.out").read_text()
    assert status == 1, message
    assert f"{running_stack.state_dir} is in use" in message
    assert sorted(descendants(running_stack.process.pid)) == before
    assert running_stack.process.poll() is None


def test_make_run_prints_its_url_with_the_demo_data_there_and_eoplex_admin_finds_it(
    running_stack: RunningStack,
) -> None:
    """Operators: the URL printed answers with the demo collections, and the README's
    `eoplex admin` commands reach the stack with only `OPENEO_STATE_DIR` set."""
    output = running_stack.output.read_text()
    api_url = next(line.split()[-1] for line in output.splitlines() if "openEO API:" in line)
    collections = httpx.get(api_url + "collections", timeout=30).json()["collections"]
    assert "SENTINEL2_L2A_DEMO" in [collection["id"] for collection in collections]

    recorded = running_stack.state_dir / "admin-env.json"
    assert stat.S_IMODE(recorded.stat().st_mode) == 0o600
    env = {name: value for name, value in os.environ.items() if not name.startswith("OPENEO_")}
    env["OPENEO_STATE_DIR"] = str(running_stack.state_dir)
    command = [sys.executable, "-m", "eoplex", "admin", "users", "list", "--json"]
    listed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "demo" in [user["name"] for user in json.loads(listed.stdout)]
    # An address set in the environment (a cluster's) wins over the local stack's.
    elsewhere = f"127.0.0.1:{free_port()}"
    env["OPENEO_AUTH_ADDRESS"] = elsewhere
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert f"is the auth service running at {elsewhere}?" in refused.stderr


@linux_only
def test_every_process_of_the_stack_dies_with_a_supervisor_killed_with_sigkill(
    running_stack: RunningStack,
) -> None:
    """Replays the Low attack: after `kill -9` of `eoplex run` the S3 server lived on."""
    everyone = descendants(running_stack.process.pid)
    assert len(everyone) >= 3 + len(SERVICES) + 1, [command_line(pid) for pid in everyone]
    running_stack.process.kill()
    running_stack.process.wait()
    wait_for(
        lambda: not any(alive(pid) for pid in everyone),
        timeout_seconds=STOP_TIMEOUT_SECONDS,
        what="every process of the stack stopped: "
        + "; ".join(described(pid) for pid in everyone if alive(pid)),
    )
    # Nothing holds the state directory any more: the next start may take it.
    with (running_stack.state_dir / "eoplex.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)


def without_credentials(url: str) -> str:
    """`url` with its `user:password@` removed."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))


def with_password(url: str, user: str, password: str) -> str:
    parts = urlsplit(without_credentials(url))
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.netloc}"))


def stack_credentials(stack: LocalStack) -> dict[str, Any]:
    """What the stack generated into its state directory, as an operator reads it."""
    credentials: dict[str, Any] = json.loads(
        (stack.config.state_dir / "credentials.json").read_text()
    )
    return credentials


def nats_answer(url: str, *, user: str | None, password: str | None) -> bytes:
    """What the NATS server at `url` answers a client that logs in (or not) and publishes.

    The NATS protocol by hand: a client library would retry and reconnect.
    """
    parts = urlsplit(url)
    login = {"user": user, "pass": password} if user is not None else {}
    connect = json.dumps({"verbose": False, "pedantic": False, **login})
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as client:
        reader = client.makefile("rb")
        assert reader.readline().startswith(b"INFO ")
        client.sendall(f"CONNECT {connect}\r\nPUB jobs.forged 2\r\n{{}}\r\nPING\r\n".encode())
        return reader.readline().strip()


def test_a_nats_client_without_or_with_a_wrong_password_is_refused(
    local_stack: LocalStack,
) -> None:
    """Replays the Low attack: any local process could publish job events on NATS."""
    url = local_stack.env["OPENEO_NATS_URL"]
    refused = b"-ERR 'Authorization Violation'"
    assert nats_answer(url, user=None, password=None) == refused
    assert nats_answer(url, user="eoplex", password="guessed") == refused
    user, password = urlsplit(url).username, urlsplit(url).password
    assert nats_answer(url, user=user, password=password) == b"PONG"


def s3_client(stack: LocalStack, access_key: str, secret_key: str) -> Minio:
    endpoint = urlsplit(stack.env["OPENEO_S3_ENDPOINT"]).netloc
    return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=False)


def test_an_s3_request_without_or_with_wrong_keys_is_refused(local_stack: LocalStack) -> None:
    """Replays the Low attack: S3 served whoever reached it."""
    endpoint = local_stack.env["OPENEO_S3_ENDPOINT"]
    for path in ("/", "/eoplex-user-files", "/eoplex-results?list-type=2"):
        assert httpx.get(endpoint + path, timeout=10).status_code == 403
    keys = stack_credentials(local_stack)["s3"]["files"]
    wrong = s3_client(local_stack, keys["access_key"], "not-" + keys["secret_key"])
    with pytest.raises(S3Error) as refused:
        next(iter(wrong.list_objects("eoplex-user-files")), None)
    assert refused.value.code == "SignatureDoesNotMatch"


def test_one_services_s3_keys_cannot_reach_another_services_bucket(
    local_stack: LocalStack,
) -> None:
    """Replays the Low attack one step further: one key for everything gave all of S3."""
    keys = stack_credentials(local_stack)["s3"]
    files = s3_client(local_stack, keys["files"]["access_key"], keys["files"]["secret_key"])
    assert files.bucket_exists("eoplex-user-files")
    with pytest.raises(S3Error) as refused:
        next(iter(files.list_objects("eoplex-results")), None)
    assert refused.value.code == "AccessDenied"
    jobs = s3_client(local_stack, keys["jobs"]["access_key"], keys["jobs"]["secret_key"])
    with pytest.raises(S3Error) as refused:
        next(iter(jobs.list_objects("eoplex-user-files")), None)
    assert refused.value.code == "AccessDenied"


def test_a_mongodb_client_without_credentials_can_neither_read_nor_write(
    local_stack: LocalStack,
) -> None:
    """Replays the Low attack: any local process could read every user and token."""
    url = without_credentials(local_stack.env["OPENEO_MONGODB_URL"])
    with MongoClient[dict[str, Any]](url, serverSelectionTimeoutMS=10_000) as client:
        client.admin.command("ping")
        with pytest.raises(OperationFailure) as refused:
            client["eoplex_auth"].list_collection_names()
        assert refused.value.code == 13
        forged: dict[str, Any] = {"forged": True}
        with pytest.raises(OperationFailure) as refused:
            client["eoplex_jobs"]["jobs"].insert_one(forged)
        assert refused.value.code == 13


def test_one_services_mongodb_user_cannot_read_another_services_database(
    local_stack: LocalStack,
) -> None:
    """Replays the Low attack one step further: one key for everything gave all the data."""
    password = stack_credentials(local_stack)["mongodb"]["jobs"]
    url = with_password(local_stack.env["OPENEO_MONGODB_URL"], "jobs", password)
    with MongoClient[dict[str, Any]](url, serverSelectionTimeoutMS=10_000) as client:
        client["eoplex_jobs"].list_collection_names()
        with pytest.raises(OperationFailure) as refused:
            client["eoplex_auth"]["users"].find_one()
        assert refused.value.code == 13
