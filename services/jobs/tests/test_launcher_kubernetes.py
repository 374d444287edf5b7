"""KubernetesLauncher against kmock's Kubernetes emulator (an HTTP server in the test).

What kmock cannot emulate, and so is not tested here:
- label selectors: a list of pods answers every pod of the namespace, so the tests put
  only the job's own pods there and check the `labelSelector` the launcher sent;
- the Job controller: no pod is started, no condition set, no deadline enforced; the
  tests write the Job's conditions and the pods' states as a cluster would;
- foreground deletion: the Job disappears at once instead of after its pods; the tests
  check that the launcher asked for `propagationPolicy: Foreground`.
"""

import base64
from collections.abc import Iterator

import kmock
import pytest
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException

from eoplex_jobs.launcher import KubernetesLauncher, LauncherSettings, LaunchStatus
from eoplex_jobs.launcher.kubernetes import job_status
from eoplex_proto.openeo.jobs.v1 import jobs_pb2

NAMESPACE = "eoplex-jobs"
JOB_ID = "j-0123456789abcdef01234567"
NAME = f"eoplex-job-{JOB_ID}"
JOBS, PODS, SECRETS = "batch/v1/jobs", "v1/pods", "v1/secrets"
JOB = {"_id": JOB_ID, "user_id": "alice@example.org", "tenant_id": "lab", "job_options": {}}
REF = {"kind": "kubernetes", "name": NAME, "namespace": NAMESPACE}
SPEC = jobs_pb2.JobSpec(job=jobs_pb2.Job(job_id=JOB_ID, status="running"), max_pixels=7)


@pytest.fixture
def api_client(kmock: kmock.KubernetesEmulator) -> Iterator[ApiClient]:
    configuration = Configuration(host=str(kmock.url).rstrip("/"))
    with ApiClient(configuration) as client:
        yield client


@pytest.fixture
def launcher(api_client: ApiClient) -> KubernetesLauncher:
    settings = LauncherSettings(launcher="kubernetes", namespace=NAMESPACE)
    return KubernetesLauncher(settings, api_client)


def running_job(*conditions: dict) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "status": {"active": 0 if conditions else 1, "conditions": list(conditions)},
    }


def pod(status: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{NAME}-x7k2p",
            "namespace": NAMESPACE,
            "labels": {"eoplex.io/job-id": JOB_ID},
        },
        "status": status,
    }


def terminated(reason: str, exit_code: int) -> dict:
    state = {"terminated": {"reason": reason, "exitCode": exit_code}}
    container = {
        "name": "executor",
        "image": "eoplex-executor:latest",
        "imageID": "",
        "ready": False,
        "restartCount": 0,
        "state": state,
    }
    return {"phase": "Failed", "containerStatuses": [container]}


def failed(reason: str, message: str) -> dict:
    return {"type": "Failed", "status": "True", "reason": reason, "message": message}


async def test_launch_creates_the_job_of_the_manifest(
    kmock: kmock.KubernetesEmulator, launcher: KubernetesLauncher
) -> None:
    ref = await launcher.launch(JOB, SPEC)
    assert ref == REF
    created = kmock.objects[JOBS, NAMESPACE, NAME]
    assert created["spec"]["backoffLimit"] == 0
    assert created["spec"]["template"]["spec"]["containers"][0]["command"][-2] == JOB_ID
    assert created["metadata"]["labels"]["eoplex.io/user-id"].startswith("alice_example.org-")


async def test_launch_hands_the_spec_over_in_a_secret_the_job_owns(
    kmock: kmock.KubernetesEmulator, launcher: KubernetesLauncher
) -> None:
    await launcher.launch(JOB, SPEC)
    secret = kmock.objects[SECRETS, NAMESPACE, NAME]
    assert base64.b64decode(secret["data"]["spec"]) == SPEC.SerializeToString()
    [owner] = secret["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"]) == ("Job", NAME)
    volumes = kmock.objects[JOBS, NAMESPACE, NAME]["spec"]["template"]["spec"]["volumes"]
    assert {"name": "spec", "secret": {"secretName": NAME, "defaultMode": 0o440}} in volumes


async def test_launching_again_owns_the_secret_by_the_job_already_there(
    kmock: kmock.KubernetesEmulator, launcher: KubernetesLauncher
) -> None:
    kmock.objects[JOBS, NAMESPACE, NAME] = {
        **running_job(),
        "metadata": {"name": NAME, "namespace": NAMESPACE, "uid": "uid-of-the-job"},
    }
    assert await launcher.launch(JOB, SPEC) == REF
    secret = kmock.objects[SECRETS, NAMESPACE, NAME]
    assert secret["metadata"]["ownerReferences"][0]["uid"] == "uid-of-the-job"


async def test_a_secret_that_cannot_be_created_deletes_the_job_again(
    kmock: kmock.KubernetesEmulator, launcher: KubernetesLauncher
) -> None:
    kmock["post /api/v1/namespaces/eoplex-jobs/secrets"] << 403 << {"message": "forbidden"}
    with pytest.raises(ApiException):
        await launcher.launch(JOB, SPEC)
    assert kmock[kmock.action.DELETE][-1].data["propagationPolicy"] == "Foreground"


