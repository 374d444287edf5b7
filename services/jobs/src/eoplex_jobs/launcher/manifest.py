"""The Kubernetes `batch/v1` Job that runs one batch job, and the Secret that hands it
its spec: pure functions of the job and the settings, so tests compare them with
expected dicts."""

import base64
import hashlib
import math
import re
from typing import Any

from kubernetes.utils import parse_quantity

from eoplex_common.documents import Document
from eoplex_common.errors import BadRequest
from eoplex_jobs.launcher.settings import LauncherSettings

EXECUTOR_UID = 10001
# Where the executor reads its spec: the key `spec` of the Secret of its Job, mounted.
SPEC_DIRECTORY = "/etc/eoplex-job"
SPEC_KEY = "spec"
# The job options (as the openEO client's `job_options`) that set the executor's resources.
RESOURCE_OPTIONS = ("memory", "cpu")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_LABEL_VALUE_MAX = 63
# The executor's variable for the threads that compute one job (see `_environment`).
DASK_THREADS_VARIABLE = "OPENEO_EXECUTOR_DASK_THREADS"
# A positive Kubernetes quantity (no sign), as the API server accepts it.
_QUANTITY = re.compile(r"([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[mkMGTPE]|[eE][0-9]+)?")


def job_name(job_id: str) -> str:
    """The name of the Kubernetes Job of a batch job."""
    return f"eoplex-job-{job_id}"


def job_labels(job: Document) -> dict[str, str]:
    """The labels of the Job and its pods: what runs, for which job, user and tenant."""
    return {
        "app.kubernetes.io/name": "eoplex-executor",
        "eoplex.io/job-id": label_value(job["_id"]),
        "eoplex.io/user-id": label_value(job["user_id"]),
        "eoplex.io/tenant-id": label_value(job["tenant_id"]),
    }


def label_value(value: str) -> str:
    """`value` if it is a valid label value; otherwise its valid characters and a hash
    of it (user ids are often e-mail addresses or OIDC subjects), so distinct ids keep
    distinct labels."""
    if len(value) <= _LABEL_VALUE_MAX and _LABEL_VALUE.fullmatch(value):
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:12]
    readable = re.sub(r"[^A-Za-z0-9_.-]", "_", value)[:48].strip("-_.")
    return f"{readable}-{digest}" if readable else digest


def job_resources(
    job_options: Document, settings: LauncherSettings, *, tenant_id: str | None = None
) -> dict[str, dict[str, str]]:
    """Requests and limits: the settings' defaults, replaced by the job options `memory`
    and `cpu` (e.g. `{"memory": "4Gi", "cpu": 2}`) for both requests and limits.

    Raises BadRequest for a value that is not a positive Kubernetes quantity or that is
    over the tenant's maximum (`max_limits_for`; `max_limits` without a tenant).
    """
    requests, limits = dict(settings.default_requests), dict(settings.default_limits)
    maximums = settings.max_limits if tenant_id is None else settings.max_limits_for(tenant_id)
    for name in RESOURCE_OPTIONS:
        if name in job_options:
            value = _quantity(name, job_options[name])
            maximum = maximums.get(name)
            if maximum is not None and parse_quantity(value) > parse_quantity(maximum):
                raise BadRequest(
                    reason=f"job option '{name}' asks for {value}, more than the maximum {maximum}."
                )
            requests[name] = limits[name] = value
    return {"requests": requests, "limits": limits}


def _named(job: Document, settings: LauncherSettings) -> Document:
    """The name, namespace and labels the Job of `job` and its Secret share."""
    return {
        "name": job_name(job["_id"]),
        "namespace": settings.namespace,
        "labels": job_labels(job),
    }


