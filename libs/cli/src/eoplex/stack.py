"""`eoplex run`: the whole back-end on one machine, every listener on 127.0.0.1.

The infrastructure servers (unless URLs of existing ones are configured), then
every service as its own process, then the gateway, run under the `Supervisor`.
What must survive a restart lives in the state directory: the servers' data, their
ports, the internal credentials (`eoplex.credentials`) and the demo password; while it
runs, the variables `eoplex admin` reaches it with (`eoplex.local_env`). One stack at a
time holds a state directory (`eoplex.state_lock`).
"""

import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import grpc

from eoplex.credentials import NATS_USER, StackCredentials, remembered_credentials
from eoplex.demo import (
    DEMO_USER,
    DemoPassword,
    ensure_demo_account,
    ensure_demo_data,
    resolve_demo_password,
)
from eoplex.local_env import forget_admin_env, save_admin_env, state_dir_of
from eoplex.probes import grpc_serving, http_ok
from eoplex.servers import (
    ProcessSpec,
    ensure_mongodb_users,
    free_port,
    mongodb_spec,
    nats_spec,
    weed_specs,
)
from eoplex.state_lock import lock_state_dir
from eoplex.supervisor import RestartPolicy, StackStartError, Supervisor

log = logging.getLogger("eoplex.stack")

# Every gRPC service, in the order they start (they do not depend on each other at start).
SERVICES = ("auth", "capabilities", "files", "data-discovery", "processes", "jobs", "executor")


@dataclass(frozen=True)
class StackConfig:
    """What `eoplex run` is told through the environment; a URL set means "use that server"."""

    port: int = 8000
    state_dir: Path = Path(".state")
    mongodb_url: str | None = None
    nats_url: str | None = None
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    demo_password: str | None = None
    services: tuple[str, ...] = SERVICES
    gateway: bool = True
    python: str = sys.executable
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> "StackConfig":
        """`OPENEO_PORT`, `OPENEO_STATE_DIR`, the `OPENEO_*` server URLs, `OPENEO_DEMO_PASSWORD`."""
        return cls(
            port=int(env.get("OPENEO_PORT", "8000")),
            state_dir=state_dir_of(env).absolute(),
            mongodb_url=env.get("OPENEO_MONGODB_URL") or None,
            nats_url=env.get("OPENEO_NATS_URL") or None,
            s3_endpoint=env.get("OPENEO_S3_ENDPOINT") or None,
            s3_access_key=env.get("OPENEO_S3_ACCESS_KEY") or None,
            s3_secret_key=env.get("OPENEO_S3_SECRET_KEY") or None,
            demo_password=env.get("OPENEO_DEMO_PASSWORD") or None,
        )


@dataclass(frozen=True)
class ServerPorts:
    """The ports of the servers the stack starts itself, kept across restarts."""

    mongodb: int
    nats: int
    nats_monitor: int
    s3: int


@dataclass(frozen=True)
class StackPlan:
    """What is chosen when the stack starts: ports and credentials (remembered), service ports."""

    servers: ServerPorts
    credentials: StackCredentials
    service_ports: Mapping[str, int] = field(default_factory=dict)


def service_module(service: str) -> str:
    """The package that runs `service` with `python -m`, e.g. `eoplex_data_discovery`."""
    return "eoplex_" + service.replace("-", "_")


def service_variable(service: str, setting: str) -> str:
    """A per-service variable, e.g. `OPENEO_DATA_DISCOVERY_LISTEN`."""
    return f"OPENEO_{service.replace('-', '_').upper()}_{setting}"


