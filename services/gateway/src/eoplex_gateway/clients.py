"""The gRPC clients of the services the gateway calls: one channel per service."""

from dataclasses import dataclass

import grpc

from eoplex_common.rpc import open_channel
from eoplex_common.settings import ServiceAddresses
from eoplex_proto.openeo.auth.v1 import auth_pb2_grpc
from eoplex_proto.openeo.capabilities.v1 import capabilities_pb2_grpc
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2_grpc
from eoplex_proto.openeo.executor.v1 import executor_pb2_grpc
from eoplex_proto.openeo.files.v1 import files_pb2_grpc
from eoplex_proto.openeo.jobs.v1 import jobs_pb2_grpc
from eoplex_proto.openeo.processes.v1 import processes_pb2_grpc


@dataclass(frozen=True)
class ServiceClients:
    """Stubs for the services; every call has a deadline and maps errors to `OpenEOError`s."""

    auth: auth_pb2_grpc.AuthServiceStub
    capabilities: capabilities_pb2_grpc.CapabilitiesServiceStub
    data_discovery: data_discovery_pb2_grpc.DataDiscoveryServiceStub
    files: files_pb2_grpc.FilesServiceStub
    processes: processes_pb2_grpc.ProcessesServiceStub
    executor: executor_pb2_grpc.ExecutorServiceStub
    jobs: jobs_pb2_grpc.JobsServiceStub
    channels: tuple[grpc.aio.Channel, ...]

    async def close(self) -> None:
        """Close every channel (at shutdown, after the last request)."""
        for channel in self.channels:
            await channel.close()


def open_service_clients(*, addresses: ServiceAddresses, timeout_seconds: float) -> ServiceClients:
    """One channel per service called; an unreachable one answers `ServiceUnavailable`."""
    auth, capabilities, data_discovery, files, processes, executor, jobs = (
        open_channel(service=name, address=address, timeout_seconds=timeout_seconds)
        for name, address in (
            ("auth", addresses.auth_address),
            ("capabilities", addresses.capabilities_address),
            ("data-discovery", addresses.data_discovery_address),
            ("files", addresses.files_address),
            ("processes", addresses.processes_address),
            ("executor", addresses.executor_address),
            ("jobs", addresses.jobs_address),
        )
    )
    return ServiceClients(
        auth=auth_pb2_grpc.AuthServiceStub(auth),
        capabilities=capabilities_pb2_grpc.CapabilitiesServiceStub(capabilities),
        data_discovery=data_discovery_pb2_grpc.DataDiscoveryServiceStub(data_discovery),
        files=files_pb2_grpc.FilesServiceStub(files),
        processes=processes_pb2_grpc.ProcessesServiceStub(processes),
        executor=executor_pb2_grpc.ExecutorServiceStub(executor),
        jobs=jobs_pb2_grpc.JobsServiceStub(jobs),
        channels=(auth, capabilities, data_discovery, files, processes, executor, jobs),
    )
