"""`make k8s-validate`: everything about the Kubernetes deployment that can be checked
without a cluster.

1. hadolint on `deploy/Dockerfile`, from which every service's image is built;
2. `kubectl kustomize` of the base and of every overlay;
3. `kubernetes-validate --strict` of the rendered manifests, and of the executor Job the
   jobs service's launcher builds with the settings each overlay gives it;
4. checkov on all of it (`deploy/k8s/.checkov.yaml` lists each skipped check and why).

Every tool comes from the project's install (`.venv/bin`), checkov from its own venv;
nothing is downloaded. `tests/test_k8s_manifests.py` uses the same functions.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import yaml

from eoplex_jobs.launcher import LauncherSettings, build_job_manifest

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATIONS = ("base", "overlays/dev", "overlays/prod")
# The newest Kubernetes whose schemas kubernetes-validate ships.
KUBERNETES_VERSION = "1.37.0"
CHECKOV_CONFIG = K8S / ".checkov.yaml"
TOOLS = Path(sys.executable).parent
# A batch job as the jobs service stores it, asking for resources every overlay allows.
SAMPLE_JOB: dict[str, Any] = {
    "_id": "j-0123456789abcdef01234567",
    "user_id": "alice@example.org",
    "tenant_id": "research",
    "job_options": {"memory": "4Gi", "cpu": 2},
}

Manifest = dict[str, Any]


class _Dumper(yaml.SafeDumper):
    """YAML without anchors: the Job's labels appear twice, written out both times."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def tool(name: str) -> str:
    """The path of a tool installed into the project's venv; FileNotFoundError if absent
    (`make install` provides them all)."""
    path = TOOLS / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make install`")
    return str(path)


def dockerfiles() -> list[Path]:
    """The Dockerfile of every service's image (`make images`)."""
    return [ROOT / "deploy" / "Dockerfile"]


def render(kustomization: str) -> str:
    """The manifests of `deploy/k8s/<kustomization>`, as `kubectl kustomize` prints them."""
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(K8S / kustomization)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {kustomization} failed:\n{result.stderr}")
    return result.stdout


def load(text: str) -> list[Manifest]:
    """The documents of a multi-document YAML text."""
    return [document for document in yaml.safe_load_all(text) if document]


def find(manifests: list[Manifest], kind: str, name: str, namespace: str) -> Manifest:
    """The one manifest of that kind, name (or generated name `<name>-<hash>`) and
    namespace; LookupError when there is none."""
    for manifest in manifests:
        metadata = manifest["metadata"]
        generated = manifest["kind"] == "ConfigMap" and metadata["name"].startswith(name + "-")
        if (
            manifest["kind"] == kind
            and (metadata["name"] == name or generated)
            and metadata.get("namespace") == namespace
        ):
            return manifest
    raise LookupError(f"no {kind} {namespace}/{name}")


@contextmanager
def _only_environment(variables: dict[str, str]) -> Iterator[None]:
    """The process environment replaced by `variables` for the duration, so settings are
    read exactly as the jobs service's container would read them."""
    with mock.patch.dict(os.environ, variables, clear=True):
        yield


def launcher_settings(manifests: list[Manifest]) -> LauncherSettings:
    """The launcher settings the jobs Deployment gets from its ConfigMaps (`envFrom`)."""
    deployment = find(manifests, "Deployment", "jobs", "eoplex")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    variables: dict[str, str] = {}
    for source in container.get("envFrom", []):
        config_map = find(manifests, "ConfigMap", source["configMapRef"]["name"], "eoplex")
        variables.update(config_map.get("data", {}))
    variables.update(
        {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}
    )
    with _only_environment(variables):
        return LauncherSettings()


def executor_job(manifests: list[Manifest]) -> Manifest:
    """The `batch/v1` Job the launcher would create for `SAMPLE_JOB` in this deployment."""
    return build_job_manifest(SAMPLE_JOB, launcher_settings(manifests))


def kubernetes_validate(paths: list[Path]) -> None:
    """`kubernetes-validate --strict` against KUBERNETES_VERSION; RuntimeError on failure."""
    command = [tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES_VERSION]
    _run([*command, *map(str, paths)], "kubernetes-validate")


def hadolint(paths: list[Path]) -> None:
    """hadolint with the repository's `.hadolint.yaml`; RuntimeError on any finding."""
    config = ["--config", str(ROOT / ".hadolint.yaml")]
    _run([tool("hadolint"), *config, *map(str, paths)], "hadolint")


def checkov(checkov_bin: str, paths: list[Path]) -> None:
    """checkov (Kubernetes and Dockerfile checks) with `.checkov.yaml`; RuntimeError on any
    failed check that is not skipped there."""
    files = [argument for path in paths for argument in ("--file", str(path))]
    _run([checkov_bin, "--config-file", str(CHECKOV_CONFIG), *files], "checkov")


def _run(command: list[str], name: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{result.stdout}\n{result.stderr}")
    if result.stdout.strip():
        print(result.stdout.strip())


def render_all(directory: Path) -> list[Path]:
    """Every kustomization rendered into `directory`, with the executor Job of each."""
    paths = []
    for kustomization in KUSTOMIZATIONS:
        name = kustomization.replace("/", "-")
        text = render(kustomization)
        rendered = directory / f"{name}.yaml"
        rendered.write_text(text)
        job = directory / f"{name}-executor-job.yaml"
        job.write_text(yaml.dump(executor_job(load(text)), Dumper=_Dumper, sort_keys=False))
        paths += [rendered, job]
    return paths


def main() -> None:
    """Entry point of `make k8s-validate`; exits non-zero at the first failing step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkov", required=True, help="the checkov executable")
    arguments = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="eoplex-k8s-") as directory:
        steps = [
            ("hadolint", lambda: hadolint(dockerfiles())),
            ("kustomize", lambda: manifests.extend(render_all(Path(directory)))),
            ("kubernetes-validate", lambda: kubernetes_validate(manifests)),
            ("checkov", lambda: checkov(arguments.checkov, [*manifests, *dockerfiles()])),
        ]
        manifests: list[Path] = []
        for name, step in steps:
            step_started = time.monotonic()
            try:
                step()
            except RuntimeError as error:
                sys.exit(str(error))
            print(f"{name}: ok ({time.monotonic() - step_started:.1f} s)")
    print(f"k8s-validate: ok ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