def build_spec_secret(
    job: Document, spec: bytes, settings: LauncherSettings, *, job_uid: str
) -> Document:
    """The Secret holding the serialized spec of `job`, named like its Job and owned by it
    (`job_uid`), so that Kubernetes deletes it with the Job. A Secret rather than a
    ConfigMap: the process graph is the user's, and may name private data."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            **_named(job, settings),
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": job_name(job["_id"]),
                    "uid": job_uid,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "type": "Opaque",
        "immutable": True,
        "data": {SPEC_KEY: base64.b64encode(spec).decode()},
    }


def build_job_manifest(job: Document, settings: LauncherSettings) -> Document:
    """The `batch/v1` Job running `python -m eoplex_executor run-job <job_id> <spec>`, the
    spec mounted from the Secret of `build_spec_secret` (the pod waits for it).

    One attempt (`backoffLimit: 0`: the executor reports its own failures), a deadline,
    clean-up after `ttlSecondsAfterFinished`, a non-root read-only container whose only
    writable place is an emptyDir at /tmp. Raises BadRequest for invalid resource options.
    """
    labels = job_labels(job)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            **_named(job, settings),
            # Annotations take any string: the ids as they are, for operators.
            "annotations": {
                "eoplex.io/user-id": job["user_id"],
                "eoplex.io/tenant-id": job["tenant_id"],
            },
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": settings.active_deadline_seconds,
            "ttlSecondsAfterFinished": settings.ttl_seconds_after_finished,
            "template": {
                "metadata": {"labels": labels},
                "spec": _pod_spec(job, settings),
            },
        },
    }


def _pod_spec(job: Document, settings: LauncherSettings) -> Document:
    resources = job_resources(job.get("job_options") or {}, settings, tenant_id=job["tenant_id"])
    return {
        "restartPolicy": "Never",
        "serviceAccountName": settings.service_account,
        # The executor never talks to the Kubernetes API.
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": EXECUTOR_UID,
            "runAsGroup": EXECUTOR_UID,
            "fsGroup": EXECUTOR_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "nodeSelector": dict(settings.node_selector),
        "tolerations": [dict(toleration) for toleration in settings.tolerations],
        "containers": [
            {
                "name": "executor",
                "image": settings.executor_image,
                "imagePullPolicy": settings.image_pull_policy,
                "command": [
                    "python",
                    "-m",
                    "eoplex_executor",
                    "run-job",
                    job["_id"],
                    f"{SPEC_DIRECTORY}/{SPEC_KEY}",
                ],
                "env": _environment(settings, cpu_limit=resources["limits"].get("cpu")),
                "resources": resources,
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "runAsNonRoot": True,
                    "capabilities": {"drop": ["ALL"]},
                },
                "volumeMounts": [
                    {"name": "scratch", "mountPath": "/tmp"},
                    {"name": "spec", "mountPath": SPEC_DIRECTORY, "readOnly": True},
                ],
            }
        ],
        "volumes": [
            {"name": "scratch", "emptyDir": {"sizeLimit": settings.scratch_size_limit}},
            {
                "name": "spec",
                # Readable by the executor's group (fsGroup) only.
                "secret": {"secretName": job_name(job["_id"]), "defaultMode": 0o440},
            },
        ],
    }


def dask_threads(cpu_limit: str | None) -> int | None:
    """The threads a job computes with: its CPU limit rounded up (at least 1); None
    without a limit (the executor then uses every CPU it sees)."""
    if cpu_limit is None:
        return None
    return max(1, math.ceil(parse_quantity(cpu_limit)))


def _environment(settings: LauncherSettings, *, cpu_limit: str | None) -> list[dict[str, Any]]:
    """Literal variables, then those read from Secrets (which win over a literal). The
    dask threads follow the Job's CPU limit: the executor would otherwise start a thread
    per CPU of the node, far more than the limit lets run."""
    variables = dict(settings.env)
    threads = dask_threads(cpu_limit)
    if threads is not None:
        variables[DASK_THREADS_VARIABLE] = str(threads)
    literal = [
        {"name": name, "value": value}
        for name, value in sorted(variables.items())
        if name not in settings.secret_env
    ]
    secret = [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}
        for name, ref in sorted(settings.secret_env.items())
    ]
    return literal + secret


def _quantity(name: str, value: Any) -> str:
    """A job option as a positive Kubernetes quantity string; BadRequest otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadRequest(reason=f"job option '{name}' must be a quantity such as '2Gi' or 2.")
    text = str(value)
    if not _QUANTITY.fullmatch(text) or parse_quantity(text) <= 0:
        raise BadRequest(
            reason=f"job option '{name}' must be a positive quantity such as '2Gi' or 2, "
            f"got {text!r}."
        )
    return text
