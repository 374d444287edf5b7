"""Health checks against real servers, and the documents over a real gRPC server."""

import json
from collections.abc import AsyncIterator
from importlib.metadata import version

import pytest

from conftest import Infrastructure
from eoplex.servers import free_port
from eoplex_capabilities.health import ComponentHealth, HealthChecker
from eoplex_capabilities.server import build_grpc_service
from eoplex_capabilities.settings import CapabilitiesSettings
from eoplex_common.rpc import GrpcService, open_channel
from eoplex_common.settings import InfrastructureSettings, ServiceAddresses
from eoplex_proto.openeo.capabilities.v1 import capabilities_pb2 as pb
from eoplex_proto.openeo.capabilities.v1 import capabilities_pb2_grpc


def infrastructure_settings(infrastructure: Infrastructure) -> InfrastructureSettings:
    return InfrastructureSettings(**infrastructure.env)


@pytest.fixture
async def running_service() -> AsyncIterator[GrpcService]:
    service = GrpcService(name="auth", listen=f"127.0.0.1:{free_port()}", grace_seconds=0.1)
    await service.start()
    yield service
    await service.stop()


async def test_up_and_down_services_and_servers(
    running_service: GrpcService, infrastructure: Infrastructure
) -> None:
    checker = HealthChecker(
        services={"auth": running_service.listen, "jobs": f"127.0.0.1:{free_port()}"},
        infrastructure=infrastructure_settings(infrastructure),
        timeout_seconds=1,
    )
    report = await checker.check()
    assert report.status == "degraded"
    assert report.components == [
        ComponentHealth("auth", "service", "ok"),
        ComponentHealth("jobs", "service", "unavailable", "ConnectionError"),
        ComponentHealth("mongodb", "server", "ok"),
        ComponentHealth("nats", "server", "ok"),
        ComponentHealth("s3", "server", "ok"),
    ]


async def test_everything_up_is_ok(
    running_service: GrpcService, infrastructure: Infrastructure
) -> None:
    checker = HealthChecker(
        services={"auth": running_service.listen},
        infrastructure=infrastructure_settings(infrastructure),
        timeout_seconds=1,
    )
    report = await checker.check()
    assert report.status == "ok"


async def test_down_servers_are_unavailable() -> None:
    down = f"127.0.0.1:{free_port()}"
    checker = HealthChecker(
        services={},
        infrastructure=InfrastructureSettings(
            mongodb_url=f"mongodb://{down}", nats_url=f"nats://{down}", s3_endpoint=f"http://{down}"
        ),
        timeout_seconds=1,
    )
    report = await checker.check()
    assert report.status == "degraded"
    assert {(c.name, c.status) for c in report.components} == {
        ("mongodb", "unavailable"),
        ("nats", "unavailable"),
        ("s3", "unavailable"),
    }


async def test_wrong_s3_keys_are_unavailable(infrastructure: Infrastructure) -> None:
    settings = infrastructure_settings(infrastructure).model_copy(
        update={"s3_secret_key": "not-the-key"}
    )
    report = await HealthChecker(services={}, infrastructure=settings, timeout_seconds=1).check()
    assert {c.name: c.status for c in report.components}["s3"] == "unavailable"


async def test_documents_over_grpc() -> None:
    settings = CapabilitiesSettings(listen=f"127.0.0.1:{free_port()}", shutdown_grace_seconds=0.1)
    service = build_grpc_service(settings, ServiceAddresses())
    await service.start()
    channel = open_channel(service="capabilities", address=settings.listen, timeout_seconds=5)
    try:
        stub = capabilities_pb2_grpc.CapabilitiesServiceStub(channel)
        query = pb.GetCapabilitiesRequest(
            api_url="http://h/openeo/1.2/", endpoints=[pb.Endpoint(path="/me", methods=["GET"])]
        )
        capabilities = json.loads((await stub.GetCapabilities(query)).json)
        formats = json.loads((await stub.GetFileFormats(pb.GetFileFormatsRequest())).json)
    finally:
        await channel.close()
        await service.stop()
    assert capabilities["endpoints"] == [{"path": "/me", "methods": ["GET"]}]
    assert capabilities["backend_version"] == version("eoplex-capabilities")
    assert set(formats["output"]) == {"GTiff", "netCDF", "JSON", "PNG", "GeoJSON", "CSV", "Parquet"}
