"""The processes service's outbound calls: the data-discovery service, for which collections
exist."""

from eoplex_common.errors import CollectionNotFound
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2, data_discovery_pb2_grpc


class DataDiscoveryCollections:
    """`CollectionLookup` over the data-discovery service's `GetCollection`."""

    def __init__(self, stub: data_discovery_pb2_grpc.DataDiscoveryServiceStub) -> None:
        self.stub = stub

    async def exists(self, collection_id: str) -> bool:
        """Whether the catalog has the collection; ServiceUnavailable if data-discovery does
        not answer."""
        try:
            await self.stub.GetCollection(
                data_discovery_pb2.GetCollectionRequest(collection_id=collection_id)
            )
        except CollectionNotFound:
            return False
        return True
