"""The endpoint list of `GET /`, read from the routes the app really serves."""

import re
from collections.abc import Iterable

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute

from eoplex_gateway.urls import API_PREFIX
from eoplex_proto.openeo.capabilities.v1 import capabilities_pb2

OPENEO_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


def served_endpoints(routes: Iterable[BaseRoute]) -> list[capabilities_pb2.Endpoint]:
    """Every versioned route in openEO form (`/credentials/basic`, `["GET"]`), one per path.

    `GET /` itself is left out, as the spec asks, and so is `/.well-known/openeo`,
    which lives outside the versioned API.
    """
    methods_by_path: dict[str, set[str]] = {}
    # Included routers are resolved lazily by FastAPI; this walks the routes they hold.
    for route in iter_route_contexts(list(routes)):
        if not route.path or not route.path.startswith(f"{API_PREFIX}/"):
            continue
        # `/files/{path:path}` is `/files/{path}` in openEO: no converters.
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path.removeprefix(API_PREFIX))
        if path != "/":
            methods = methods_by_path.setdefault(path, set())
            methods.update(method for method in route.methods or () if method in OPENEO_METHODS)
    return [
        capabilities_pb2.Endpoint(path=path, methods=sorted(methods))
        for path, methods in sorted(methods_by_path.items())
    ]
