"""build_job_manifest: the Kubernetes Job of a batch job, compared with expected dicts.

No Kubernetes JSON-schema validator (kubeconform, kubeval, the OpenAPI schemas) is
installed, so the structure is checked by a round trip through the official client's
`V1Job` model: a key the model does not know, or a value of the wrong type, would not
come back unchanged.
"""

import json
import re

import pytest
from kubernetes.client import ApiClient

from eoplex_common.errors import BadRequest
from eoplex_jobs.launcher import LauncherSettings, build_job_manifest
from eoplex_jobs.launcher.manifest import build_spec_secret, job_resources, label_value
from eoplex_jobs.launcher.settings import SecretKeyRef

JOB = {
    "_id": "j-0123456789abcdef01234567",
    "user_id": "alice",
    "tenant_id": "lab",
    "job_options": {"memory": "4Gi", "cpu": 2},
}
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def settings(**overrides: object) -> LauncherSettings:
    values: dict[str, object] = {
        "executor_image": "registry.example/eoplex-executor:1.0",
        "namespace": "eoplex-jobs",
        "service_account": "executor",
        "default_requests": {"memory": "1Gi", "cpu": "500m"},
        "default_limits": {"memory": "2Gi", "cpu": "1"},
        "max_limits": {"memory": "8Gi", "cpu": "4"},
        "node_selector": {"eoplex.io/pool": "batch"},
        "tolerations": [{"key": "batch", "operator": "Exists", "effect": "NoSchedule"}],
        "active_deadline_seconds": 7200,
        "ttl_seconds_after_finished": 600,
        "env": {"OPENEO_NATS_URL": "nats://nats:4222", "OPENEO_S3_SECRET_KEY": "leaked"},
        "secret_env": {"OPENEO_S3_SECRET_KEY": SecretKeyRef(name="eoplex-s3", key="secret-key")},
    }
    return LauncherSettings(**{**values, **overrides})  # type: ignore[arg-type]


def test_the_whole_manifest() -> None:
    labels = {
        "app.kubernetes.io/name": "eoplex-executor",
        "eoplex.io/job-id": "j-0123456789abcdef01234567",
        "eoplex.io/user-id": "alice",
        "eoplex.io/tenant-id": "lab",
    }
    assert build_job_manifest(JOB, settings()) == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "eoplex-job-j-0123456789abcdef01234567",
            "namespace": "eoplex-jobs",
            "labels": labels,
            "annotations": {"eoplex.io/user-id": "alice", "eoplex.io/tenant-id": "lab"},
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": 7200,
            "ttlSecondsAfterFinished": 600,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": "executor",
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "fsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "nodeSelector": {"eoplex.io/pool": "batch"},
                    "tolerations": [{"key": "batch", "operator": "Exists", "effect": "NoSchedule"}],
                    "containers": [
                        {
                            "name": "executor",
                            "image": "registry.example/eoplex-executor:1.0",
                            "imagePullPolicy": "IfNotPresent",
                            "command": [
                                "python",
                                "-m",
                                "eoplex_executor",
                                "run-job",
                                "j-0123456789abcdef01234567",
                                "/etc/eoplex-job/spec",
                            ],
                            "env": [
                                # The job's CPU limit of 2 (job option `cpu`).
                                {"name": "OPENEO_EXECUTOR_DASK_THREADS", "value": "2"},
                                {"name": "OPENEO_NATS_URL", "value": "nats://nats:4222"},
                                {
                                    "name": "OPENEO_S3_SECRET_KEY",
                                    "valueFrom": {
                                        "secretKeyRef": {"name": "eoplex-s3", "key": "secret-key"}
                                    },
                                },
                            ],
                            "resources": {
                                "requests": {"memory": "4Gi", "cpu": "2"},
                                "limits": {"memory": "4Gi", "cpu": "2"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "runAsNonRoot": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": [
                                {"name": "scratch", "mountPath": "/tmp"},
                                {"name": "spec", "mountPath": "/etc/eoplex-job", "readOnly": True},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "scratch", "emptyDir": {"sizeLimit": "10Gi"}},
                        {
                            "name": "spec",
                            "secret": {
                                "secretName": "eoplex-job-j-0123456789abcdef01234567",
                                "defaultMode": 0o440,
                            },
                        },
                    ],
                },
            },
        },
    }


def test_the_spec_secret_is_owned_by_the_job() -> None:
    secret = build_spec_secret(JOB, b"\x0a\x01", settings(), job_uid="uid-1")
    name = "eoplex-job-j-0123456789abcdef01234567"
    assert secret["metadata"]["name"] == name
    assert secret["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": name,
            "uid": "uid-1",
            "blockOwnerDeletion": True,
        }
    ]
    assert secret["data"] == {"spec": "CgE="}
    client = ApiClient()
    model = client.deserialize(json.dumps(secret), "V1Secret", "application/json")
    assert client.sanitize_for_serialization(model) == secret