def stack_env(config: StackConfig, plan: StackPlan) -> dict[str, str]:
    """The `OPENEO_*` variables every process of the stack shares: servers and service addresses.

    The NATS URL carries the stack's NATS login; the MongoDB and S3 logins are each
    client's own (`client_env`).
    """
    ports = plan.servers
    nats_url = plan.credentials.nats_url(f"nats://127.0.0.1:{ports.nats}")
    env = {
        "OPENEO_MONGODB_URL": config.mongodb_url or f"mongodb://127.0.0.1:{ports.mongodb}",
        "OPENEO_NATS_URL": config.nats_url or nats_url,
        "OPENEO_S3_ENDPOINT": config.s3_endpoint or f"http://127.0.0.1:{ports.s3}",
    }
    for service, port in plan.service_ports.items():
        env[service_variable(service, "ADDRESS")] = f"127.0.0.1:{port}"
    # The local launcher keeps each batch job's executor output with the stack's state.
    env["OPENEO_JOBS_STATE_DIR"] = str(config.state_dir / "jobs")
    return {**config.extra_env, **env}


def client_env(config: StackConfig, plan: StackPlan, client: str) -> dict[str, str]:
    """The logins of `client` (a service, or `admin`) to the MongoDB and S3 servers the stack
    started: its own MongoDB user (if it has a database) and its own S3 key (if it uses S3)."""
    credentials, env = plan.credentials, {}
    if config.mongodb_url is None:
        url = f"mongodb://127.0.0.1:{plan.servers.mongodb}"
        env["OPENEO_MONGODB_URL"] = credentials.mongodb_url(url, client)
    if config.s3_endpoint is None and client in credentials.s3_keys:
        env["OPENEO_S3_ACCESS_KEY"] = credentials.s3_keys[client].access_key
        env["OPENEO_S3_SECRET_KEY"] = credentials.s3_keys[client].secret_key
    executor = client_env(config, plan, "executor") if client == "jobs" else {}
    if executor:
        # The local launcher starts each batch job's executor with the jobs service's
        # environment, overridden by this: the executor's logins, not the jobs service's.
        env["OPENEO_JOBS_ENV"] = json.dumps(executor)
    return env


def server_specs(config: StackConfig, plan: StackPlan) -> list[ProcessSpec]:
    """The servers to start: those whose URL is not configured, their data in the state dir."""
    state, ports = config.state_dir, plan.servers
    specs = []
    credentials = plan.credentials
    if config.mongodb_url is None:
        specs.append(mongodb_spec(port=ports.mongodb, storage_dir=state / "mongodb", auth=True))
    if config.nats_url is None:
        specs.append(
            nats_spec(
                port=ports.nats,
                monitor_port=ports.nats_monitor,
                store_dir=state / "nats",
                user=NATS_USER,
                password=credentials.nats_password,
            )
        )
    if config.s3_endpoint is None:
        identities = credentials.s3_identities()
        specs += weed_specs(s3_port=ports.s3, data_dir=state / "s3", identities=identities)
    return specs


def service_specs(config: StackConfig, plan: StackPlan) -> list[ProcessSpec]:
    """Every gRPC service as `python -m eoplex_<service>`, ready when its health is SERVING."""
    env = stack_env(config, plan)
    specs = []
    for service in config.services:
        address = f"127.0.0.1:{plan.service_ports[service]}"
        specs.append(
            ProcessSpec(
                name=service,
                argv=[config.python, "-m", service_module(service)],
                ready=grpc_serving(address),
                env={
                    **env,
                    **client_env(config, plan, service),
                    service_variable(service, "LISTEN"): address,
                },
            )
        )
    return specs


def gateway_spec(config: StackConfig, plan: StackPlan) -> ProcessSpec:
    """The gateway on 127.0.0.1:`port`, ready when the well-known document answers 200."""
    env = {
        **stack_env(config, plan),
        "OPENEO_PORT": str(config.port),
        "OPENEO_GATEWAY_HOST": "127.0.0.1",
    }
    return ProcessSpec(
        name="gateway",
        argv=[config.python, "-m", "eoplex_gateway"],
        ready=http_ok(well_known_url(config.port)),
        env=env,
    )


def build_stages(config: StackConfig, plan: StackPlan) -> list[list[ProcessSpec]]:
    """The processes of the stack in start order: servers, services, gateway.

    Pure but for the NATS and S3 specs, which write their servers' logins into the state dir.
    """
    stages = [server_specs(config, plan), service_specs(config, plan)]
    if config.gateway:
        stages.append([gateway_spec(config, plan)])
    return [stage for stage in stages if stage]


