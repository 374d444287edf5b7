"""Settings of the launchers (prefix `OPENEO_JOBS_`), built at start-up and passed in."""

import sys
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SecretKeyRef(BaseModel):
    """A key of a Kubernetes Secret, e.g. `{"name": "eoplex-s3", "key": "secret-key"}`."""

    name: str
    key: str


class LauncherSettings(BaseSettings):
    """How batch jobs are started: a local subprocess, or a Kubernetes `batch/v1` Job.

    Lists and dicts are read from the environment as JSON, e.g.
    `OPENEO_JOBS_MAX_LIMITS='{"memory": "16Gi", "cpu": "4"}'`.
    """

    model_config = SettingsConfigDict(env_prefix="OPENEO_JOBS_", extra="ignore")

    launcher: Literal["local", "kubernetes"] = "local"

    # local: the command line before the job id; a test or an operator may replace it.
    executor_command: list[str] = Field(
        default_factory=lambda: [sys.executable, "-m", "eoplex_executor", "run-job"]
    )
    # local: where each job's stdout/stderr file (`logs/<job_id>.log`) is written.
    state_dir: Path = Path(tempfile.gettempdir()) / "eoplex-jobs"
    # local: how long a canceled executor has to stop after SIGTERM before SIGKILL.
    cancel_grace_seconds: float = 5.0

    # kubernetes
    executor_image: str = "eoplex-executor:latest"
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    namespace: str = "default"
    service_account: str = "eoplex-executor"
    default_requests: dict[str, str] = {"memory": "2Gi", "cpu": "1"}
    default_limits: dict[str, str] = {"memory": "2Gi", "cpu": "1"}
    # The most a job's options may ask for; over it the job is refused, not clamped.
    max_limits: dict[str, str] = {"memory": "16Gi", "cpu": "4"}
    # Per tenant, replacing `max_limits` resource by resource, e.g.
    # `{"research": {"memory": "64Gi", "cpu": "16"}}`; other tenants get `max_limits`.
    tenant_max_limits: dict[str, dict[str, str]] = {}
    scratch_size_limit: str = "10Gi"
    node_selector: dict[str, str] = {}
    tolerations: list[dict[str, Any]] = []
    active_deadline_seconds: int = 6 * 3600
    # Long enough for the reconciler to read why a Job failed, short enough to clean up.
    ttl_seconds_after_finished: int = 3600
    # Literal environment of the executor (infrastructure URLs and addresses, no secrets).
    env: dict[str, str] = {}
    # Environment variables taken from Secrets, so no key appears in a manifest.
    secret_env: dict[str, SecretKeyRef] = {}

    def max_limits_for(self, tenant_id: str) -> dict[str, str]:
        """The most one job of `tenant_id` may ask for: its own limits over the defaults."""
        return {**self.max_limits, **self.tenant_max_limits.get(tenant_id, {})}
