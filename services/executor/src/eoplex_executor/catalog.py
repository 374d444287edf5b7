"""The executor's synchronous client of the data-discovery catalog (collections, item search).

Processes run in worker threads and processes without an event loop, so this uses
gRPC's blocking API; failed calls become the openEO error the catalog raised.
"""

import json
from collections.abc import Mapping
from typing import Any, cast

import grpc

from eoplex_common.rpc import CHANNEL_OPTIONS, error_from_rpc
from eoplex_proto.openeo.data_discovery.v1 import catalog_pb2 as pb
from eoplex_proto.openeo.data_discovery.v1 import catalog_pb2_grpc

PAGE_SIZE = 1000


class GrpcCatalog:
    """`Catalog` (see `eoplex_executor.environment`) over the data-discovery gRPC API."""

    def __init__(self, address: str, timeout_seconds: float) -> None:
        self.channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        self.stub = catalog_pb2_grpc.CatalogServiceStub(self.channel)
        self.timeout_seconds = timeout_seconds

    def _call(self, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self.timeout_seconds)
        except grpc.RpcError as error:
            raise error_from_rpc(cast(Any, error), service="data-discovery") from None

    def collection(self, collection_id: str) -> dict[str, Any]:
        """The STAC Collection; CollectionNotFound if there is none."""
        request = pb.GetCollectionRequest(collection_id=collection_id)
        document: dict[str, Any] = json.loads(self._call(self.stub.GetCollection, request).json)
        return document

    def search_items(
        self,
        *,
        collection_id: str,
        bbox: list[float] | None,
        bbox_crs: str,
        start: str,
        end: str,
        bands: list[str],
        property_filter: Mapping[str, Mapping[str, float]],
    ) -> list[dict[str, Any]]:
        """Every matching item, following the pages of the search; `property_filter` as the
        catalog's `property_filter_json` takes it (`{"eo:cloud_cover": {"lte": 20}}`)."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            request = pb.SearchItemsRequest(
                collection_id=collection_id,
                bbox=bbox or [],
                bbox_crs=bbox_crs,
                datetime_start=start,
                datetime_end=end,
                bands=bands,
                property_filter_json=json.dumps(property_filter) if property_filter else "",
                limit=PAGE_SIZE,
                page_token=token,
            )
            page = self._call(self.stub.SearchItems, request)
            items.extend(json.loads(text) for text in page.items_json)
            token = page.next_page_token
            if not token:
                return items

    def close(self) -> None:
        self.channel.close()