def api_url(port: int) -> str:
    """The versioned openEO API root of a gateway on 127.0.0.1:`port`."""
    return f"http://127.0.0.1:{port}/openeo/1.2/"


def well_known_url(port: int) -> str:
    """The openEO well-known discovery document of a gateway on 127.0.0.1:`port`."""
    return f"http://127.0.0.1:{port}/.well-known/openeo"


def port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:`port` (lingering TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def remembered_server_ports(state_dir: Path) -> ServerPorts:
    """The ports of the previous start where still free, new free ones otherwise; saved."""
    path = state_dir / "ports.json"
    previous: dict[str, int] = json.loads(path.read_text()) if path.exists() else {}
    names = ("mongodb", "nats", "nats_monitor", "s3")
    ports = {
        name: previous[name] if name in previous and port_is_free(previous[name]) else free_port()
        for name in names
    }
    state_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ports, indent=2))
    return ServerPorts(**ports)


def make_plan(config: StackConfig) -> StackPlan:
    """Choose (or recall) the ports and credentials of this start."""
    return StackPlan(
        servers=remembered_server_ports(config.state_dir),
        credentials=remembered_credentials(config.state_dir),
        service_ports={service: free_port() for service in config.services},
    )


class LocalStack:
    """The local back-end: servers, services and gateway under one supervisor.

    `eoplex run` and the end-to-end test fixture both use it: `start()` returns
    once everything is ready and the demo account exists, `stop()` ends it all.
    """

    def __init__(self, *, config: StackConfig, restart_policy: RestartPolicy | None = None) -> None:
        self.config = config
        self.supervisor = Supervisor(
            log_dir=config.state_dir / "logs", restart_policy=restart_policy
        )
        self.plan: StackPlan | None = None
        self._state_lock: int | None = None
        self._demo_password: DemoPassword | None = None
        self._demo_data_done = threading.Event()

    @property
    def api_url(self) -> str:
        """`http://127.0.0.1:<port>/openeo/1.2/`."""
        return api_url(self.config.port)

    @property
    def well_known_url(self) -> str:
        """`http://127.0.0.1:<port>/.well-known/openeo`."""
        return well_known_url(self.config.port)

    @property
    def demo_user(self) -> str:
        """The demo user's name."""
        return DEMO_USER

    @property
    def demo_password(self) -> str:
        """The demo user's password (known once `start()` has run)."""
        if self._demo_password is None:
            raise RuntimeError("the stack has not been started")
        return self._demo_password.value

    @property
    def log_dir(self) -> Path:
        """Where each process writes `<name>.log`."""
        return self.supervisor.log_dir

    @property
    def env(self) -> dict[str, str]:
        """The `OPENEO_*` variables of the running stack for an operator's tools (`eoplex
        admin`, a gateway of its own): the shared ones and the `admin` logins."""
        if self.plan is None:
            raise RuntimeError("the stack has not been started")
        return {**stack_env(self.config, self.plan), **client_env(self.config, self.plan, "admin")}

    @property
    def pids(self) -> dict[str, int]:
        """Process id of each running process of the stack, by name (`auth`, `gateway`, ...)."""
        return self.supervisor.pids

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> int:
        """Kill one process (a fault, for tests); the supervisor restarts it. Returns its pid."""
        return self.supervisor.kill(name, sig)

    def wait_until_ready(self, name: str, *, timeout_seconds: float = 60.0) -> None:
        """Block until the process `name` runs and is ready again, e.g. after `kill()`."""
        self.supervisor.wait_until_ready(name, timeout_seconds=timeout_seconds)

    def start(self) -> None:
        """Start every stage, ensure the demo account, and start ensuring the demo collections.

        The demo collections are generated and registered in the background (seconds at
        the first start), so `start()` returns as soon as the API answers; see
        `wait_for_demo_data()`. Raises `StackStartError`, `StateDirInUse` (a subclass) if
        another live process holds the state directory.
        """
        self._state_lock = lock_state_dir(self.config.state_dir)
        self.supervisor.inherited_fds = (self._state_lock,)
        self.plan = make_plan(self.config)
        save_admin_env(self.config.state_dir, self.env)
        if self.config.mongodb_url is None:
            ensure_mongodb_users(
                storage_dir=self.config.state_dir / "mongodb",
                users=self.plan.credentials.mongodb_passwords,
                log_path=self.log_dir / "mongodb-users.log",
            )
        self._demo_password = resolve_demo_password(
            configured=self.config.demo_password, state_dir=self.config.state_dir
        )
        for stage in build_stages(self.config, self.plan):
            self.supervisor.start_stage(stage)
            if any(spec.name == "auth" for spec in stage):
                self._bootstrap_demo()
        # Started last: a thread calling gRPC while the supervisor forks makes gRPC skip
        # its fork handlers.
        if "data-discovery" in self.config.services:
            threading.Thread(
                target=self._bootstrap_demo_data, name="demo-data", daemon=True
            ).start()

    def wait_for_demo_data(self, *, timeout_seconds: float = 120.0) -> bool:
        """Wait until the demo collections have been ensured (or failed: see the log); at
        once without a data-discovery service."""
        if "data-discovery" not in self.config.services:
            return True
        return self._demo_data_done.wait(timeout_seconds)

    def request_stop(self) -> None:
        """Interrupt `start()` and stop restarting crashed processes (signal-handler safe)."""
        self.supervisor.request_stop()

    def stop(self) -> None:
        """Stop every process, gateway first and servers last; release the state directory."""
        self.supervisor.stop()
        if self._state_lock is not None:
            forget_admin_env(self.config.state_dir)
            os.close(self._state_lock)
            self._state_lock = None

    def _bootstrap_demo(self) -> None:
        assert self.plan is not None and self._demo_password is not None
        address = f"127.0.0.1:{self.plan.service_ports['auth']}"
        try:
            ensure_demo_account(auth_address=address, password=self._demo_password)
        except grpc.RpcError as error:
            raise StackStartError(f"cannot create the demo account: {error}") from error

    def _bootstrap_demo_data(self) -> None:
        assert self.plan is not None
        address = f"127.0.0.1:{self.plan.service_ports['data-discovery']}"
        try:
            added = ensure_demo_data(
                data_discovery_address=address, env=self.env, state_dir=self.config.state_dir
            )
            log.info("demo collections ready (added: %s)", ", ".join(added) or "none")
        except Exception:
            # The API works without demo data: report, and keep the stack running.
            log.exception("could not create the demo collections; the stack keeps running")
        finally:
            self._demo_data_done.set()