async def test_launching_again_finds_the_job_already_there(
    kmock: kmock.KubernetesEmulator, launcher: KubernetesLauncher
) -> None:
    await launcher.launch(JOB, SPEC)
    assert await launcher.launch(JOB, SPEC) == REF
    # The Job and its Secret, each asked for twice.
    assert len(kmock[kmock.action.CREATE]) == 4
    assert set(kmock.objects.keys()) == {
        (kmock.resource(JOBS), NAMESPACE, NAME),
        (kmock.resource(SECRETS), NAMESPACE, NAME),
    }


async def test_a_job_whose_pod_runs_is_alive(
    kmock: kmock.KubernetesEmulator, launcher: KubernetesLauncher
) -> None:
    kmock.objects[JOBS, NAMESPACE, NAME] = running_job()
    kmock.objects[PODS, NAMESPACE, f"{NAME}-x7k2p"] = pod({"phase": "Running"})
    assert await launcher.status({**JOB, "launcher_ref": REF}) == LaunchStatus(alive=True)
    assert kmock[kmock.action.LIST][-1].params == {"labelSelector": f"eoplex.io/job-id={JOB_ID}"}


async def test_an_oom_killed_pod_is_the_reason(
    kmock: kmock.KubernetesEmulator, launcher: KubernetesLauncher
) -> None:
    kmock.objects[JOBS, NAMESPACE, NAME] = running_job(
        failed("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    )
    kmock.objects[PODS, NAMESPACE, f"{NAME}-x7k2p"] = pod(terminated("OOMKilled", 137))
    status = await launcher.status({**JOB, "launcher_ref": REF})
    assert status == LaunchStatus(
        alive=False,
        reason="OOMKilled: the executor ran out of memory (the job option 'memory' asks for more)",
    )


async def test_an_exceeded_deadline_is_the_reason(
    kmock: kmock.KubernetesEmulator, launcher: KubernetesLauncher
) -> None:
    message = "Job was active longer than specified deadline"
    kmock.objects[JOBS, NAMESPACE, NAME] = running_job(failed("DeadlineExceeded", message))
    kmock.objects[PODS, NAMESPACE, f"{NAME}-x7k2p"] = pod(terminated("Error", 143))
    status = await launcher.status({**JOB, "launcher_ref": REF})
    assert status == LaunchStatus(alive=False, reason=f"deadline exceeded: {message}")


async def test_an_evicted_pod_is_the_reason(
    kmock: kmock.KubernetesEmulator, launcher: KubernetesLauncher
) -> None:
    kmock.objects[JOBS, NAMESPACE, NAME] = running_job()
    message = "The node was low on resource: ephemeral-storage."
    kmock.objects[PODS, NAMESPACE, f"{NAME}-x7k2p"] = pod(
        {"phase": "Failed", "reason": "Evicted", "message": message}
    )
    status = await launcher.status({**JOB, "launcher_ref": REF})
    assert status == LaunchStatus(alive=False, reason=f"evicted: {message}")


async def test_a_deleted_job_is_gone(launcher: KubernetesLauncher) -> None:
    status = await launcher.status({**JOB, "launcher_ref": REF})
    assert status == LaunchStatus(alive=False, reason=f"the Kubernetes Job {NAME} is gone")


async def test_a_job_without_a_kubernetes_ref_was_never_launched(
    launcher: KubernetesLauncher,
) -> None:
    status = await launcher.status({**JOB, "launcher_ref": None})
    assert status == LaunchStatus(alive=False, reason="the executor was never launched")


async def test_cancel_deletes_the_job_with_foreground_propagation(
    kmock: kmock.KubernetesEmulator, launcher: KubernetesLauncher
) -> None:
    await launcher.launch(JOB, SPEC)
    await launcher.cancel({**JOB, "launcher_ref": REF})
    deletion = kmock[kmock.action.DELETE][-1]
    assert deletion.data["propagationPolicy"] == "Foreground"
    assert kmock.objects[JOBS, NAMESPACE, NAME].deleted


async def test_cancel_of_a_deleted_job_does_nothing(
    kmock: kmock.KubernetesEmulator, launcher: KubernetesLauncher
) -> None:
    await launcher.cancel({**JOB, "launcher_ref": REF})
    assert len(kmock[kmock.action.DELETE]) == 1


def test_a_completed_job_without_its_pods_has_ended() -> None:
    complete = {"type": "Complete", "status": "True"}
    assert job_status(running_job(complete), []) == LaunchStatus(
        alive=False, reason="the Kubernetes Job completed"
    )


def test_a_failed_job_without_its_pods_tells_the_condition() -> None:
    condition = failed("PodFailurePolicy", "Container executor failed")
    assert job_status(running_job(condition), []) == LaunchStatus(
        alive=False,
        reason="the Kubernetes Job failed (PodFailurePolicy): Container executor failed",
    )


def test_a_condition_that_is_not_true_does_not_count() -> None:
    condition = {**failed("DeadlineExceeded", "x"), "status": "False"}
    assert job_status(running_job(condition), [pod({"phase": "Pending"})]) == LaunchStatus(
        alive=True
    )
