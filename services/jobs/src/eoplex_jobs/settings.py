"""Settings of the jobs service (prefix `OPENEO_JOBS_`)."""

from typing import Annotated

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from eoplex_common.pricing import PricingSettings
from eoplex_common.settings import ServiceSettings


class JobsSettings(ServiceSettings, PricingSettings):
    """Where the jobs service listens, where results go, how jobs are admitted, watched
    and estimated; the launchers' own settings are `launcher.settings.LauncherSettings`
    (same prefix); infrastructure URLs come from `ServiceSettings`."""

    model_config = SettingsConfigDict(env_prefix="OPENEO_JOBS_", extra="ignore")

    listen: str = "127.0.0.1:50065"

    # Results: the executor writes `jobs/<job_id>/<file>` into this bucket.
    results_bucket: str = "eoplex-results"
    result_url_expiry_seconds: int = Field(7 * 24 * 3600, gt=0, le=7 * 24 * 3600)
    # What clients can reach (e.g. behind an ingress); presigned URLs are signed for this
    # host. Global, as every service handing out S3 URLs must agree on it.
    s3_public_endpoint: str | None = Field(
        None, validation_alias=AliasChoices("OPENEO_S3_PUBLIC_ENDPOINT")
    )

    # Admission: the tenant's limit comes from the auth service (0 = none).
    max_concurrent_per_user: int = Field(2, ge=0)
    scheduler_retry_delay_seconds: float = Field(2.0, gt=0)

    # The reconciler: how often it looks, and when a running job is given up.
    reconcile_interval_seconds: float = Field(5.0, gt=0)
    exit_grace_seconds: float = Field(5.0, ge=0)
    heartbeat_timeout_seconds: float = Field(60.0, gt=0)

    # Estimates: the back-end's price (`cost_per_megapixel`, from `PricingSettings`), and a
    # throughput.
    estimate_megapixels_per_second: float = Field(50.0, gt=0)

    # The most pixels one batch job may read and produce (0: no limit), checked on the
    # executor's estimate when the job starts and again while it runs; per tenant instead,
    # e.g. `OPENEO_JOBS_TENANT_MAX_PIXELS='{"research": 1000000000000}'`.
    max_pixels: int = Field(10_000_000_000, ge=0)
    tenant_max_pixels: dict[str, Annotated[int, Field(ge=0)]] = {}

    def max_pixels_for(self, tenant_id: str) -> int:
        """The most pixels one batch job of `tenant_id` may read and produce; 0: no limit."""
        return self.tenant_max_pixels.get(tenant_id, self.max_pixels)
