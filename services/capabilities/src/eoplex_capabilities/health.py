"""`GET /health`: is every service and every server of the back-end reachable right now?

Each check has its own short timeout and all run concurrently, so one server that
hangs costs the caller at most one timeout, not the sum of them.
"""

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

import grpc
import urllib3
from minio import Minio
from nats.aio.client import Client as NATS
from pymongo import uri_parser

from eoplex_common.mongo import connect_mongo
from eoplex_common.rpc import check_health
from eoplex_common.settings import InfrastructureSettings

log = logging.getLogger(__name__)

OK = "ok"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class ComponentHealth:
    """The state of one gRPC service (`kind="service"`) or infrastructure server."""

    name: str
    kind: str
    status: str
    detail: str = ""


@dataclass(frozen=True)
class HealthReport:
    """`ok` when every component is ok, `degraded` otherwise."""

    status: str
    components: list[ComponentHealth]


async def _tcp_reachable(host: str, port: int, timeout_seconds: float) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_seconds)
    except (OSError, TimeoutError):
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def _ping_mongodb(url: str, timeout_seconds: float) -> None:
    # A down server is told by TCP alone: PyMongo's monitor leaks the socket of a connect
    # attempt that `close()` cancels, which a health check polling a down server would pile up.
    nodes = uri_parser.parse_uri(url)["nodelist"]
    reachable = await asyncio.gather(*(_tcp_reachable(h, p, timeout_seconds) for h, p in nodes))
    if not any(reachable):
        raise ConnectionRefusedError("no MongoDB node accepts connections")
    client = connect_mongo(url, timeout_seconds=timeout_seconds)
    try:
        await client.admin.command("ping")
    finally:
        await client.close()


async def _ping_nats(url: str, timeout_seconds: float) -> None:
    async def ignore(_: Exception) -> None:
        """The failure is reported by `connect` itself; nats-py would log it again."""

    client = NATS()
    # nats-py takes whole seconds.
    seconds = math.ceil(timeout_seconds)
    await client.connect(
        servers=[url],
        connect_timeout=seconds,
        allow_reconnect=False,
        max_reconnect_attempts=0,
        error_cb=ignore,
    )
    try:
        await client.flush(timeout=seconds)
    finally:
        await client.close()


def _list_s3_buckets(settings: InfrastructureSettings, timeout_seconds: float) -> None:
    # A client of its own: the shared one retries with back-off, a health check must not.
    endpoint = urlsplit(settings.s3_endpoint)
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=timeout_seconds, read=timeout_seconds), retries=False
    )
    client = Minio(
        endpoint.netloc,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=endpoint.scheme == "https",
        region=settings.s3_region,
        http_client=http,
    )
    try:
        client.list_buckets()
    finally:
        http.clear()


async def _ping_service(address: str, timeout_seconds: float) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        if not await check_health(channel, timeout_seconds=timeout_seconds):
            raise ConnectionError(f"{address} is not serving")


class HealthChecker:
    """Checks the gRPC services (standard health protocol) and MongoDB, NATS and S3."""

    def __init__(
        self,
        *,
        services: dict[str, str],
        infrastructure: InfrastructureSettings,
        timeout_seconds: float,
    ) -> None:
        self.services = services
        self.infrastructure = infrastructure
        self.timeout_seconds = timeout_seconds

    async def check(self) -> HealthReport:
        """Run every check concurrently; never raises, a failure is a component's state."""
        timeout = self.timeout_seconds
        infra = self.infrastructure
        probes: list[tuple[str, str, Callable[[], Awaitable[None]]]] = [
            (name, "service", partial(_ping_service, address, timeout))
            for name, address in self.services.items()
        ]
        probes += [
            ("mongodb", "server", partial(_ping_mongodb, infra.mongodb_url, timeout)),
            ("nats", "server", partial(_ping_nats, infra.nats_url, timeout)),
            ("s3", "server", partial(asyncio.to_thread, _list_s3_buckets, infra, timeout)),
        ]
        components = await asyncio.gather(
            *(self._probe(name, kind, probe) for name, kind, probe in probes)
        )
        healthy = all(component.status == OK for component in components)
        return HealthReport(status="ok" if healthy else "degraded", components=list(components))

    async def _probe(
        self, name: str, kind: str, probe: Callable[[], Awaitable[None]]
    ) -> ComponentHealth:
        try:
            # Also bounds drivers whose own timeouts are looser (nats-py retries a refusal).
            await asyncio.wait_for(probe(), timeout=self.timeout_seconds)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("health check of %s failed: %r", name, error)
            # Only the kind of failure: `/health` is public, addresses stay in the log.
            return ComponentHealth(name, kind, UNAVAILABLE, type(error).__name__)
        return ComponentHealth(name, kind, OK)
