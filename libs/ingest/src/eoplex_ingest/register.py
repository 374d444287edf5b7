"""The staged registration: stage the collection, its items in batches, then commit.

Readers never see a half-registered collection: the catalog service makes a staged
version live in `CommitCollection` only, and any failure before that aborts it. A
re-ingest of the same id stages a new version that replaces the old one at commit.
"""

import json
import logging
from collections.abc import Sequence
from typing import Any

from eoplex_proto.openeo.data_discovery.v1 import catalog_pb2, catalog_pb2_grpc

log = logging.getLogger("eoplex_ingest.register")

ITEM_BATCH_SIZE = 100


async def register_collection(
    stub: catalog_pb2_grpc.CatalogServiceStub,
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
        catalog_pb2.StageCollectionRequest(collection_json=json.dumps(collection))
    )
    try:
        for start in range(0, len(items), batch_size):
            batch = [json.dumps(item) for item in items[start : start + batch_size]]
            await stub.StageItems(
                catalog_pb2.StageItemsRequest(
                    collection_id=collection_id, version=staged.version, items_json=batch
                )
            )
        committed = await stub.CommitCollection(
            catalog_pb2.CommitCollectionRequest(collection_id=collection_id, version=staged.version)
        )
    except BaseException:
        await _abort(stub, collection_id, staged.version)
        raise
    return int(committed.items)


async def _abort(
    stub: catalog_pb2_grpc.CatalogServiceStub, collection_id: str, version: str
) -> None:
    try:
        await stub.AbortCollection(
            catalog_pb2.AbortCollectionRequest(collection_id=collection_id, version=version)
        )
    except Exception:
        # The original failure is the one to report; a staged version is never live anyway.
        log.exception("could not abort version %s of %s", version, collection_id)
