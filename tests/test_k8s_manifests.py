"""The Kubernetes deployment (deploy/k8s): every kustomization renders with `kubectl
kustomize` and passes `kubernetes-validate --strict`; every service has what a production
Deployment needs; RBAC and network policies are as narrow as documented; the executor Job
the jobs service's launcher builds from each overlay's settings is valid too.

kubectl and kubernetes-validate come with `make install`: a missing one fails these
tests, it does not skip them.
"""

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from kubernetes.utils import parse_quantity

from deploy.k8s import validate
from deploy.k8s.validate import KUSTOMIZATIONS, Manifest, find

ROOT = Path(__file__).resolve().parents[1]
SERVICES = sorted(path.name for path in (ROOT / "services").iterdir() if path.is_dir())
WORKLOADS = ("Deployment", "StatefulSet")
UPSTREAM_CREDENTIALS = "eoplex-upstream-credentials"


@cache
def rendered(kustomization: str) -> tuple[Manifest, ...]:
    return tuple(validate.load(validate.render(kustomization)))


def of_kind(manifests: tuple[Manifest, ...], *kinds: str) -> list[Manifest]:
    return [manifest for manifest in manifests if manifest["kind"] in kinds]


def write(path: Path, manifests: list[Manifest]) -> Path:
    path.write_text(yaml.safe_dump_all(manifests, sort_keys=False))
    return path


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_kustomization_renders_and_validates_strictly(kustomization: str, tmp_path: Path) -> None:
    manifests = list(rendered(kustomization))
    assert len(manifests) > 50
    validate.kubernetes_validate([write(tmp_path / "manifests.yaml", manifests)])


