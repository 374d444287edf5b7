"""The capabilities service's outbound calls: the executor, for its UDF sandbox."""

from typing import Any

from eoplex_common.errors import OpenEOError
from eoplex_common.rpc import open_channel
from eoplex_proto.openeo.executor.v1 import executor_pb2, executor_pb2_grpc


class ExecutorClient:
    """The executor's `GetUdfSandbox`, for `GET /udf_runtimes`."""

    def __init__(self, address: str, *, timeout_seconds: float) -> None:
        self._channel = open_channel(
            service="executor", address=address, timeout_seconds=timeout_seconds
        )
        self._stub = executor_pb2_grpc.ExecutorServiceStub(self._channel)

    async def udf_sandbox(self) -> dict[str, Any] | None:
        """How the executor confines UDF processes, as `eoplex:sandbox` shows it; None when
        the executor does not answer."""
        try:
            reply = await self._stub.GetUdfSandbox(executor_pb2.GetUdfSandboxRequest())
        except OpenEOError:
            return None
        limits = reply.limits
        return {
            "enforced": reply.enforced,
            "runs_udfs": reply.runs_udfs,
            "reason": reply.reason,
            "layers": list(reply.layers),
            "limits": {
                "memory_bytes": limits.memory_bytes,
                "cpu_seconds": limits.cpu_seconds,
                "sync_cpu_seconds": limits.sync_cpu_seconds,
                "file_bytes": limits.file_bytes,
                "processes_and_threads": limits.tasks,
            },
        }

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()
