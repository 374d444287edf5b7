"""Where the client sees the gateway: its public URLs and its own address."""

from fastapi import Request

from eoplex_gateway.settings import GatewaySettings

API_PREFIX = "/openeo/1.2"


def public_base_url(request: Request, settings: GatewaySettings) -> str:
    """`https://host[:port]` as the client used it (configured, forwarded, or the Host header)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    scheme, host = request.url.scheme, request.headers.get("host", request.url.netloc)
    if settings.trust_proxy_headers:
        scheme = _first(request.headers.get("x-forwarded-proto")) or scheme
        host = _first(request.headers.get("x-forwarded-host")) or host
    return f"{scheme}://{host}"


def api_url(request: Request, settings: GatewaySettings) -> str:
    """The versioned API root, e.g. `https://host/openeo/1.2/`."""
    return f"{public_base_url(request, settings)}{API_PREFIX}/"


def client_address(request: Request, settings: GatewaySettings) -> str:
    """The caller's IP address (for the login throttle), or "" if unknown.

    Behind a trusted proxy it is the right-most `X-Forwarded-For` entry: the one that
    proxy wrote. Entries left of it are whatever the client sent, so a client could
    pick a new address per request if they counted.
    """
    if settings.trust_proxy_headers:
        entries = ",".join(request.headers.getlist("x-forwarded-for")).split(",")
        forwarded = entries[-1].strip()
        if forwarded:
            return forwarded
    return request.client.host if request.client else ""


def _first(value: str | None) -> str:
    """The left-most (client-side) entry of a comma-separated forwarding header."""
    return (value or "").split(",")[0].strip()
