"""Readiness probes for the stack's own processes, in the shape `ProcessSpec.ready` expects.

The infrastructure servers' probes live next to their specs in `eoplex.servers`;
these are the ones Kubernetes would run against the services: the standard gRPC
health check, and the gateway's well-known document.
"""

import urllib.error
import urllib.request
from collections.abc import Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def grpc_serving(address: str, *, timeout_seconds: float = 1.0) -> Callable[[], bool]:
    """A readiness probe: the gRPC health service at `address` reports SERVING."""

    def probe() -> bool:
        with grpc.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                response = stub.Check(health_pb2.HealthCheckRequest(), timeout=timeout_seconds)
            except grpc.RpcError:
                return False
        return bool(response.status == health_pb2.HealthCheckResponse.SERVING)

    return probe


def http_ok(url: str, *, timeout_seconds: float = 1.0) -> Callable[[], bool]:
    """A readiness probe: GET `url` answers 200."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=timeout_seconds) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    return probe
