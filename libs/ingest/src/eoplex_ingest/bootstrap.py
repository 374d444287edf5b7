"""The demo collections in a fresh local stack: generated, uploaded and registered once.

A collection already in the catalog is left alone; generated files are kept in the
given folder, so a stack whose catalog was reset only uploads and registers again.
"""

import logging
import shutil
import time
from pathlib import Path

from eoplex_common.errors import CollectionNotFound
from eoplex_ingest.demo import DEM_ID, S2_ID, demo_sources, write_dem_demo, write_sentinel2_demo
from eoplex_ingest.ingest import FolderOptions, ingest_folder
from eoplex_ingest.register import register_collection
from eoplex_ingest.storage import AssetStore
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2, data_discovery_pb2_grpc

log = logging.getLogger("eoplex_ingest.bootstrap")

GENERATORS = {S2_ID: write_sentinel2_demo, DEM_ID: write_dem_demo}


async def collection_exists(
    stub: data_discovery_pb2_grpc.DataDiscoveryServiceStub, collection_id: str
) -> bool:
    """Whether the catalog has a live collection `collection_id`."""
    try:
        await stub.GetCollection(
            data_discovery_pb2.GetCollectionRequest(collection_id=collection_id)
        )
    except CollectionNotFound:
        return False
    return True


async def ensure_demo_collections(
    stub: data_discovery_pb2_grpc.DataDiscoveryServiceStub, *, root: Path, store: AssetStore
) -> list[str]:
    """Generate and register each demo collection missing from the catalog; their ids."""
    added = []
    for metadata, rules, folder in demo_sources(root):
        if await collection_exists(stub, metadata.collection_id):
            continue
        started = time.monotonic()
        if not folder.is_dir():
            # Generated aside and renamed, so an interrupted start never leaves half a folder.
            partial = folder.with_name(folder.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            GENERATORS[metadata.collection_id](partial)
            partial.rename(folder)
        # The generated files are COGs already: upload them as they are.
        options = FolderOptions(rules=rules, cog=False)
        documents = ingest_folder(folder, metadata=metadata, options=options, store=store)
        await register_collection(stub, documents.collection, documents.items)
        log.info(
            "demo collection %s ready in %.1f s",
            metadata.collection_id,
            time.monotonic() - started,
        )
        added.append(metadata.collection_id)
    return added
