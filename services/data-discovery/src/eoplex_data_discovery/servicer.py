"""gRPC <-> domain for the catalog (openeo.data_discovery.v1)."""

import json
from typing import Any

import grpc

from eoplex_common.errors import BadRequest
from eoplex_data_discovery.external import StacApiSource
from eoplex_data_discovery.search import ItemSearch
from eoplex_data_discovery.service import DataDiscoveryService
from eoplex_data_discovery.stac_api import (
    CollectionSource,
    StacApiCollections,
    StacApiRegistration,
)
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2 as pb
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2_grpc


def _parse(text: str, *, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise BadRequest(reason=f"{what} is not valid JSON") from None


def _document(document: dict[str, Any]) -> pb.JsonDocument:
    return pb.JsonDocument(json=json.dumps(document))


def _source(source: CollectionSource) -> pb.CollectionSource:
    return pb.CollectionSource(
        collection_id=source.collection_id,
        kind=source.kind,
        upstream=source.upstream,
        refreshed=source.refreshed.isoformat().replace("+00:00", "Z"),
        refresh_error=source.refresh_error,
        title=source.title,
    )


def _registration(request: pb.RegisterStacApiRequest) -> StacApiRegistration:
    overrides = (
        _parse(request.overrides_json, what="the overrides") if request.overrides_json else {}
    )
    credentials = None
    if request.credentials_json:
        try:
            credentials = json.loads(request.credentials_json)
        except json.JSONDecodeError:
            # Never quote the text: it holds secrets.
            raise BadRequest(reason="the credentials are not valid JSON") from None
    return StacApiRegistration(
        source=StacApiSource(
            url=request.url,
            upstream_collection=request.upstream_collection,
            bands_from=request.bands_from or "raster:bands",
            signing=request.signing,
            signing_url=request.signing_url,
            overrides=overrides,
            s3_access=request.s3_access,
            s3_endpoint=request.s3_endpoint,
            s3_region=request.s3_region,
            credentials_secret=request.credentials_secret,
        ),
        collection_id=request.collection_id,
        credentials=credentials,
    )


class DataDiscoveryServicer(data_discovery_pb2_grpc.DataDiscoveryServiceServicer):
    """Thin adapter from the gRPC `openeo.data_discovery.v1.DataDiscoveryService` to the
    domain `DataDiscoveryService` and, for collections served from STAC APIs,
    `StacApiCollections`."""

    def __init__(self, service: DataDiscoveryService, stac_api: StacApiCollections) -> None:
        self.service = service
        self.stac_api = stac_api

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

    async def RegisterStacApiCollection(
        self, request: pb.RegisterStacApiRequest, context: grpc.aio.ServicerContext
    ) -> pb.CollectionSource:
        return _source(await self.stac_api.register(_registration(request)))

    async def RefreshCollection(
        self, request: pb.RefreshCollectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.CollectionSource:
        return _source(await self.stac_api.refresh(request.collection_id))

    async def ListCollectionSources(
        self, request: pb.ListCollectionSourcesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCollectionSourcesResponse:
        sources = await self.stac_api.sources()
        return pb.ListCollectionSourcesResponse(sources=[_source(s) for s in sources])

    async def GetCollectionAccess(
        self, request: pb.GetCollectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.CollectionAccess:
        access = await self.stac_api.access(request.collection_id)
        return pb.CollectionAccess(
            kind=access.kind,
            gdal_options=access.gdal_options,
            signing=access.signing,
            signing_url=access.signing_url,
            mosaic=access.mosaic,
        )

    async def ListUpstreams(
        self, request: pb.ListUpstreamsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListUpstreamsResponse:
        return pb.ListUpstreamsResponse(urls=await self.stac_api.upstream_urls())