def test_the_manifest_is_a_valid_v1_job() -> None:
    manifest = build_job_manifest(JOB, settings())
    client = ApiClient()
    model = client.deserialize(json.dumps(manifest), "V1Job", "application/json")
    assert client.sanitize_for_serialization(model) == manifest


def test_no_secret_value_appears_in_the_manifest() -> None:
    assert "leaked" not in json.dumps(build_job_manifest(JOB, settings()))


def test_without_job_options_the_defaults_apply() -> None:
    resources = job_resources({}, settings())
    assert resources == {
        "requests": {"memory": "1Gi", "cpu": "500m"},
        "limits": {"memory": "2Gi", "cpu": "1"},
    }


def test_one_option_replaces_only_its_resource() -> None:
    resources = job_resources({"cpu": "1500m", "unrelated": "x"}, settings())
    assert resources == {
        "requests": {"memory": "1Gi", "cpu": "1500m"},
        "limits": {"memory": "2Gi", "cpu": "1500m"},
    }


def test_the_maximum_itself_is_allowed() -> None:
    resources = job_resources({"memory": "8Gi", "cpu": 4}, settings())
    assert resources["limits"] == {"memory": "8Gi", "cpu": "4"}


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"memory": "9Gi"}, "job option 'memory' asks for 9Gi, more than the maximum 8Gi."),
        ({"memory": "8193Mi"}, "job option 'memory' asks for 8193Mi, more than the maximum 8Gi."),
        ({"cpu": 4.5}, "job option 'cpu' asks for 4.5, more than the maximum 4."),
    ],
)
def test_over_the_maximum_is_a_bad_request(options: dict, reason: str) -> None:
    with pytest.raises(BadRequest) as error:
        job_resources(options, settings())
    assert error.value.message == f"Invalid request: {reason}"


@pytest.mark.parametrize("value", ["lots", "2 Gi", "-1Gi", "0", True, None, [2]])
def test_a_value_that_is_no_positive_quantity_is_a_bad_request(value: object) -> None:
    with pytest.raises(BadRequest) as error:
        job_resources({"memory": value}, settings())
    assert "job option 'memory'" in error.value.message


def test_a_bad_option_fails_the_whole_manifest() -> None:
    with pytest.raises(BadRequest):
        build_job_manifest({**JOB, "job_options": {"cpu": 64}}, settings())


@pytest.mark.parametrize("value", ["alice", "j-0123", "A.b_c-9", "x" * 63])
def test_valid_label_values_stay_as_they_are(value: str) -> None:
    assert label_value(value) == value


@pytest.mark.parametrize(
    "value",
    ["alice@example.org", "oidc|sub 42", "-leading", "x" * 64, "@@@"],
)
def test_other_ids_become_valid_distinct_label_values(value: str) -> None:
    label = label_value(value)
    assert LABEL_VALUE.fullmatch(label) and len(label) <= 63
    assert label != label_value(value + "!")


def test_a_user_id_becomes_a_readable_hashed_label() -> None:
    manifest = build_job_manifest({**JOB, "user_id": "alice@example.org"}, settings())
    label = manifest["metadata"]["labels"]["eoplex.io/user-id"]
    assert label.startswith("alice_example.org-")
    assert manifest["metadata"]["annotations"]["eoplex.io/user-id"] == "alice@example.org"


@pytest.mark.parametrize(
    ("cpu", "threads"), [("500m", "1"), ("1", "1"), ("1500m", "2"), (4, "4"), ("2.5", "3")]
)
def test_the_executor_computes_with_as_many_threads_as_its_cpu_limit(
    cpu: object, threads: str
) -> None:
    job = {**JOB, "job_options": {"cpu": cpu}}
    (container,) = build_job_manifest(job, settings())["spec"]["template"]["spec"]["containers"]
    assert {"name": "OPENEO_EXECUTOR_DASK_THREADS", "value": threads} in container["env"]
    # Also over a value the operator set for every job.
    operator_set = settings(env={"OPENEO_EXECUTOR_DASK_THREADS": "64"})
    (container,) = build_job_manifest(job, operator_set)["spec"]["template"]["spec"]["containers"]
    names = [item["name"] for item in container["env"]]
    assert names.count("OPENEO_EXECUTOR_DASK_THREADS") == 1
    assert {"name": "OPENEO_EXECUTOR_DASK_THREADS", "value": threads} in container["env"]
