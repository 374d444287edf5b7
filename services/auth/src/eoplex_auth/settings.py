"""Settings of the auth service (prefix `OPENEO_AUTH_`), including the OpenID Connect providers."""

from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import SettingsConfigDict

from eoplex_common.settings import ServiceSettings

# The grant types openEO allows for default clients (public clients, so no client secret).
GrantType = Literal[
    "implicit",
    "authorization_code",
    "authorization_code+pkce",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:device_code+pkce",
    "refresh_token",
]


def _default_grant_types() -> list[GrantType]:
    return ["authorization_code+pkce"]


class OidcClient(BaseModel):
    """A default client an openEO client may use with a provider (GET /credentials/oidc)."""

    id: str = Field(min_length=1)
    grant_types: list[GrantType] = Field(default_factory=_default_grant_types, min_length=1)
    redirect_urls: list[str] = Field(default_factory=list)


class OidcProvider(BaseModel):
    """One OpenID Connect provider whose tokens the back-end accepts.

    A JWT is accepted only if its `aud` names `audience`, or, when `audience` is not set,
    one of the `default_clients`; one of the two is required, because a provider issues
    tokens to many applications and an unchecked audience would accept all of them.
    Opaque (non-JWT) access tokens carry no audience; they are refused unless
    `accept_opaque_tokens` is set, in which case the provider's userinfo endpoint decides.
    """

    id: str = Field(pattern=r"^[A-Za-z0-9_]{1,20}$")
    issuer: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str | None = None
    scopes: list[str] = Field(default_factory=lambda: ["openid"])
    audience: str | None = None
    default_clients: list[OidcClient] = Field(default_factory=list)
    tenant_claim: str | None = None
    default_tenant: str | None = None
    accept_opaque_tokens: bool = False

    @model_validator(mode="after")
    def _audience_is_checkable(self) -> Self:
        if not self.audience and not self.default_clients:
            raise ValueError(f"OIDC provider {self.id!r} needs `audience` or `default_clients`")
        if "openid" not in self.scopes:
            raise ValueError(f"OIDC provider {self.id!r}: `scopes` must contain 'openid'")
        return self

    @property
    def audiences(self) -> list[str]:
        """The `aud` values a token of this provider may carry."""
        if self.audience:
            return [self.audience]
        return [client.id for client in self.default_clients]


class AuthSettings(ServiceSettings):
    """Token lifetime, login rate limits, default tenant and quotas, OIDC providers."""

    model_config = SettingsConfigDict(env_prefix="OPENEO_AUTH_", extra="ignore")

    listen: str = "127.0.0.1:50061"
    token_lifetime_seconds: int = Field(86400, gt=0)
    # Failed logins allowed within the window, per (user name, client address), per
    # address across user names, and per user name across addresses (a brake that spares
    # addresses the user logged in from during the last `login_known_address_days`).
    login_max_failures: int = Field(5, gt=0)
    login_max_failures_per_address: int = Field(30, gt=0)
    login_max_failures_per_user: int = Field(100, gt=0)
    login_failure_window_seconds: int = Field(300, gt=0)
    login_known_address_days: int = Field(30, gt=0)
    # Per replica: logins of one address verified at once and waiting for their turn
    # (more get 429 at once), and password verifications (argon2: a core and 64 MiB
    # each) running at once.
    login_max_concurrent_per_address: int = Field(2, gt=0)
    login_max_waiting_per_address: int = Field(8, ge=0)
    login_max_concurrent_verifications: int = Field(2, gt=0)
    default_tenant: str = "default"
    default_max_concurrent_jobs: int = Field(2, ge=0)
    default_max_storage_bytes: int = Field(10 * 1024**3, ge=0)
    default_max_sync_pixels: int = Field(100_000_000, ge=0)
    oidc_providers: list[OidcProvider] = Field(default_factory=list)
    oidc_name_claim: str = "preferred_username"
    oidc_leeway_seconds: int = Field(30, ge=0)
    oidc_metadata_cache_seconds: int = Field(3600, gt=0)
    oidc_timeout_seconds: float = Field(5.0, gt=0)

    @model_validator(mode="after")
    def _provider_ids_unique(self) -> Self:
        ids = [provider.id for provider in self.oidc_providers]
        if len(ids) != len(set(ids)):
            raise ValueError("OIDC provider ids must be unique")
        return self
