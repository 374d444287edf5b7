"""The real servers of the test session answer with their own protocols."""

import io

import nats
from minio import Minio
from pymongo import AsyncMongoClient

from conftest import Infrastructure


async def test_mongodb_round_trip(infrastructure: Infrastructure) -> None:
    client: AsyncMongoClient = AsyncMongoClient(infrastructure.mongodb_url)
    try:
        collection = client.eoplex_infrastructure_test.things
        await collection.insert_one({"_id": "a", "n": 1})
        updated = await collection.find_one_and_update(
            {"_id": "a", "n": 1}, {"$set": {"n": 2}}, return_document=True
        )
        assert updated == {"_id": "a", "n": 2}
    finally:
        await client.close()


async def test_jetstream_publish(infrastructure: Infrastructure) -> None:
    connection = await nats.connect(infrastructure.nats_url)
    try:
        js = connection.jetstream()
        await js.add_stream(name="INFRA_TEST", subjects=["infra-test.>"])
        ack = await js.publish("infra-test.x", b"payload")
        assert ack.stream == "INFRA_TEST"
    finally:
        await connection.close()


def test_s3_round_trip(infrastructure: Infrastructure) -> None:
    credentials = infrastructure.s3_credentials
    client = Minio(
        infrastructure.s3_endpoint.removeprefix("http://"),
        access_key=credentials.access_key,
        secret_key=credentials.secret_key,
        secure=False,
    )
    client.make_bucket("infra-test")
    client.put_object("infra-test", "a/b.txt", io.BytesIO(b"hello"), 5)
    assert client.get_object("infra-test", "a/b.txt").read() == b"hello"
