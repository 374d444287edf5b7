"""The Kubernetes launcher: one `batch/v1` Job per batch job.

The official client is synchronous; every call runs in a worker thread so the event
loop keeps serving. The jobs service's service account needs, in the executor
namespace: jobs `create`, `get`, `delete`; secrets `create`; pods `list`.

The Job comes first, then the Secret with the job's spec, owned by the Job (its uid),
so that Kubernetes deletes the Secret with the Job (cancel, `ttlSecondsAfterFinished`);
the pod's spec volume waits for the Secret. A Secret that cannot be created deletes
the Job again: a pod that never gets its spec would only wait for the heartbeat timeout.
"""

import asyncio
from typing import Any

from kubernetes.client import ApiClient, BatchV1Api, CoreV1Api, V1DeleteOptions
from kubernetes.client.exceptions import ApiException

from eoplex_common.documents import Document
from eoplex_jobs.launcher.manifest import build_job_manifest, build_spec_secret, label_value
from eoplex_jobs.launcher.protocol import LaunchStatus
from eoplex_jobs.launcher.settings import LauncherSettings
from eoplex_proto.openeo.jobs.v1 import jobs_pb2

_CONFLICT, _NOT_FOUND = 409, 404
_FAILED_CONDITIONS = ("Failed", "FailureTarget")


class KubernetesLauncher:
    """Starts executors as Kubernetes Jobs named `eoplex-job-<job_id>`."""

    def __init__(self, settings: LauncherSettings, api_client: ApiClient) -> None:
        self.settings = settings
        self.api_client = api_client
        self.batch = BatchV1Api(api_client)
        self.core = CoreV1Api(api_client)

    async def launch(self, job: Document, spec: jobs_pb2.JobSpec) -> Document:
        """Create the Job of `build_job_manifest`, then the Secret of `build_spec_secret`.
        Raises BadRequest for invalid resource options, and the client's ApiException
        when the API server refuses."""
        manifest = build_job_manifest(job, self.settings)
        name, namespace = manifest["metadata"]["name"], manifest["metadata"]["namespace"]
        try:
            # The client sends a dict body as it is; its annotations only name the model.
            created = await asyncio.to_thread(self.batch.create_namespaced_job, namespace, manifest)  # type: ignore[arg-type]
        except ApiException as error:
            # A scheduler that stopped between creating the Job and acknowledging the
            # message launches again: the Job is already there, which is what it wants.
            if error.status != _CONFLICT:
                raise
            created = await asyncio.to_thread(self.batch.read_namespaced_job, name, namespace)
        # The API server always sets the uid; a Secret owned by no uid is refused below.
        uid = (created.metadata.uid if created.metadata else None) or ""
        secret = build_spec_secret(job, spec.SerializeToString(), self.settings, job_uid=uid)
        try:
            await asyncio.to_thread(self.core.create_namespaced_secret, namespace, secret)  # type: ignore[arg-type]
        except ApiException as error:
            if error.status != _CONFLICT:
                await self.cancel({"launcher_ref": self._ref(name, namespace)})
                raise
        return self._ref(name, namespace)

    @staticmethod
    def _ref(name: str, namespace: str) -> Document:
        return {"kind": "kubernetes", "name": name, "namespace": namespace}

    async def status(self, job: Document) -> LaunchStatus:
        """Alive while the Job runs; else why not: "OOMKilled", "evicted", "deadline
        exceeded", the container's exit code, or the Job's own failure reason."""
        ref = job.get("launcher_ref") or {}
        if ref.get("kind") != "kubernetes":
            return LaunchStatus(alive=False, reason="the executor was never launched")
        name, namespace = ref["name"], ref["namespace"]
        try:
            k8s_job = await asyncio.to_thread(self.batch.read_namespaced_job, name, namespace)
        except ApiException as error:
            if error.status == _NOT_FOUND:
                return LaunchStatus(alive=False, reason=f"the Kubernetes Job {name} is gone")
            raise
        pods = await asyncio.to_thread(
            self.core.list_namespaced_pod,
            namespace,
            label_selector=f"eoplex.io/job-id={label_value(job['_id'])}",
        )
        return job_status(self._plain(k8s_job), [self._plain(pod) for pod in pods.items])

    async def cancel(self, job: Document) -> None:
        """Delete the Job with foreground propagation, so its pods go first."""
        ref = job.get("launcher_ref") or {}
        if ref.get("kind") != "kubernetes":
            return
        try:
            await asyncio.to_thread(
                self.batch.delete_namespaced_job,
                ref["name"],
                ref["namespace"],
                body=V1DeleteOptions(propagation_policy="Foreground"),
            )
        except ApiException as error:
            if error.status != _NOT_FOUND:
                raise

    def _plain(self, model: Any) -> Document:
        """A client model as the API's JSON (camelCase keys), for `job_status`."""
        plain: Document = self.api_client.sanitize_for_serialization(model)
        return plain


def job_status(k8s_job: Document, pods: list[Document]) -> LaunchStatus:
    """Whether a Job (and its pods, as API JSON) still runs the executor, and if not why."""
    conditions = [
        condition
        for condition in (k8s_job.get("status") or {}).get("conditions") or []
        if condition.get("status") == "True"
    ]
    failed = [c for c in conditions if c.get("type") in _FAILED_CONDITIONS]
    if failed and failed[0].get("reason") == "DeadlineExceeded":
        # The pod was killed for it: its own exit code would hide the cause.
        return LaunchStatus(alive=False, reason=_described("deadline exceeded", failed[0]))
    for pod in pods:
        reason = pod_end_reason(pod)
        if reason is not None:
            return LaunchStatus(alive=False, reason=reason)
    if failed:
        return LaunchStatus(
            alive=False,
            reason=_described(f"the Kubernetes Job failed ({failed[0].get('reason')})", failed[0]),
        )
    if any(c.get("type") == "Complete" for c in conditions):
        return LaunchStatus(alive=False, reason="the Kubernetes Job completed")
    return LaunchStatus(alive=True)


def pod_end_reason(pod: Document) -> str | None:
    """Why an executor pod ended (evicted, OOMKilled, exit code), or None while it runs."""
    status = pod.get("status") or {}
    if status.get("reason") == "Evicted":
        return _described("evicted", status)
    for container in status.get("containerStatuses") or []:
        terminated = (container.get("state") or {}).get("terminated")
        if terminated is None:
            continue
        if terminated.get("reason") == "OOMKilled":
            return (
                "OOMKilled: the executor ran out of memory (the job option 'memory' asks for more)"
            )
        return f"exit code {terminated.get('exitCode')}"
    if status.get("phase") in ("Failed", "Succeeded"):
        return _described(f"the pod {status['phase'].lower()}", status)
    return None


def _described(reason: str, source: Document) -> str:
    message = source.get("message")
    return f"{reason}: {message}" if message else reason
