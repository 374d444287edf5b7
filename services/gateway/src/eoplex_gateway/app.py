"""The FastAPI application: routes under `/openeo/1.2`, middleware, error handlers, lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from eoplex_common.settings import ServiceAddresses
from eoplex_gateway import middleware
from eoplex_gateway.clients import open_service_clients
from eoplex_gateway.errors import install_error_handlers
from eoplex_gateway.routes import (
    account,
    capabilities,
    collections,
    files,
    jobs,
    process_graphs,
    processes,
    results,
    shared_results,
)
from eoplex_gateway.settings import GatewaySettings
from eoplex_gateway.urls import API_PREFIX


def create_app(*, settings: GatewaySettings, addresses: ServiceAddresses) -> FastAPI:
    """The gateway app; its lifespan opens one gRPC channel per service and closes them."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.clients = open_service_clients(
            addresses=addresses, timeout_seconds=settings.rpc_timeout_seconds
        )
        try:
            yield
        finally:
            await app.state.clients.close()

    # No /docs or /openapi.json: the app serves the openEO API and nothing else.
    app = FastAPI(
        title="eoplex", lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None
    )
    app.state.settings = settings
    app.include_router(capabilities.router, prefix=API_PREFIX)
    app.include_router(account.router, prefix=API_PREFIX)
    app.include_router(collections.router, prefix=API_PREFIX)
    app.include_router(processes.router, prefix=API_PREFIX)
    app.include_router(results.router, prefix=API_PREFIX)
    app.include_router(jobs.router, prefix=API_PREFIX)
    app.include_router(shared_results.router, prefix=API_PREFIX)
    app.include_router(process_graphs.router, prefix=API_PREFIX)
    app.include_router(files.router, prefix=API_PREFIX)
    app.include_router(capabilities.well_known_router)
    install_error_handlers(app)
    # Added innermost first: the last one added sees the request first.
    # Uploads stream to the files service, which enforces its own file size limit.
    app.add_middleware(
        middleware.BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        unlimited=[("PUT", f"{API_PREFIX}/files/")],
    )
    app.add_middleware(middleware.ErrorGuard)
    app.add_middleware(middleware.Cors)
    app.add_middleware(middleware.RequestContext)
    app.add_middleware(middleware.CollapseSlashes)
    return app
