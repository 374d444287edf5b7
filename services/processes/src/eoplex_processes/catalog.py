"""The data-discovery service as the processes service sees it: which collections exist."""

from eoplex_common.errors import CollectionNotFound
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2, data_discovery_pb2_grpc


class CatalogCollections:
    """Answers whether a collection exists by asking the catalog (`GetCollection`)."""

    def __init__(self, catalog: data_discovery_pb2_grpc.DataDiscoveryServiceStub) -> None:
        self.catalog = catalog

    async def exists(self, collection_id: str) -> bool:
        """Whether the catalog has the collection; ServiceUnavailable if it does not answer."""
        try:
            await self.catalog.GetCollection(
                data_discovery_pb2.GetCollectionRequest(collection_id=collection_id)
            )
        except CollectionNotFound:
            return False
        return True
