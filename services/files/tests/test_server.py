"""`python -m eoplex_files` creates its bucket, declares the FILES stream, serves health
and stops at once on SIGTERM."""

import time
from pathlib import Path

import nats

from conftest import Infrastructure, ServiceProcess
from eoplex_common.s3 import connect_s3
from eoplex_common.settings import InfrastructureSettings


async def test_serves_and_stops_cleanly(infrastructure: Infrastructure, tmp_path: Path) -> None:
    env = {**infrastructure.env, "OPENEO_FILES_BUCKET": "files-server-test"}
    with ServiceProcess("files", env=env, log_dir=tmp_path) as service:
        connection = await nats.connect(infrastructure.nats_url)
        try:
            info = await connection.jetstream().stream_info("FILES")
        finally:
            await connection.close()
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 3, service.log()
    assert service.returncode == 0, service.log()
    assert info.config.subjects == ["files.>"]
    assert connect_s3(InfrastructureSettings(**infrastructure.env)).bucket_exists(
        "files-server-test"
    )