def banner(stack: LocalStack) -> str:
    """What `eoplex run` prints once the stack is up."""
    return "\n".join(
        [
            "",
            "eoplex is running.",
            f"  openEO API:      {stack.api_url}",
            f"  well-known:      {stack.well_known_url}",
            f"  demo user:       {stack.demo_user}",
            f"  demo password:   {stack.demo_password}",
            f"  logs:            {stack.log_dir}",
            "Ctrl-C to stop.",
            "",
        ]
    )


def run_stack() -> int:
    """`eoplex run`: start the stack, print where it answers, stop it on SIGINT/SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = StackConfig.from_environment(os.environ)
    if not port_is_free(config.port):
        log.error("port %d is in use (another eoplex?); choose one with OPENEO_PORT", config.port)
        return 1
    stack = LocalStack(config=config)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stack.request_stop()
        stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    try:
        stack.start()
        # The URL once the demo collections are listed: a client that connects at once
        # must not find an empty back-end.
        if not stack.wait_for_demo_data(timeout_seconds=0):
            print("eoplex is preparing the demo collections...", flush=True)
        while not stack.wait_for_demo_data(timeout_seconds=0.5) and not stopping.is_set():
            pass
        if not stopping.is_set():
            print(banner(stack), flush=True)
        stopping.wait()
        log.info("stopping")
    except StackStartError as error:
        if not stopping.is_set():
            log.error("%s", error)
            return 1
    finally:
        stack.stop()
    return 0
