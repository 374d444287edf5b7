"""Restarting the local stack on the same state directory keeps ports, users and tokens."""

import base64
import json
import urllib.request
from pathlib import Path

import pytest

from eoplex.servers import free_port
from eoplex.stack import LocalStack, StackConfig


def get_json(url: str, authorization: str) -> dict[str, object]:
    request = urllib.request.Request(url, headers={"Authorization": authorization})
    with urllib.request.urlopen(request, timeout=10) as response:
        document: dict[str, object] = json.load(response)
    return document


def log_in(stack: LocalStack) -> str:
    credentials = f"{stack.demo_user}:{stack.demo_password}".encode()
    basic = "Basic " + base64.b64encode(credentials).decode()
    token = get_json(stack.api_url + "credentials/basic", basic)["access_token"]
    return f"Bearer basic//{token}"


# Two whole stacks start and stop in this test: more than the suite's 120 s on a busy machine.
@pytest.mark.timeout(300)
def test_a_restart_keeps_the_demo_password_tokens_and_server_ports(tmp_path: Path) -> None:
    config = StackConfig(port=free_port(), state_dir=tmp_path)
    first = LocalStack(config=config)
    try:
        first.start()
        bearer = log_in(first)
        server_urls = {key: value for key, value in first.env.items() if key.endswith("_URL")}
    finally:
        first.stop()

    second = LocalStack(config=config)
    try:
        second.start()
        me = get_json(second.api_url + "me", bearer)
        assert log_in(second)
        assert {key: second.env[key] for key in server_urls} == server_urls
    finally:
        second.stop()
    assert second.demo_password == first.demo_password
    assert me["name"] == "demo"
