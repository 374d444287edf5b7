"""The staged registration: stage the collection, its items in batches, then commit.

Readers never see a half-registered collection: the data-discovery service makes a staged
version live in `CommitCollection` only, and any failure before that aborts it. A
re-ingest of the same id stages a new version that replaces the old one at commit.
"""

import json
import logging
from collections.abc import Sequence
from typing import Any

from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2, data_discovery_pb2_grpc

log = logging.getLogger("eoplex_ingest.register")

ITEM_BATCH_SIZE = 100


async def register_collection(
    stub: data_discovery_pb2_grpc.DataDiscoveryServiceStub,
    collection: dict[str, Any],
    items: Sequence[dict[str, Any]],
    *,
    batch_size: int = ITEM_BATCH_SIZE,
) -> int:
    """Stage, fill and commit `collection` with `items`; the number of items now live.

    Raises the openEO error of the failing call (e.g. `BadRequest` for an invalid
    document) after aborting the staged version.
    """
    collection_id = collection["id"]
    staged = await stub.StageCollection(
        data_discovery_pb2.StageCollectionRequest(collection_json=json.dumps(collection))
    )
    try:
        for start in range(0, len(items), batch_size):
            batch = [json.dumps(item) for item in items[start : start + batch_size]]
            await stub.StageItems(
                data_discovery_pb2.StageItemsRequest(
                    collection_id=collection_id, version=staged.version, items_json=batch
                )
            )
        committed = await stub.CommitCollection(
            data_discovery_pb2.CommitCollectionRequest(
                collection_id=collection_id, version=staged.version
            )
        )
    except BaseException:
        await _abort(stub, collection_id, staged.version)
        raise
    return int(committed.items)


async def _abort(
    stub: data_discovery_pb2_grpc.DataDiscoveryServiceStub, collection_id: str, version: str
) -> None:
    try:
        await stub.AbortCollection(
            data_discovery_pb2.AbortCollectionRequest(collection_id=collection_id, version=version)
        )
    except Exception:
        # The original failure is the one to report; a staged version is never live anyway.
        log.exception("could not abort version %s of %s", version, collection_id)
