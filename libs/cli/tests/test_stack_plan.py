"""The local stack's plan: configuration, remembered ports and keys, and the processes it runs."""

import json
import socket
import stat
import sys
from pathlib import Path

import pytest

from eoplex.credentials import S3_GRANTS, StackCredentials, remembered_credentials
from eoplex.demo import resolve_demo_password
from eoplex.servers import S3Credentials
from eoplex.stack import (
    SERVICES,
    LocalStack,
    ServerPorts,
    StackConfig,
    StackPlan,
    build_stages,
    make_plan,
    remembered_server_ports,
)
from eoplex.supervisor import RestartPolicy, exit_reason

SERVICE_PORTS = {service: 50100 + i for i, service in enumerate(SERVICES)}
PLAN = StackPlan(
    servers=ServerPorts(mongodb=27100, nats=4300, nats_monitor=8300, s3=8400),
    credentials=StackCredentials(
        nats_password="nats-pw",
        mongodb_passwords={"auth": "auth-pw", "jobs": "jobs-pw"},
        s3_keys={
            client: S3Credentials(f"{client}-key", f"{client}-secret") for client in S3_GRANTS
        },
    ),
    service_ports=SERVICE_PORTS,
)
ADDRESSES = {
    "OPENEO_AUTH_ADDRESS": "127.0.0.1:50100",
    "OPENEO_CAPABILITIES_ADDRESS": "127.0.0.1:50101",
    "OPENEO_FILES_ADDRESS": "127.0.0.1:50102",
    "OPENEO_DATA_DISCOVERY_ADDRESS": "127.0.0.1:50103",
    "OPENEO_PROCESSES_ADDRESS": "127.0.0.1:50104",
    "OPENEO_JOBS_ADDRESS": "127.0.0.1:50105",
    "OPENEO_EXECUTOR_ADDRESS": "127.0.0.1:50106",
}


def test_configuration_comes_from_the_environment(tmp_path: Path) -> None:
    env = {
        "OPENEO_PORT": "8123",
        "OPENEO_STATE_DIR": str(tmp_path),
        "OPENEO_NATS_URL": "nats://elsewhere:4222",
        "OPENEO_MONGODB_URL": "",
        "OPENEO_DEMO_PASSWORD": "pw",
    }
    config = StackConfig.from_environment(env)
    assert (config.port, config.state_dir, config.demo_password) == (8123, tmp_path, "pw")
    assert (config.nats_url, config.mongodb_url, config.s3_endpoint) == (
        "nats://elsewhere:4222",
        None,
        None,
    )


def test_defaults_are_port_8000_and_a_state_dir_here() -> None:
    config = StackConfig.from_environment({})
    assert config.port == 8000
    assert config.state_dir == Path(".state").absolute()


def test_with_every_server_configured_only_services_and_gateway_run() -> None:
    config = StackConfig(
        port=8123,
        state_dir=Path("/state"),
        mongodb_url="mongodb://db:27017",
        nats_url="nats://bus:4222",
        s3_endpoint="http://s3:9000",
        s3_access_key="ak",
        s3_secret_key="sk",
        python="/py",
    )
    stages = build_stages(config, PLAN)

    shared = {
        "OPENEO_MONGODB_URL": "mongodb://db:27017",
        "OPENEO_NATS_URL": "nats://bus:4222",
        "OPENEO_S3_ENDPOINT": "http://s3:9000",
        "OPENEO_JOBS_STATE_DIR": "/state/jobs",
        **ADDRESSES,
    }
    assert [[spec.name for spec in stage] for stage in stages] == [list(SERVICES), ["gateway"]]
    data_discovery = stages[0][3]
    assert data_discovery.argv == ["/py", "-m", "eoplex_data_discovery"]
    assert data_discovery.env == {**shared, "OPENEO_DATA_DISCOVERY_LISTEN": "127.0.0.1:50103"}
    gateway = stages[1][0]
    assert gateway.argv == ["/py", "-m", "eoplex_gateway"]
    assert gateway.env == {**shared, "OPENEO_PORT": "8123", "OPENEO_GATEWAY_HOST": "127.0.0.1"}