def test_strict_validation_refuses_an_unknown_field(tmp_path: Path) -> None:
    deployment = find(list(rendered("base")), "Deployment", "gateway", "eoplex")
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grcp"] = {}
    with pytest.raises(RuntimeError, match="grcp"):
        validate.kubernetes_validate([write(tmp_path / "broken.yaml", [broken])])


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_deployed(kustomization: str, service: str) -> None:
    manifests = list(rendered(kustomization))
    deployment = find(manifests, "Deployment", service, "eoplex")
    pod = deployment["spec"]["template"]["spec"]
    assert find(manifests, "ServiceAccount", service, "eoplex")
    assert pod["serviceAccountName"] == service
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert find(manifests, "Service", service, "eoplex")["spec"]["selector"] == selector
    assert find(manifests, "PodDisruptionBudget", service, "eoplex")["spec"]["selector"] == {
        "matchLabels": selector
    }
    (container,) = pod["containers"]
    assert container["image"].split("/")[-1].startswith(f"eoplex-{service}:")
    assert {"readinessProbe", "livenessProbe", "startupProbe"} <= container.keys()
    if service == "gateway":
        assert container["readinessProbe"]["httpGet"]["path"] == "/.well-known/openeo"
    else:
        # The standard gRPC health service every service registers (eoplex_common.rpc),
        # on the port the service listens on, on every interface.
        port = container["ports"][0]["containerPort"]
        assert container["readinessProbe"]["grpc"] == {"port": port}
        assert container["livenessProbe"]["grpc"] == {"port": port}
        listen = f"OPENEO_{service.replace('-', '_').upper()}_LISTEN"
        assert {"name": listen, "value": f"0.0.0.0:{port}"} in container["env"]


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_workload_is_bounded_and_unprivileged(kustomization: str) -> None:
    workloads = of_kind(rendered(kustomization), *WORKLOADS)
    assert workloads
    for workload in workloads:
        assert_hardened_pod(workload["spec"]["template"]["spec"])
        name = workload["metadata"]["name"]
        token = workload["spec"]["template"]["spec"]["automountServiceAccountToken"]
        # Only the jobs service talks to the Kubernetes API, with a projected token.
        assert token is False, name
        mounts = [
            m["mountPath"]
            for m in workload["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        ]
        has_token = "/var/run/secrets/kubernetes.io/serviceaccount" in mounts
        assert has_token == (name == "jobs"), name


def assert_hardened_pod(pod: dict[str, Any]) -> None:
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] >= 10000
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security.get("runAsNonRoot", True) is True
        resources = container["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys()
        assert {"cpu", "memory"} <= resources["limits"].keys()
        # Writable scratch space exists only as emptyDir volumes, e.g. /tmp.
        mounts = {mount["mountPath"] for mount in container.get("volumeMounts", [])}
        assert "/tmp" in mounts


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_gateway_and_executor_scale_horizontally(kustomization: str) -> None:
    manifests = list(rendered(kustomization))
    for name in ("gateway", "executor"):
        hpa = find(manifests, "HorizontalPodAutoscaler", name, "eoplex")
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        # The HPA owns the replica count.
        assert "replicas" not in find(manifests, "Deployment", name, "eoplex")["spec"]


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_only_the_gateway_is_exposed_with_tls(kustomization: str) -> None:
    ingress = find(list(rendered(kustomization)), "Ingress", "gateway", "eoplex")
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["backend"]["service"]["name"] == "gateway"
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_jobs_service_may_do_only_what_the_launcher_does(kustomization: str) -> None:
    manifests = list(rendered(kustomization))
    settings = validate.launcher_settings(manifests)
    assert not of_kind(rendered(kustomization), "ClusterRole", "ClusterRoleBinding")
    (binding,) = of_kind(rendered(kustomization), "RoleBinding")
    assert binding["metadata"]["namespace"] == settings.namespace == "eoplex-jobs"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "jobs", "namespace": "eoplex"}
    ]
    (role,) = of_kind(rendered(kustomization), "Role")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    # KubernetesLauncher: create/read/delete its Jobs, create the Secrets that hand them
    # their specs (deleted with them by Kubernetes), list their pods; nothing else.
    assert role["metadata"]["namespace"] == settings.namespace
    assert role["rules"] == [
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "delete"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
    ]


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_network_policies_deny_by_default(kustomization: str) -> None:
    manifests = rendered(kustomization)
    policies = of_kind(manifests, "NetworkPolicy")
    namespaces = {m["metadata"]["name"] for m in of_kind(manifests, "Namespace")}
    assert namespaces == {"eoplex", "eoplex-jobs"}
    for namespace in namespaces:
        deny = find(list(policies), "NetworkPolicy", "default-deny", namespace)
        assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    # Only the gateway (and dev's MinIO, for presigned downloads) accept the ingress
    # controller's traffic; the executors never reach auth, capabilities or each other.
    from_controller = [
        p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
        for p in policies
        if any(
            source.get("namespaceSelector", {})
            .get("matchLabels", {})
            .get("kubernetes.io/metadata.name")
            == "ingress-nginx"
            for rule in p["spec"].get("ingress", [])
            for source in rule.get("from", [])
        )
    ]
    assert set(from_controller) <= {"gateway", "minio"} and "gateway" in from_controller
    from_executors = find(list(policies), "NetworkPolicy", "grpc-from-executors", "eoplex")
    callees = from_executors["spec"]["podSelector"]["matchExpressions"][0]["values"]
    # A batch Job gets its spec at launch; of the jobs service, load_stac reads the
    # caller's results (decision 0009).
    assert sorted(callees) == ["data-discovery", "files", "jobs", "processes"]


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_executor_job_of_the_configured_launcher_is_valid(
    kustomization: str, tmp_path: Path
) -> None:
    manifests = list(rendered(kustomization))
    job = validate.executor_job(manifests)
    validate.kubernetes_validate([write(tmp_path / "job.yaml", [job])])

    settings = validate.launcher_settings(manifests)
    assert settings.launcher == "kubernetes"
    pod = job["spec"]["template"]["spec"]
    assert_hardened_pod(pod)
    # The Job runs where the Role lets the launcher create it, as an existing account,
    # with the image of the executor Deployment (kept equal by `replacements`).
    assert job["metadata"]["namespace"] == "eoplex-jobs"
    assert find(manifests, "ServiceAccount", pod["serviceAccountName"], "eoplex-jobs")
    executor = find(manifests, "Deployment", "executor", "eoplex")
    (container,) = pod["containers"]
    assert container["image"] == executor["spec"]["template"]["spec"]["containers"][0]["image"]
    # It reaches the services and S3 at the same places as the services themselves.
    environment = {item["name"]: item.get("value") for item in container["env"]}
    shared = find(manifests, "ConfigMap", "eoplex-config", "eoplex")["data"]
    assert environment["OPENEO_JOBS_RESULTS_BUCKET"] == shared["OPENEO_JOBS_RESULTS_BUCKET"]
    # The same S3 server, by its qualified name from eoplex-jobs (dev's in-cluster MinIO).
    job_s3 = urlsplit(environment["OPENEO_S3_ENDPOINT"])
    service_s3 = urlsplit(shared["OPENEO_S3_ENDPOINT"])
    assert (job_s3.scheme, job_s3.port) == (service_s3.scheme, service_s3.port)
    qualified = f"{service_s3.hostname}.eoplex.svc.cluster.local"
    assert job_s3.hostname in (service_s3.hostname, qualified)
    for name in ("DATA_DISCOVERY", "PROCESSES", "FILES", "JOBS"):
        service = shared[f"OPENEO_{name}_ADDRESS"].split(":")[0]
        assert environment[f"OPENEO_{name}_ADDRESS"].startswith(f"{service}.eoplex.svc")
    secrets = {
        item["valueFrom"]["secretKeyRef"]["name"]
        for item in container["env"]
        if "valueFrom" in item
    }
    assert secrets == {"executor-credentials"}
    # Its spec comes in the Secret the launcher creates with the Job, named like it.
    (spec,) = [volume for volume in pod["volumes"] if volume["name"] == "spec"]
    assert spec["secret"]["secretName"] == job["metadata"]["name"]


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_limit_range_admits_every_job_the_launcher_accepts(kustomization: str) -> None:
    manifests = list(rendered(kustomization))
    settings = validate.launcher_settings(manifests)
    limit_range = find(manifests, "LimitRange", "executor-jobs", "eoplex-jobs")
    (limits,) = limit_range["spec"]["limits"]
    maximums = [settings.max_limits, *settings.tenant_max_limits.values()]
    for resource in ("cpu", "memory"):
        largest = max(parse_quantity(m[resource]) for m in maximums if resource in m)
        assert parse_quantity(limits["max"][resource]) == largest
        assert parse_quantity(settings.default_limits[resource]) <= largest


