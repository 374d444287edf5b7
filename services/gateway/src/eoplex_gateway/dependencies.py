"""FastAPI dependencies: settings, the service stubs, and the authenticated principal with
its tenant's quota (one `Authenticate` call per request)."""

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from eoplex_common.errors import AuthenticationRequired, AuthenticationSchemeInvalid, NotFound
from eoplex_gateway.clients import ServiceClients
from eoplex_gateway.links import Limit, Token, page_links
from eoplex_gateway.settings import GatewaySettings
from eoplex_gateway.urls import api_url
from eoplex_proto.openeo.auth.v1 import auth_pb2


def get_settings(request: Request) -> GatewaySettings:
    """The settings the app was created with."""
    settings: GatewaySettings = request.app.state.settings
    return settings


def get_clients(request: Request) -> ServiceClients:
    """The service stubs opened by the lifespan."""
    clients: ServiceClients = request.app.state.clients
    return clients


def _split_authorization(authorization: str | None, *, scheme: str) -> str:
    """The credentials after `<scheme> `; 401 without a header, 403 for another scheme."""
    if not authorization or not authorization.strip():
        raise AuthenticationRequired(challenge=scheme)
    given, _, credentials = authorization.strip().partition(" ")
    if given.lower() != scheme.lower():
        raise AuthenticationSchemeInvalid()
    if not credentials.strip():
        raise AuthenticationRequired(challenge=scheme)
    return credentials.strip()


def basic_credentials(
    authorization: Annotated[str | None, Header()] = None,
) -> tuple[str, str]:
    """Username and password of `Authorization: Basic ...` (RFC 7617).

    Raises AuthenticationRequired (401, `WWW-Authenticate: Basic`) when missing or
    malformed, AuthenticationSchemeInvalid (403) for another scheme.
    """
    encoded = _split_authorization(authorization, scheme="Basic")
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationRequired(challenge="Basic") from None
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        raise AuthenticationRequired(challenge="Basic")
    return username, password


async def authenticate(
    clients: Annotated[ServiceClients, Depends(get_clients)],
    authorization: Annotated[str | None, Header()] = None,
) -> auth_pb2.AuthenticateResponse:
    """The caller behind `Authorization: Bearer <token>` (`basic//...` or `oidc/<provider>/...`)
    and the quota of their tenant, asked once per request however many dependencies use it.

    Raises AuthenticationRequired (401) without a header, AuthenticationSchemeInvalid
    (403) for another scheme; the auth service raises TokenInvalid (403) and friends.
    """
    token = _split_authorization(authorization, scheme="Bearer")
    response: auth_pb2.AuthenticateResponse = await clients.auth.Authenticate(
        auth_pb2.AuthenticateRequest(bearer_token=token)
    )
    return response


async def authenticated_principal(
    caller: Annotated[auth_pb2.AuthenticateResponse, Depends(authenticate)],
) -> auth_pb2.Principal:
    """The authenticated caller (see `authenticate`). Async, as FastAPI would run a plain
    function in its thread pool."""
    principal: auth_pb2.Principal = caller.principal
    return principal


async def authenticated_quota(
    caller: Annotated[auth_pb2.AuthenticateResponse, Depends(authenticate)],
) -> auth_pb2.TenantQuota:
    """The limits of the caller's tenant, as `Authenticate` returned them with the caller.

    Raises NotFound (404) when the tenant does not exist, as the auth service's
    `GetTenantQuota` does (tenants are never deleted, so only a damaged database has a
    user without one).
    """
    if not caller.HasField("quota"):
        raise NotFound()
    quota: auth_pb2.TenantQuota = caller.quota
    return quota


Settings = Annotated[GatewaySettings, Depends(get_settings)]
Clients = Annotated[ServiceClients, Depends(get_clients)]
Principal = Annotated[auth_pb2.Principal, Depends(authenticated_principal)]
Quota = Annotated[auth_pb2.TenantQuota, Depends(authenticated_quota)]
BasicCredentials = Annotated[tuple[str, str], Depends(basic_credentials)]


@dataclass(frozen=True)
class PageRequest:
    """What a paged listing (`GET /jobs`, `/files`, `/process_graphs`, ...) is asked for: at
    most `limit` entries (None: the service's default) from the page `token`, with links
    under the API root `root`."""

    limit: int | None
    token: str
    root: str

    def listing(self, path: str, next_token: str, **entries: list[Any]) -> dict[str, Any]:
        """The page's body: `entries` (e.g. `jobs=[...]`) and the links of the listing at
        `path` below the API root (`self`, and `next` when there is a next page)."""
        links = page_links(f"{self.root}{path}", limit=self.limit, next_token=next_token)
        return {**entries, "links": links}


def page_request(
    request: Request, settings: Settings, limit: Limit = None, token: Token = ""
) -> PageRequest:
    """The `limit` and `token` query parameters of a listing; BadRequest for bad ones."""
    return PageRequest(limit=limit, token=token, root=api_url(request, settings))


Page = Annotated[PageRequest, Depends(page_request)]
