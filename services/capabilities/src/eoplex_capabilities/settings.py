"""Settings of the capabilities service (prefix `OPENEO_CAPABILITIES_`)."""

from pydantic_settings import SettingsConfigDict

from eoplex_common.pricing import PricingSettings
from eoplex_common.settings import ServiceSettings


class CapabilitiesSettings(ServiceSettings, PricingSettings):
    """How the back-end introduces itself in `GET /` (its `billing.currency` is the
    back-end's, from `PricingSettings`) and how long health checks may take."""

    model_config = SettingsConfigDict(env_prefix="OPENEO_CAPABILITIES_", extra="ignore")

    listen: str = "127.0.0.1:50062"
    backend_id: str = "eoplex"
    title: str = "eoplex"
    description: str = "An openEO back-end built as Kubernetes-native microservices."
    production: bool = False
    terms_of_service_url: str | None = None
    privacy_policy_url: str | None = None
    health_timeout_seconds: float = 2.0
