"""The processes service's outbound calls: the data-discovery service, for the collections
a process loads."""

import json

from eoplex_common.collection_checks import CollectionMetadata
from eoplex_common.errors import CollectionNotFound
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2, data_discovery_pb2_grpc


class DataDiscoveryCollections:
    """`CollectionCatalog` over the data-discovery service's `GetCollection` and
    `GetQueryables`."""

    def __init__(self, stub: data_discovery_pb2_grpc.DataDiscoveryServiceStub) -> None:
        self.stub = stub

    async def metadata(self, collection_id: str) -> CollectionMetadata | None:
        """The collection's document and the properties of its items (its queryables); None
        if the catalog has no such collection. ServiceUnavailable if data-discovery does not
        answer."""
        request = data_discovery_pb2.GetCollectionRequest(collection_id=collection_id)
        try:
            document = await self.stub.GetCollection(request)
            queryables = await self.stub.GetQueryables(request)
        except CollectionNotFound:
            return None
        properties = json.loads(queryables.json).get("properties", {})
        return CollectionMetadata(json.loads(document.json), frozenset(properties))
