"""The whole local stack as a session fixture, for end-to-end tests.

`local_stack` runs what `eoplex run` runs (real servers, every service, the
gateway) on free loopback ports in a temporary state directory, with a known demo
password, and stops it all when the session ends. Registered for everything under
`tests/` by `tests/conftest.py`; use it by naming it:

    def test_something(local_stack: LocalStack) -> None:
        connection = openeo.connect(local_stack.api_url)
        connection.authenticate_basic(local_stack.demo_user, local_stack.demo_password)
"""

import dataclasses
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import openeo
import pytest

from conftest import ServiceProcess
from eoplex.probes import http_ok
from eoplex.servers import (
    ProcessSpec,
    free_port,
    http_answers,
    start_process,
    stop_process,
    wait_ready,
)
from eoplex.stack import LocalStack, StackConfig, client_env, well_known_url


@dataclass(frozen=True)
class OidcIssuer:
    """The test OpenID Connect issuer (`tests/oidc_issuer.py`) and its one client."""

    provider_id: str
    url: str
    client_id: str
    client_secret: str

    def provider_config(self) -> dict[str, object]:
        """The entry of `OPENEO_AUTH_OIDC_PROVIDERS` that trusts this issuer."""
        return {
            "id": self.provider_id,
            "issuer": self.url,
            "title": "Test issuer",
            "scopes": ["openid"],
            "audience": self.client_id,
            "default_tenant": "oidc-users",
        }


def admin(stack: LocalStack, *argv: str) -> str:
    """`eoplex admin <argv>` against the running stack (as an operator would); what it printed."""
    command = [sys.executable, "-m", "eoplex", "admin", *argv]
    env = {**os.environ, **stack.env}
    done = subprocess.run(command, env=env, check=True, capture_output=True, timeout=60)
    return done.stdout.decode()


def demo_connection(stack: LocalStack) -> openeo.Connection:
    """The demo user's authenticated `openeo` connection, once the demo data is ingested."""
    assert stack.wait_for_demo_data(timeout_seconds=180)
    connection = openeo.connect(stack.api_url)
    connection.authenticate_basic(stack.demo_user, stack.demo_password)
    return connection


@contextmanager
def running(spec: ProcessSpec, *, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The process of `spec`, started and ready, for the with-block; stopped after it."""
    process = start_process(spec, log_path=log_path)
    try:
        wait_ready(spec, process)
        yield process
    finally:
        stop_process(process)


@contextmanager
def another_gateway(
    stack: LocalStack, name: str, *, env: Mapping[str, str], log_path: Path
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A second gateway on the stack's services, on a free loopback port, with the settings
    `env` adds; its port and process."""
    port = free_port()
    settings = {
        **stack.env,
        "OPENEO_PORT": str(port),
        "OPENEO_GATEWAY_HOST": "127.0.0.1",
        **env,
    }
    argv = [sys.executable, "-m", "eoplex_gateway"]
    spec = ProcessSpec(name, argv, http_ok(well_known_url(port)), env=settings)
    with running(spec, log_path=log_path) as process:
        yield port, process


@contextmanager
def guarded_gateway(stack: LocalStack, *, log_dir: Path) -> Iterator[str]:
    """The API URL of a second gateway whose synchronous requests run on an executor of
    their own that refuses private addresses to load_stac, as a deployment's does (the
    session's allows them, for the tests' catalogs on loopback)."""
    assert stack.plan is not None
    env = {
        **stack.env,
        **client_env(stack.config, stack.plan, "executor"),
        "OPENEO_EXECUTOR_STAC_ALLOW_PRIVATE_NETWORKS": "false",
        "OPENEO_EXECUTOR_WORKERS": "1",
    }
    executor = ServiceProcess("executor", env=env, log_dir=log_dir)
    # Its warm worker imports the whole executor: slower than 30 s on a busy machine.
    executor.spec = dataclasses.replace(executor.spec, ready_timeout_seconds=180)
    gateway_env = {"OPENEO_EXECUTOR_ADDRESS": executor.address}
    log_path = log_dir / "gateway.log"
    with (
        executor,
        another_gateway(stack, "gateway-guarded", env=gateway_env, log_path=log_path) as (port, _),
    ):
        yield f"http://127.0.0.1:{port}/openeo/1.2/"


@pytest.fixture(scope="session")
def oidc_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcIssuer]:
    """A real OIDC issuer process on loopback offering the client-credentials grant."""
    port = free_port()
    issuer = OidcIssuer("testidp", f"http://127.0.0.1:{port}", "robot", secrets.token_urlsafe(16))
    script = Path(__file__).with_name("oidc_issuer.py")
    argv = [sys.executable, str(script), "--port", str(port)]
    argv += ["--client-id", issuer.client_id, "--client-secret", issuer.client_secret]
    spec = ProcessSpec("oidc-issuer", argv, http_answers(f"{issuer.url}/jwks"))
    log = tmp_path_factory.mktemp("oidc-issuer") / "oidc-issuer.log"
    with running(spec, log_path=log):
        yield issuer


@pytest.fixture(scope="session")
def local_stack(
    tmp_path_factory: pytest.TempPathFactory, oidc_issuer: OidcIssuer
) -> Iterator[LocalStack]:
    """The running stack: `api_url`, `demo_user`, `demo_password`, `log_dir`, `pids`, `kill()`."""
    providers = json.dumps([oidc_issuer.provider_config()])
    config = StackConfig(
        port=free_port(),
        state_dir=tmp_path_factory.mktemp("stack"),
        demo_password=secrets.token_urlsafe(12),
        extra_env={
            "OPENEO_AUTH_OIDC_PROVIDERS": providers,
            # load_stac tests serve their catalogs on loopback, refused by default.
            "OPENEO_EXECUTOR_STAC_ALLOW_PRIVATE_NETWORKS": "true",
        },
    )
    stack = LocalStack(config=config)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
