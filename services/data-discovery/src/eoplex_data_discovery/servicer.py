"""gRPC <-> domain for the catalog (openeo.data_discovery.v1)."""

import json
from typing import Any

import grpc

from eoplex_common.errors import BadRequest
from eoplex_data_discovery.service import DataDiscoveryService, ItemSearch
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2 as pb
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2_grpc


def _parse(text: str, *, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise BadRequest(reason=f"{what} is not valid JSON") from None


def _document(document: dict[str, Any]) -> pb.JsonDocument:
    return pb.JsonDocument(json=json.dumps(document))


class DataDiscoveryServicer(data_discovery_pb2_grpc.DataDiscoveryServiceServicer):
    """Thin adapter from the gRPC `openeo.data_discovery.v1.DataDiscoveryService` to the
    domain `DataDiscoveryService`."""

    def __init__(self, service: DataDiscoveryService) -> None:
        self.service = service

    async def ListCollections(
        self, request: pb.ListCollectionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCollectionsResponse:
        page = await self.service.list_collections(
            limit=request.limit, page_token=request.page_token
        )
        return pb.ListCollectionsResponse(
            collections_json=[json.dumps(c) for c in page.collections],
            next_page_token=page.next_token,
            prev_page_token=page.prev_token,
        )

    async def GetCollection(
        self, request: pb.GetCollectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.JsonDocument:
        return _document(await self.service.collection(request.collection_id))

    async def GetQueryables(
        self, request: pb.GetCollectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.JsonDocument:
        return _document(await self.service.queryables(request.collection_id))

    async def SearchItems(
        self, request: pb.SearchItemsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SearchItemsResponse:
        search = ItemSearch(
            collection_id=request.collection_id,
            bbox=list(request.bbox),
            bbox_crs=request.bbox_crs,
            start=request.datetime_start,
            end=request.datetime_end,
            bands=list(request.bands),
            property_filter_json=request.property_filter_json,
            limit=request.limit,
            page_token=request.page_token,
        )
        page = await self.service.search_items(search)
        return pb.SearchItemsResponse(
            items_json=[json.dumps(item) for item in page.items],
            next_page_token=page.next_token,
            number_matched=page.number_matched,
        )

    async def StageCollection(
        self, request: pb.StageCollectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.StageCollectionResponse:
        document = _parse(request.collection_json, what="the collection")
        return pb.StageCollectionResponse(version=await self.service.stage_collection(document))

    async def StageItems(
        self, request: pb.StageItemsRequest, context: grpc.aio.ServicerContext
    ) -> pb.StageItemsResponse:
        items = [_parse(text, what="an item") for text in request.items_json]
        staged = await self.service.stage_items(
            collection_id=request.collection_id, version=request.version, items=items
        )
        return pb.StageItemsResponse(staged=staged)

    async def CommitCollection(
        self, request: pb.CommitCollectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.CommitCollectionResponse:
        count = await self.service.commit_collection(
            collection_id=request.collection_id, version=request.version
        )
        return pb.CommitCollectionResponse(items=count)

    async def AbortCollection(
        self, request: pb.AbortCollectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.AbortCollectionResponse:
        await self.service.abort_collection(
            collection_id=request.collection_id, version=request.version
        )
        return pb.AbortCollectionResponse()

    async def DeleteCollection(
        self, request: pb.DeleteCollectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteCollectionResponse:
        await self.service.delete_collection(request.collection_id)
        return pb.DeleteCollectionResponse()