def secret_names(pod: dict[str, Any]) -> set[str]:
    """The Secrets a pod's containers take variables from or its volumes mount."""
    from_env = {
        item["valueFrom"]["secretKeyRef"]["name"]
        for container in pod["containers"]
        for item in container.get("env", [])
        if "secretKeyRef" in item.get("valueFrom", {})
    }
    mounted = {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
    return from_env | mounted


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_each_service_reads_only_its_own_credentials(kustomization: str) -> None:
    """A service's pod holds its own logins to the datastores, no other service's."""
    deployments = of_kind(rendered(kustomization), "Deployment")
    assert {d["metadata"]["name"] for d in deployments} == set(SERVICES)
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        expected = set() if name == "gateway" else {f"{name}-credentials"}
        if name == "data-discovery":
            # The operator's keys to the s3:// assets of external collections.
            expected.add(UPSTREAM_CREDENTIALS)
        assert secret_names(deployment["spec"]["template"]["spec"]) == expected, name


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_data_discovery_reads_upstream_credentials_from_an_optional_secret(
    kustomization: str,
) -> None:
    manifests = list(rendered(kustomization))
    pod = find(manifests, "Deployment", "data-discovery", "eoplex")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if "secret" in v]
    assert volume["secret"] == {
        "secretName": UPSTREAM_CREDENTIALS,
        "optional": True,
        "defaultMode": 0o400,
    }
    (container,) = pod["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mount["readOnly"] is True
    environment = {item["name"]: item.get("value") for item in container["env"]}
    assert environment["OPENEO_DATA_DISCOVERY_CREDENTIALS_DIR"] == mount["mountPath"]
    # Nobody else sees them: no other workload mounts or reads the Secret.
    others = [
        w["spec"]["template"]["spec"]
        for w in of_kind(tuple(manifests), *WORKLOADS)
        if w["metadata"]["name"] != "data-discovery"
    ]
    assert not any(UPSTREAM_CREDENTIALS in secret_names(other) for other in others)


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_data_discovery_reaches_public_stac_apis_over_https_only(kustomization: str) -> None:
    policy = find(
        list(rendered(kustomization)), "NetworkPolicy", "data-discovery-to-stac-apis", "eoplex"
    )
    assert policy["spec"]["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/name": "data-discovery"}
    }
    (rule,) = policy["spec"]["egress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 443}]
    (destination,) = rule["to"]
    assert destination["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8"} <= set(
        destination["ipBlock"]["except"]
    )


def test_dev_datastores_refuse_clients_without_a_services_login() -> None:
    """NATS has a user per service and MongoDB a user per database (issue 13, Low)."""
    manifests = rendered("overlays/dev")
    nats = find(list(manifests), "StatefulSet", "nats", "eoplex")["spec"]["template"]["spec"]
    (container,) = nats["containers"]
    assert "--config=/etc/nats/nats-auth.conf" in container["args"]
    (auth,) = [v for v in nats["volumes"] if "secret" in v]
    secret = find(list(manifests), "Secret", auth["secret"]["secretName"], "eoplex")
    config = base64.b64decode(secret["data"]["nats-auth.conf"]).decode()
    for service in ("capabilities", "data-discovery", "jobs", "files", "executor"):
        url = urlsplit(credential(manifests, service, "nats-url"))
        assert f"{{user: {url.username}, password: {url.password}}}" in config
    mongodb = find(list(manifests), "StatefulSet", "mongodb", "eoplex")
    environment = {
        item["name"]: item["valueFrom"]["secretKeyRef"]
        for item in mongodb["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    for service in ("auth", "data-discovery", "processes", "jobs"):
        url = urlsplit(credential(manifests, service, "mongodb-url"))
        assert url.username == service
        reference = environment[f"EOPLEX_{service.replace('-', '_').upper()}_PASSWORD"]
        users = find(list(manifests), "Secret", reference["name"], "eoplex")
        assert base64.b64decode(users["data"][reference["key"]]).decode() == url.password


def credential(manifests: tuple[Manifest, ...], service: str, key: str) -> str:
    namespace = "eoplex-jobs" if service == "executor" else "eoplex"
    secret = find(list(manifests), "Secret", f"{service}-credentials", namespace)
    return base64.b64decode(secret["data"][key]).decode()


def test_dev_secrets_exist_wherever_they_are_referenced() -> None:
    manifests = list(rendered("overlays/dev"))
    job = validate.executor_job(manifests)
    references = [
        (namespace, item["valueFrom"]["secretKeyRef"])
        for namespace, pod in [
            *(
                (w["metadata"]["namespace"], w["spec"]["template"]["spec"])
                for w in of_kind(tuple(manifests), *WORKLOADS)
            ),
            ("eoplex-jobs", job["spec"]["template"]["spec"]),
        ]
        for container in pod["containers"]
        for item in container.get("env", [])
        if "secretKeyRef" in item.get("valueFrom", {})
    ]
    assert references
    for namespace, reference in references:
        secret = find(manifests, "Secret", reference["name"], namespace)
        assert reference["key"] in secret["data"], (namespace, reference)
