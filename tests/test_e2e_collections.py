"""End to end: a collection registered through the catalog's gRPC API, seen by the `openeo` client.

Every JSON response the client receives is validated against openapi.yaml, and the
collection document against the STAC Collection schema.
"""

import asyncio
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import openeo
import pytest
import requests
from openeo.rest import OpenEoApiError

from eoplex.stack import LocalStack
from eoplex_common.rpc import open_channel
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2 as pb
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2_grpc
from tests.data_discovery_server import collection_document, item_document, register
from tests.openapi_validation import validate_error, validate_response
from tests.stac_validation import validate_stac_collection

API_PREFIX = "/openeo/1.2"


class CollectionsChecker:
    """A `requests` response hook validating JSON bodies of `/collections` and below."""

    def __init__(self) -> None:
        self.checked: list[str] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        path = urlsplit(response.url).path.removeprefix(API_PREFIX)
        if not path.startswith("/collections"):
            return
        template = "/collections" if path == "/collections" else "/collections/{collection_id}"
        if response.status_code >= 400:
            validate_error(response.json())
        else:
            validate_response("GET", template, response.status_code, response.json())
        self.checked.append(f"{response.status_code} {template}")


def connect(stack: LocalStack) -> tuple[openeo.Connection, CollectionsChecker]:
    checker = CollectionsChecker()
    connection = openeo.connect(stack.api_url)
    connection.session.hooks["response"].append(checker)
    return connection, checker


async def _register(address: str, collection_id: str) -> None:
    channel = open_channel(service="data-discovery", address=address, timeout_seconds=10)
    try:
        stub = data_discovery_pb2_grpc.DataDiscoveryServiceStub(channel)
        await register(stub, collection_document(collection_id), [item_document("a")])
    finally:
        await channel.close()


async def _remove(address: str, collection_id: str) -> None:
    channel = open_channel(service="data-discovery", address=address, timeout_seconds=10)
    try:
        stub = data_discovery_pb2_grpc.DataDiscoveryServiceStub(channel)
        await stub.DeleteCollection(pb.DeleteCollectionRequest(collection_id=collection_id))
    finally:
        await channel.close()


@pytest.fixture
def registered(local_stack: LocalStack) -> Iterator[str]:
    """A collection with a fresh id, registered for one test and removed after it."""
    address = local_stack.env["OPENEO_DATA_DISCOVERY_ADDRESS"]
    collection_id = f"E2E_{secrets.token_hex(4)}"
    asyncio.run(_register(address, collection_id))
    yield collection_id
    asyncio.run(_remove(address, collection_id))


def test_client_lists_and_describes_a_registered_collection(
    local_stack: LocalStack, registered: str
) -> None:
    connection, checker = connect(local_stack)
    assert registered in connection.list_collection_ids()
    described = connection.describe_collection(registered)
    validate_stac_collection(described)
    assert described["cube:dimensions"]["bands"]["values"] == ["B02", "B04"]
    assert checker.checked == ["200 /collections", "200 /collections/{collection_id}"]


def test_client_gets_collection_not_found(local_stack: LocalStack) -> None:
    connection, checker = connect(local_stack)
    with pytest.raises(OpenEoApiError) as raised:
        connection.describe_collection("NO_SUCH_COLLECTION")
    assert raised.value.code == "CollectionNotFound"
    assert checker.checked == ["404 /collections/{collection_id}"]
