"""MongoDB access through PyMongo's asyncio API. Each service owns one database."""

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase


def connect_mongo(url: str, *, timeout_seconds: float = 5.0) -> AsyncMongoClient:  # type: ignore[type-arg]
    """A client that fails fast (instead of hanging) when the server is down."""
    millis = int(timeout_seconds * 1000)
    return AsyncMongoClient(
        url,
        serverSelectionTimeoutMS=millis,
        connectTimeoutMS=millis,
        tz_aware=True,
    )


def service_database(client: AsyncMongoClient, service: str) -> AsyncDatabase:  # type: ignore[type-arg]
    """The one database a service owns, e.g. `eoplex_auth`."""
    return client[f"eoplex_{service.replace('-', '_')}"]
