"""Wiring of the files service: settings -> store -> service -> gRPC server."""

from eoplex_common.entrypoint import run_service
from eoplex_common.rpc import GrpcService
from eoplex_common.s3 import connect_s3
from eoplex_files.service import FilesService
from eoplex_files.servicer import FilesServicer
from eoplex_files.settings import FilesSettings
from eoplex_files.store import WorkspaceStore
from eoplex_proto.openeo.files.v1 import files_pb2_grpc


async def serve(settings: FilesSettings) -> None:
    """Run the files service until SIGTERM/SIGINT."""
    store = WorkspaceStore(client=connect_s3(settings), bucket=settings.bucket)
    await store.ensure_bucket()
    grpc_service = GrpcService(
        name="files", listen=settings.listen, grace_seconds=settings.shutdown_grace_seconds
    )
    files_pb2_grpc.add_FilesServiceServicer_to_server(
        FilesServicer(FilesService(store=store)), grpc_service.server
    )
    await grpc_service.run_until_signal()


def main() -> None:
    """Entry point: `python -m eoplex_files`."""
    run_service(name="files", settings=FilesSettings(), serve=serve)
