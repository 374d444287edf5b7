"""The streams' contract: declared as running deployments know them, payloads byte for byte."""

import nats
import pytest

from conftest import Infrastructure
from eoplex_common.streams import (
    CATALOG,
    JOBS,
    WEEK_SECONDS,
    Stream,
    collection_removed_payload,
    collection_subject,
    collection_updated_payload,
)


def test_catalog_subjects_escape_dots_in_collection_ids() -> None:
    assert collection_subject("S2_L2A", "updated") == "catalog.collections.S2_L2A.updated"
    assert collection_subject("v1.0", "removed") == "catalog.collections.v1%2E0.removed"


def test_catalog_payloads_keep_their_wire_format() -> None:
    assert collection_updated_payload("v1.0", version="ab12") == (
        b'{"collection_id": "v1.0", "version": "ab12"}'
    )
    assert collection_removed_payload("v1.0") == b'{"collection_id": "v1.0"}'


@pytest.mark.parametrize(
    ("stream", "subjects", "max_age"),
    [
        (JOBS, ["jobs.*.status", "jobs.*.progress", "jobs.*.log"], WEEK_SECONDS),
        (CATALOG, ["catalog.collections.>"], 0.0),  # 0: no age limit
    ],
)
async def test_declare_creates_then_updates_the_stream(
    infrastructure: Infrastructure, stream: Stream, subjects: list[str], max_age: float
) -> None:
    connection = await nats.connect(infrastructure.nats_url)
    try:
        js = connection.jetstream()
        await stream.declare(js)
        await stream.declare(js)
        info = await js.stream_info(stream.name)
    finally:
        await connection.close()
    assert info.config.subjects == subjects
    assert info.config.max_age == max_age