def test_unconfigured_servers_run_first_with_their_state_in_the_state_dir(tmp_path: Path) -> None:
    config = StackConfig(port=8123, state_dir=tmp_path, python="/py")
    servers, services, _ = build_stages(config, PLAN)

    names = ["mongodb", "nats", "s3-master", "s3-volume", "s3-filer", "s3"]
    assert [spec.name for spec in servers] == names
    mongodb, nats, master, volume, filer, s3 = (spec.argv for spec in servers)
    assert mongodb[mongodb.index("--port") + 1] == "27100"
    assert mongodb[mongodb.index("--storage-path") + 1] == str(tmp_path / "mongodb")
    assert nats[nats.index("--store_dir") + 1] == str(tmp_path / "nats")
    assert f"-mdir={tmp_path / 's3' / 'master'}" in master
    assert f"-dir={tmp_path / 's3'}" in volume
    assert f"-defaultStoreDir={tmp_path / 's3'}" in filer
    assert "-port=8400" in s3
    assert "--auth" in mongodb
    by_name = {spec.name: spec.env for spec in services}
    assert by_name["auth"]["OPENEO_MONGODB_URL"] == "mongodb://auth:auth-pw@127.0.0.1:27100"
    assert by_name["jobs"]["OPENEO_MONGODB_URL"] == "mongodb://jobs:jobs-pw@127.0.0.1:27100"
    # Capabilities only pings, which needs no login.
    assert by_name["capabilities"]["OPENEO_MONGODB_URL"] == "mongodb://127.0.0.1:27100"
    assert all(
        env["OPENEO_NATS_URL"] == "nats://eoplex:nats-pw@127.0.0.1:4300" for env in by_name.values()
    )
    assert by_name["files"]["OPENEO_S3_ENDPOINT"] == "http://127.0.0.1:8400"
    assert by_name["files"]["OPENEO_S3_ACCESS_KEY"] == "files-key"
    assert by_name["files"]["OPENEO_S3_SECRET_KEY"] == "files-secret"
    assert by_name["executor"]["OPENEO_S3_ACCESS_KEY"] == "executor-key"
    assert "OPENEO_S3_ACCESS_KEY" not in by_name["auth"]
    # The jobs service starts batch executors (locally) with the executor's logins.
    assert json.loads(by_name["jobs"]["OPENEO_JOBS_ENV"]) == {
        "OPENEO_MONGODB_URL": "mongodb://127.0.0.1:27100",
        "OPENEO_S3_ACCESS_KEY": "executor-key",
        "OPENEO_S3_SECRET_KEY": "executor-secret",
    }
    assert (tmp_path / "nats" / "auth.conf").read_text() == (
        'authorization {\n  user: "eoplex"\n  password: "nats-pw"\n}\n'
    )
    assert stat.S_IMODE((tmp_path / "nats" / "auth.conf").stat().st_mode) == 0o600
    identities = json.loads((tmp_path / "s3" / "s3-identities.json").read_text())["identities"]
    assert {i["name"]: i["actions"] for i in identities} == {
        client: list(actions) for client, actions in S3_GRANTS.items()
    }


def test_every_listener_is_on_loopback(tmp_path: Path) -> None:
    config = StackConfig(state_dir=tmp_path, python=sys.executable)
    stages = build_stages(config, make_plan(config))
    services = [spec for stage in stages for spec in stage if spec.name in SERVICES]
    assert all(
        spec.env[f"OPENEO_{spec.name.replace('-', '_').upper()}_LISTEN"].startswith("127.0.0.1:")
        for spec in services
    )
    assert all("127.0.0.1" in spec.argv or "-ip.bind=127.0.0.1" in spec.argv for spec in stages[0])


