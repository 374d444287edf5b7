"""`make images`: one `docker build` of deploy/Dockerfile per service, with build arguments
that name the service's package and module and listen where its Kubernetes Deployment
says. Docker is not needed: `make -n` prints the commands without running them.
"""

import os
import shlex
import subprocess
from functools import cache
from pathlib import Path

import pytest

from deploy.k8s import validate

ROOT = Path(__file__).resolve().parents[1]
SERVICES = sorted(path.name for path in (ROOT / "services").iterdir() if path.is_dir())


@cache
def builds() -> dict[str, dict[str, str]]:
    """The build arguments of each `docker build` that `make -n images` prints, by service."""
    # Under `make test` this make is nested: without the parent's variables it prints no
    # "Entering directory" lines and takes no flags of the parent's.
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    }
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "images"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    commands = [shlex.split(line) for line in printed.replace("\\\n", " ").splitlines()]
    result = {}
    for words in commands:
        assert words[:4] == ["docker", "build", "-f", "deploy/Dockerfile"], words
        assert words[-1] == "."
        arguments = dict(
            words[index + 1].split("=", 1)
            for index, word in enumerate(words)
            if word == "--build-arg"
        )
        result[arguments["SERVICE"]] = arguments | {"tag": words[words.index("-t") + 1]}
    assert len(result) == len(commands)
    return result


def test_every_service_has_one_image() -> None:
    assert sorted(builds()) == SERVICES


@cache
def base() -> list[validate.Manifest]:
    return validate.load(validate.render("base"))


@pytest.mark.parametrize("service", SERVICES)
def test_image_runs_the_service_where_its_deployment_listens(service: str) -> None:
    arguments = builds()[service]
    assert arguments["tag"] == f"eoplex-{service}:0.1.0"
    package = ROOT / "services" / service / "src" / arguments["MODULE"]
    assert (package / "__main__.py").is_file()
    deployment = validate.find(base(), "Deployment", service, "eoplex")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    listen = {"name": arguments["LISTEN_VARIABLE"], "value": arguments["LISTEN_ADDRESS"]}
    assert listen in container["env"]
    assert container["ports"][0]["containerPort"] == int(arguments["PORT"])
