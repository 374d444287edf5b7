"""gRPC <-> domain for the capabilities service (openeo.capabilities.v1)."""

import json
from typing import Any

import grpc

from eoplex_capabilities import service as builders
from eoplex_capabilities.service import CapabilitiesService, Endpoint
from eoplex_proto.openeo.capabilities.v1 import capabilities_pb2, capabilities_pb2_grpc


def _document(content: dict[str, Any]) -> capabilities_pb2.JsonDocument:
    return capabilities_pb2.JsonDocument(json=json.dumps(content))


class CapabilitiesServicer(capabilities_pb2_grpc.CapabilitiesServiceServicer):
    """Thin adapter from `openeo.capabilities.v1.CapabilitiesService` to `CapabilitiesService`."""

    def __init__(self, service: CapabilitiesService) -> None:
        self.service = service

    async def GetCapabilities(
        self, request: capabilities_pb2.GetCapabilitiesRequest, context: grpc.aio.ServicerContext
    ) -> capabilities_pb2.JsonDocument:
        endpoints = [Endpoint(e.path, tuple(e.methods)) for e in request.endpoints]
        return _document(self.service.capabilities(api_url=request.api_url, endpoints=endpoints))

    async def GetWellKnown(
        self, request: capabilities_pb2.GetWellKnownRequest, context: grpc.aio.ServicerContext
    ) -> capabilities_pb2.JsonDocument:
        return _document(self.service.well_known(api_url=request.api_url))

    async def GetConformance(
        self, request: capabilities_pb2.GetConformanceRequest, context: grpc.aio.ServicerContext
    ) -> capabilities_pb2.JsonDocument:
        return _document(builders.build_conformance())

    async def GetFileFormats(
        self, request: capabilities_pb2.GetFileFormatsRequest, context: grpc.aio.ServicerContext
    ) -> capabilities_pb2.JsonDocument:
        return _document(builders.build_file_formats())

    async def GetUdfRuntimes(
        self, request: capabilities_pb2.GetUdfRuntimesRequest, context: grpc.aio.ServicerContext
    ) -> capabilities_pb2.JsonDocument:
        return _document(await self.service.udf_runtimes())

    async def GetServiceTypes(
        self, request: capabilities_pb2.GetServiceTypesRequest, context: grpc.aio.ServicerContext
    ) -> capabilities_pb2.JsonDocument:
        return _document(builders.build_service_types())

    async def GetHealth(
        self, request: capabilities_pb2.GetHealthRequest, context: grpc.aio.ServicerContext
    ) -> capabilities_pb2.GetHealthResponse:
        report = await self.service.health()
        return capabilities_pb2.GetHealthResponse(
            status=report.status,
            components=[
                capabilities_pb2.ComponentHealth(
                    name=c.name, kind=c.kind, status=c.status, detail=c.detail
                )
                for c in report.components
            ],
        )
