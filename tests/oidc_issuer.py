"""A minimal, real OpenID Connect issuer for end-to-end tests of the client-credentials flow.

`oidc-provider-mock` (used by the auth service's tests) has no `client_credentials`
grant, which `openeo`'s `authenticate_oidc_client_credentials()` uses. This issuer
serves the standard endpoints over HTTP on loopback: discovery
(`/.well-known/openid-configuration`), `/jwks` and `/token` with the
`client_credentials` grant for one registered client. Access tokens are RS256 JWTs
(`iss` = the issuer, `aud` = the client id, `sub` = `service-<client id>`).

Run: `python tests/oidc_issuer.py --port P --client-id ID --client-secret SECRET`.
"""

import argparse
import base64
import json
import secrets
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


class Issuer:
    """The issuer's identity, signing key and its one client."""

    def __init__(self, *, url: str, client_id: str, client_secret: str, lifetime: int) -> None:
        self.url = url
        self.client_id = client_id
        self.client_secret = client_secret
        self.lifetime = lifetime
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(4)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "authorization_endpoint": f"{self.url}/authorize",
            "grant_types_supported": ["client_credentials"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
        }

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization and authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization[6:]).decode()
            client_id, _, client_secret = decoded.partition(":")
            client_id, client_secret = (
                urllib.parse.unquote(client_id),
                urllib.parse.unquote(client_secret),
            )
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if client_id != self.client_id or not secrets.compare_digest(
            client_secret, self.client_secret
        ):
            return 401, {"error": "invalid_client"}
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": client_id,
            "sub": f"service-{client_id}",
            "iat": now,
            "exp": now + self.lifetime,
            "preferred_username": f"service-{client_id}",
        }
        access_token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
        return 200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 3600}


def serve(issuer: Issuer, port: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            routes = {"/.well-known/openid-configuration": issuer.discovery, "/jwks": issuer.jwks}
            handler = routes.get(self.path)
            self._send(200, handler()) if handler else self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            if self.path != "/token":
                self._send(404, {"error": "not_found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            self._send(*issuer.token(form, self.headers.get("Authorization")))

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--lifetime", type=int, default=3600)
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}"
    issuer = Issuer(
        url=url,
        client_id=args.client_id,
        client_secret=args.client_secret,
        lifetime=args.lifetime,
    )
    serve(issuer, args.port)


if __name__ == "__main__":
    main()
