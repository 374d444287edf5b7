"""Wiring of the capabilities service: settings -> health checker -> service -> gRPC server."""

from functools import partial

from eoplex_capabilities.clients import ExecutorClient
from eoplex_capabilities.health import HealthChecker
from eoplex_capabilities.service import CapabilitiesService
from eoplex_capabilities.servicer import CapabilitiesServicer
from eoplex_capabilities.settings import CapabilitiesSettings
from eoplex_common.entrypoint import run_service
from eoplex_common.rpc import GrpcService
from eoplex_common.settings import ServiceAddresses
from eoplex_proto.openeo.capabilities.v1 import capabilities_pb2_grpc


def build_grpc_service(settings: CapabilitiesSettings, addresses: ServiceAddresses) -> GrpcService:
    """A gRPC server (not yet started) that serves `openeo.capabilities.v1`."""
    checker = HealthChecker(
        services=addresses.by_service(),
        infrastructure=settings,
        timeout_seconds=settings.health_timeout_seconds,
    )
    grpc_service = GrpcService(
        name="capabilities", listen=settings.listen, grace_seconds=settings.shutdown_grace_seconds
    )
    executor = ExecutorClient(
        addresses.executor_address, timeout_seconds=settings.health_timeout_seconds
    )
    servicer = CapabilitiesServicer(
        CapabilitiesService(settings=settings, health=checker, executor=executor)
    )
    capabilities_pb2_grpc.add_CapabilitiesServiceServicer_to_server(servicer, grpc_service.server)
    return grpc_service


async def serve(settings: CapabilitiesSettings, addresses: ServiceAddresses) -> None:
    """Run the capabilities service until SIGTERM/SIGINT."""
    await build_grpc_service(settings, addresses).run_until_signal()


def main() -> None:
    """Entry point: `python -m eoplex_capabilities`."""
    addresses = ServiceAddresses()
    run_service(
        name="capabilities",
        settings=CapabilitiesSettings(),
        serve=partial(serve, addresses=addresses),
    )
