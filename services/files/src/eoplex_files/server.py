"""Wiring of the files service: settings -> S3 store, NATS events -> service -> gRPC server."""

from nats.js import JetStreamContext

from eoplex_common.entrypoint import run_service
from eoplex_common.events import connect_nats
from eoplex_common.rpc import GrpcService
from eoplex_common.s3 import connect_s3
from eoplex_files.events import FileEvents
from eoplex_files.service import FilesService
from eoplex_files.servicer import FilesServicer
from eoplex_files.settings import FilesSettings
from eoplex_files.store import WorkspaceStore
from eoplex_proto.openeo.files.v1 import files_pb2_grpc


async def build_files_server(
    *, settings: FilesSettings, js: JetStreamContext
) -> tuple[GrpcService, FileEvents]:
    """A not yet started gRPC server over the bucket (created if missing) and the `FILES`
    stream (declared), and the events it publishes (to close after the server)."""
    store = WorkspaceStore(client=connect_s3(settings), bucket=settings.bucket)
    await store.ensure_bucket()
    events = FileEvents(js=js, timeout_seconds=settings.event_timeout_seconds)
    await events.ensure_stream()
    service = FilesService(
        store=store,
        events=events,
        max_file_bytes=settings.max_file_bytes,
        upload_idle_timeout_seconds=settings.upload_idle_timeout_seconds,
    )
    grpc_service = GrpcService(
        name="files", listen=settings.listen, grace_seconds=settings.shutdown_grace_seconds
    )
    files_pb2_grpc.add_FilesServiceServicer_to_server(FilesServicer(service), grpc_service.server)
    return grpc_service, events


async def serve(settings: FilesSettings) -> None:
    """Run the files service until SIGTERM/SIGINT; fail at start if S3 or NATS is down."""
    nats = await connect_nats(settings.nats_url, name="files")
    try:
        grpc_service, events = await build_files_server(settings=settings, js=nats.jetstream())
        try:
            await grpc_service.run_until_signal()
        finally:
            await events.close()
    finally:
        # Not drain(): every event still pending was awaited by `events.close()`.
        await nats.close()


def main() -> None:
    """Entry point: `python -m eoplex_files`."""
    run_service(name="files", settings=FilesSettings(), serve=serve)
