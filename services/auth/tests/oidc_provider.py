"""A real OpenID Connect provider for tests: `oidc-provider-mock` as a subprocess on loopback.

The provider (oidc-provider-mock 0.3.4) supports only the `authorization_code` grant
(`response_type=code`, PKCE optional) and `refresh_token`; it has no `client_credentials`
grant. Any client id and secret is accepted without registration. A client obtains
tokens by POSTing the authorization form itself (`sub=<user>`, no browser needed) and
exchanging the code at the token endpoint: `obtain_tokens` does exactly that. The
answer holds an opaque `access_token`, a `refresh_token` and an `id_token` (an RS256
JWT with `iss` = the issuer URL and `aud` = the client id). Users and their claims are
predefined with `--user-claims` (see `start_oidc_provider(users=...)`) or created on
the fly with only an `email` claim.

Use from any test:

    from oidc_provider import start_oidc_provider, obtain_tokens  # services/auth/tests on sys.path
    process, issuer = start_oidc_provider(free_port(), log_path=tmp_path / "oidc.log")
    try:
        tokens = obtain_tokens(issuer, client_id="openeo", sub="alice")
    finally:
        stop_process(process)
"""

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from eoplex.servers import ProcessSpec, http_answers, start_process, wait_ready

REDIRECT_URL = "http://127.0.0.1/oidc-callback"


def oidc_provider_spec(
    port: int, *, users: Sequence[Mapping[str, Any]] = (), token_max_age_seconds: int = 3600
) -> ProcessSpec:
    """The provider on 127.0.0.1:`port`; each of `users` is a claims dict with a "sub"."""
    argv = [
        sys.executable, "-m", "oidc_provider_mock",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--token-max-age", str(token_max_age_seconds),
    ]  # fmt: skip
    for claims in users:
        argv += ["--user-claims", json.dumps(dict(claims))]
    issuer = f"http://127.0.0.1:{port}"
    ready = http_answers(f"{issuer}/.well-known/openid-configuration")
    return ProcessSpec("oidc-provider", argv, ready, env={"NO_COLOR": "1"})


def start_oidc_provider(
    port: int,
    *,
    log_path: Path,
    users: Sequence[Mapping[str, Any]] = (),
    token_max_age_seconds: int = 3600,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the provider and wait until it answers; returns the process and the issuer URL.

    Stop it with `eoplex.servers.stop_process(process)`.
    """
    spec = oidc_provider_spec(port, users=users, token_max_age_seconds=token_max_age_seconds)
    process = start_process(spec, log_path=log_path)
    try:
        wait_ready(spec, process)
    except RuntimeError:
        process.kill()
        process.wait()
        raise
    return process, f"http://127.0.0.1:{port}"


def obtain_tokens(
    issuer: str,
    *,
    client_id: str,
    sub: str,
    scope: str = "openid profile email",
    host: str | None = None,
) -> dict[str, Any]:
    """Tokens for user `sub` through the authorization code grant, driven without a browser.

    Returns the token endpoint's answer: access_token (opaque), id_token (JWT),
    refresh_token, expires_in. The provider names itself after the Host header of the
    token request, so `host` (e.g. "localhost:<port>") yields a token of another issuer.
    """
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URL,
        "scope": scope,
        "state": "eoplex-test",
    }
    with httpx.Client(base_url=issuer, timeout=10) as http:
        consent = http.post("/oauth2/authorize", params=query, data={"sub": sub})
        location = consent.headers.get("location", "")
        codes = parse_qs(urlparse(location).query).get("code")
        if consent.status_code != 302 or not codes:
            raise RuntimeError(f"no authorization code: {consent.status_code} {consent.text[:200]}")
        answer = http.post(
            "/oauth2/token",
            headers={"Host": host} if host else None,
            data={
                "grant_type": "authorization_code",
                "code": codes[0],
                "redirect_uri": REDIRECT_URL,
                "client_id": client_id,
                "client_secret": "any",
            },
        )
        answer.raise_for_status()
        tokens: dict[str, Any] = answer.json()
        return tokens
