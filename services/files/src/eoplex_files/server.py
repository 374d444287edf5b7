"""Wiring of the files service: settings -> S3 store -> service -> gRPC server."""

from eoplex_common.entrypoint import run_service
from eoplex_common.rpc import GrpcService
from eoplex_common.s3 import connect_s3
from eoplex_files.service import FilesService
from eoplex_files.servicer import FilesServicer
from eoplex_files.settings import FilesSettings
from eoplex_files.store import WorkspaceStore
from eoplex_proto.openeo.files.v1 import files_pb2_grpc


async def build_files_server(*, settings: FilesSettings) -> GrpcService:
    """A not yet started gRPC server over the bucket (created if missing)."""
    store = WorkspaceStore(client=connect_s3(settings), bucket=settings.bucket)
    await store.ensure_bucket()
    service = FilesService(
        store=store,
        max_file_bytes=settings.max_file_bytes,
        upload_idle_timeout_seconds=settings.upload_idle_timeout_seconds,
    )
    grpc_service = GrpcService(
        name="files", listen=settings.listen, grace_seconds=settings.shutdown_grace_seconds
    )
    files_pb2_grpc.add_FilesServiceServicer_to_server(FilesServicer(service), grpc_service.server)
    return grpc_service


async def serve(settings: FilesSettings) -> None:
    """Run the files service until SIGTERM/SIGINT; fail at start if S3 is down."""
    grpc_service = await build_files_server(settings=settings)
    await grpc_service.run_until_signal()


def main() -> None:
    """Entry point: `python -m eoplex_files`."""
    run_service(name="files", settings=FilesSettings(), serve=serve)
