"""Validation of OpenID Connect bearer tokens against a provider's discovery document and JWKS."""

import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from eoplex_auth.settings import OidcProvider
from eoplex_common.errors import ServiceUnavailable, TokenInvalid

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256", "ES256"]
# A forged `kid` must not turn every request into a JWKS download.
JWKS_MIN_REFETCH_SECONDS = 10.0


@dataclass
class _Cached:
    value: dict[str, Any]
    fetched_at: float


class ProviderKeys:
    """One provider's discovery document and JWKS, fetched lazily and cached."""

    def __init__(self, *, provider: OidcProvider, http: httpx.AsyncClient, ttl: float) -> None:
        self.provider = provider
        self.http = http
        self.ttl = ttl
        self._discovery: _Cached | None = None
        self._jwks: _Cached | None = None

    async def discovery(self) -> dict[str, Any]:
        """The provider's `/.well-known/openid-configuration`."""
        if self._discovery is None or self._expired(self._discovery):
            url = self.provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
            self._discovery = _Cached(await self._get_json(url), time.monotonic())
        return self._discovery.value

    async def signing_key(self, kid: str | None) -> jwt.PyJWK:
        """The JWKS key with `kid`, refetching the JWKS once if it is unknown (key rotation)."""
        if self._jwks is None or self._expired(self._jwks):
            await self._refresh_jwks()
        key = self._find_key(kid)
        if key is None and self._jwks_may_refetch():
            await self._refresh_jwks()
            key = self._find_key(kid)
        if key is None:
            raise TokenInvalid()
        return key

    async def userinfo(self, access_token: str) -> dict[str, Any]:
        """Claims from the userinfo endpoint for an opaque access token."""
        url = (await self.discovery()).get("userinfo_endpoint")
        if not isinstance(url, str):
            raise TokenInvalid()
        headers = {"Authorization": f"Bearer {access_token}"}
        response = await self._request(url, headers=headers)
        if response.status_code != 200:
            raise TokenInvalid()
        claims = response.json()
        if not isinstance(claims, dict) or not claims.get("sub"):
            raise TokenInvalid()
        return claims

    def _expired(self, cached: _Cached) -> bool:
        return time.monotonic() - cached.fetched_at > self.ttl

    def _jwks_may_refetch(self) -> bool:
        assert self._jwks is not None
        return time.monotonic() - self._jwks.fetched_at > JWKS_MIN_REFETCH_SECONDS

    async def _refresh_jwks(self) -> None:
        url = (await self.discovery()).get("jwks_uri")
        if not isinstance(url, str):
            raise self._unavailable("discovery document without jwks_uri")
        self._jwks = _Cached(await self._get_json(url), time.monotonic())

    def _find_key(self, kid: str | None) -> jwt.PyJWK | None:
        assert self._jwks is not None
        keys = self._jwks.value.get("keys", [])
        for candidate in keys:
            if kid is None or candidate.get("kid") == kid:
                try:
                    return jwt.PyJWK(candidate)
                except jwt.PyJWTError:
                    continue
        return None

    async def _get_json(self, url: str) -> dict[str, Any]:
        response = await self._request(url)
        if response.status_code != 200:
            raise self._unavailable(f"{url} answered {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise self._unavailable(f"{url} did not answer JSON") from None
        if not isinstance(document, dict):
            raise self._unavailable(f"{url} did not answer a JSON object")
        return document

    async def _request(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        try:
            return await self.http.get(url, headers=headers)
        except httpx.HTTPError as error:
            raise self._unavailable(f"{url}: {error!r}") from None

    def _unavailable(self, reason: str) -> ServiceUnavailable:
        log.warning("OIDC provider %s unusable: %s", self.provider.id, reason)
        return ServiceUnavailable(service=f"oidc provider {self.provider.id}")


class OidcVerifier:
    """Turns `oidc/<provider>/<token>` into the token's claims, or raises `TokenInvalid`.

    JWTs are verified locally (signature from the provider's JWKS, issuer, audience,
    expiry with a small leeway); opaque tokens go to the userinfo endpoint if the
    provider allows them. An unreachable provider raises `ServiceUnavailable`.
    """

    def __init__(
        self,
        *,
        providers: list[OidcProvider],
        http: httpx.AsyncClient,
        leeway_seconds: float,
        cache_seconds: float,
    ) -> None:
        self.http = http
        self.leeway_seconds = leeway_seconds
        self.providers = {provider.id: provider for provider in providers}
        self.keys = {
            provider.id: ProviderKeys(provider=provider, http=http, ttl=cache_seconds)
            for provider in providers
        }

    def provider(self, provider_id: str) -> OidcProvider:
        """The configured provider; `TokenInvalid` for an unknown id."""
        provider = self.providers.get(provider_id)
        if provider is None:
            raise TokenInvalid()
        return provider

    async def claims(self, provider_id: str, token: str) -> dict[str, Any]:
        """The verified claims of `token`, which must contain `sub`."""
        provider = self.provider(provider_id)
        keys = self.keys[provider_id]
        if token.count(".") != 2:
            if not provider.accept_opaque_tokens:
                raise TokenInvalid()
            return await keys.userinfo(token)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenInvalid() from None
        key = await keys.signing_key(header.get("kid"))
        return self._decode(provider, token, key)

    def _decode(self, provider: OidcProvider, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        issuer = provider.issuer.rstrip("/")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=provider.audiences,
                issuer=[issuer, issuer + "/"],
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.PyJWTError as error:
            log.info("rejected token of OIDC provider %s: %s", provider.id, error)
            raise TokenInvalid() from None
        return claims