def test_the_s3_servers_unix_sockets_are_in_a_private_directory_of_the_state(
    tmp_path: Path,
) -> None:
    config = StackConfig(state_dir=tmp_path, python=sys.executable)
    servers = build_stages(config, PLAN)[0]
    sockets = tmp_path / "s3" / "sockets"
    options = [arg for spec in servers for arg in spec.argv if "Socket=" in arg]
    assert sorted(options) == [
        f"-localFilerSocket={sockets / 'filer.sock'}",
        f"-localSocket={sockets / 'filer.sock'}",
        f"-localSocket={sockets / 's3.sock'}",
    ]
    assert stat.S_IMODE(sockets.stat().st_mode) == 0o700
    # weed's temporary files (its logs among them) stay in the state dir too.
    assert {spec.env.get("TMPDIR") for spec in servers if spec.name.startswith("s3")} == {
        str(tmp_path / "s3" / "tmp")
    }


def test_a_state_dir_too_long_for_a_unix_socket_is_refused_clearly(tmp_path: Path) -> None:
    config = StackConfig(state_dir=tmp_path / ("x" * 100), python=sys.executable)
    with pytest.raises(ValueError, match="choose a shorter state directory"):
        build_stages(config, PLAN)


def test_server_ports_are_remembered_while_free(tmp_path: Path) -> None:
    first = remembered_server_ports(tmp_path)
    assert remembered_server_ports(tmp_path) == first
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", first.nats))
        squatter.listen()
        third = remembered_server_ports(tmp_path)
    assert third.nats != first.nats
    assert (third.mongodb, third.s3) == (first.mongodb, first.s3)


def test_credentials_are_generated_once_each_its_own_and_private(tmp_path: Path) -> None:
    first = remembered_credentials(tmp_path)
    assert remembered_credentials(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "credentials.json").stat().st_mode) == 0o600
    secrets = [
        first.nats_password,
        *first.mongodb_passwords.values(),
        *(keys.secret_key for keys in first.s3_keys.values()),
    ]
    assert len(set(secrets)) == len(secrets) == 1 + 4 + len(S3_GRANTS)
    assert all(len(secret) >= 32 for secret in secrets)
    assert len({keys.access_key for keys in first.s3_keys.values()}) == len(S3_GRANTS)


def test_a_credential_missing_from_the_file_is_added_and_the_others_kept(tmp_path: Path) -> None:
    first = remembered_credentials(tmp_path)
    saved = json.loads((tmp_path / "credentials.json").read_text())
    del saved["mongodb"]["jobs"]
    (tmp_path / "credentials.json").write_text(json.dumps(saved))
    again = remembered_credentials(tmp_path)
    assert again.mongodb_passwords["jobs"] != first.mongodb_passwords["jobs"]
    assert (again.nats_password, again.s3_keys) == (first.nats_password, first.s3_keys)


def test_operator_tools_get_the_admin_s3_key_and_no_database_login(tmp_path: Path) -> None:
    stack = LocalStack(config=StackConfig(state_dir=tmp_path))
    stack.plan = PLAN
    assert stack.env["OPENEO_S3_ACCESS_KEY"] == "admin-key"
    assert stack.env["OPENEO_MONGODB_URL"] == "mongodb://127.0.0.1:27100"


def test_a_configured_demo_password_is_forced_on_the_user(tmp_path: Path) -> None:
    password = resolve_demo_password(configured="from-env", state_dir=tmp_path)
    assert (password.value, password.enforce) == ("from-env", True)
    assert not (tmp_path / "demo-password").exists()


def test_a_generated_demo_password_is_stored_privately_and_reused(tmp_path: Path) -> None:
    first = resolve_demo_password(configured=None, state_dir=tmp_path)
    again = resolve_demo_password(configured=None, state_dir=tmp_path)
    assert first.enforce and not again.enforce
    assert again.value == first.value
    assert stat.S_IMODE((tmp_path / "demo-password").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("returncode", "reason"),
    [
        (0, "reason=Completed exit_code=0"),
        (2, "reason=Error exit_code=2"),
        (-9, "reason=Error exit_code=137 signal=SIGKILL"),
        (-15, "reason=Error exit_code=143 signal=SIGTERM"),
    ],
)
def test_exit_reasons_read_like_kubernetes(returncode: int, reason: str) -> None:
    assert exit_reason(returncode) == reason


def test_backoff_doubles_up_to_its_maximum() -> None:
    policy = RestartPolicy()
    assert [policy.backoff(n) for n in range(1, 10)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
