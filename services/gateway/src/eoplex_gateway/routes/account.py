"""Routes answered by the auth service (and files, for storage): credentials and `/me`."""

import json
from typing import Any

from fastapi import APIRouter, Request

from eoplex_common.errors import FeatureUnsupported
from eoplex_gateway.clients import ServiceClients
from eoplex_gateway.dependencies import BasicCredentials, Clients, Principal, Quota, Settings
from eoplex_gateway.urls import client_address
from eoplex_proto.openeo.auth.v1 import auth_pb2
from eoplex_proto.openeo.files.v1 import files_pb2

router = APIRouter()


@router.get("/credentials/basic")
async def basic_token(
    request: Request, credentials: BasicCredentials, settings: Settings, clients: Clients
) -> dict[str, str]:
    """`GET /credentials/basic`: an access token (clients send it as `basic//<token>`).

    Raises AuthenticationRequired (401) without Basic credentials; the auth service
    raises CredentialsInvalid (403) or TooManyRequests (429).
    """
    username, password = credentials
    query = auth_pb2.IssueBasicTokenRequest(
        username=username, password=password, client=client_address(request, settings)
    )
    issued = await clients.auth.IssueBasicToken(query)
    return {"access_token": issued.access_token}


OIDC_PATH = "/credentials/oidc"


@router.get(OIDC_PATH)
async def oidc_providers(clients: Clients) -> dict[str, Any]:
    """`GET /credentials/oidc`: the OpenID Connect providers users may log in with.

    Raises FeatureUnsupported (501) when none is configured: the spec asks for at least
    one, and `GET /` does not list the endpoint then.
    """
    providers = await configured_oidc_providers(clients)
    if not providers:
        raise FeatureUnsupported()
    return {"providers": providers}


async def configured_oidc_providers(clients: ServiceClients) -> list[dict[str, Any]]:
    """The OpenID Connect providers the auth service trusts (possibly none)."""
    listed = await clients.auth.ListOidcProviders(auth_pb2.ListOidcProvidersRequest())
    providers: list[dict[str, Any]] = json.loads(listed.providers_json)
    return providers


@router.get("/me")
async def describe_account(principal: Principal, quota: Quota, clients: Clients) -> dict[str, Any]:
    """`GET /me`: who the caller is and how much storage is left.

    Raises AuthenticationRequired (401), AuthenticationSchemeInvalid/TokenInvalid (403).
    """
    quota_bytes = quota.max_storage_bytes
    used = await storage_used(clients, principal) if quota_bytes > 0 else 0
    return account_document(principal, quota_bytes=quota_bytes, used_bytes=used)


async def storage_used(clients: ServiceClients, principal: auth_pb2.Principal) -> int:
    """Bytes the caller's workspace occupies, from the files service."""
    query = files_pb2.GetStorageUsageRequest(
        user_id=principal.user_id, tenant_id=principal.tenant_id
    )
    usage = await clients.files.GetStorageUsage(query)
    return int(usage.used_bytes)


def account_document(
    principal: auth_pb2.Principal, *, quota_bytes: int, used_bytes: int
) -> dict[str, Any]:
    """The `/me` body. A quota of 0 means "no limit", which the spec writes as `storage: null`."""
    storage = (
        {"free": max(quota_bytes - used_bytes, 0), "quota": quota_bytes}
        if quota_bytes > 0
        else None
    )
    document: dict[str, Any] = {
        "user_id": principal.user_id,
        "name": principal.name or principal.user_id,
        "roles": list(principal.roles),
        "storage": storage,
        "budget": None,
        "links": [],
    }
    return document
