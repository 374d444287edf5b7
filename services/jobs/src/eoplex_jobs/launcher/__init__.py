"""Launchers start, watch and stop the executor of a batch job (`run-job <job_id>`):
a local subprocess or a Kubernetes Job, chosen by `OPENEO_JOBS_LAUNCHER`."""

from kubernetes import config
from kubernetes.client import ApiClient, Configuration

from eoplex_jobs.launcher.kubernetes import KubernetesLauncher
from eoplex_jobs.launcher.local import LocalLauncher
from eoplex_jobs.launcher.manifest import build_job_manifest
from eoplex_jobs.launcher.protocol import Launcher, LaunchStatus
from eoplex_jobs.launcher.settings import LauncherSettings

__all__ = [
    "KubernetesLauncher",
    "LaunchStatus",
    "Launcher",
    "LauncherSettings",
    "LocalLauncher",
    "build_job_manifest",
    "kubernetes_api_client",
    "make_launcher",
]


def make_launcher(settings: LauncherSettings) -> Launcher:
    """The launcher `settings.launcher` names (`local` or `kubernetes`)."""
    if settings.launcher == "kubernetes":
        return KubernetesLauncher(settings, kubernetes_api_client())
    return LocalLauncher(settings)


def kubernetes_api_client() -> ApiClient:
    """A client with the pod's service account inside a cluster, else the current
    kubeconfig context (an operator running the jobs service outside the cluster)."""
    configuration = Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)
    except config.ConfigException:
        config.load_kube_config(client_configuration=configuration)
    return ApiClient(configuration)
