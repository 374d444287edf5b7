"""Synchronous processing, answered by the executor's serve pool: `POST /result`."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from eoplex_common.errors import BadRequest
from eoplex_gateway.dependencies import Clients, Principal, Quota, Settings
from eoplex_gateway.request_members import (
    JsonObjectBody,
    budget_of,
    check_log_level,
    process_of,
    text_member,
)
from eoplex_gateway.streaming import file_bytes
from eoplex_proto.openeo.executor.v1 import executor_pb2 as pb

router = APIRouter()

# `{"process": {"process_graph": ...}, "budget": ..., ...}`; not a JSON object: BadRequest.
ResultBody = JsonObjectBody


def result_headers(first: pb.ResultChunk) -> dict[str, str]:
    """The headers the executor's first chunk announces: length and costs."""
    return {"Content-Length": str(first.size), "OpenEO-Costs": str(first.costs)}


async def client_disconnect(request: Request) -> None:
    """Returns when the client has gone away (its body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def first_chunk(
    call: Any, chunks: AsyncIterator[pb.ResultChunk], request: Request
) -> pb.ResultChunk:
    """The executor's first chunk, which arrives once the result is computed.

    A client that disconnects meanwhile cancels the call, so its worker stops at once
    instead of computing for nobody; the call's errors are raised as they are.
    """
    first = asyncio.ensure_future(anext(chunks))
    gone = asyncio.ensure_future(client_disconnect(request))
    try:
        await asyncio.wait((first, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not first.done():
            call.cancel()
            first.cancel()
    if first.cancelled():
        raise BadRequest(reason="the client disconnected before the result was computed")
    return first.result()


@router.post("/result")
async def process_synchronously(
    body: ResultBody,
    request: Request,
    principal: Principal,
    quota: Quota,
    settings: Settings,
    clients: Clients,
) -> StreamingResponse:
    """`POST /result`: run the process and stream its one result file.

    Errors are answered before the first byte, as openEO errors: AuthenticationRequired
    (401), TokenInvalid (403), BadRequest (400), ProcessGraphMissing (400), every
    error of the executor (ProcessGraphInvalid, ProcessUnsupported,
    ProcessParameterInvalid, CollectionNotFound, ProcessGraphComplexity above the
    tenant's pixel quota, TooManyRequests (429), RequestTimeout (408)), and
    ServiceUnavailable (503).
    """
    process = process_of(body)
    # Checked, though not used: they are what the spec defines them to be, or refused.
    budget_of(body)
    text_member(body, "plan")
    check_log_level(body)
    execute = pb.ExecuteRequest(
        process_json=json.dumps(process),
        user_id=principal.user_id,
        tenant_id=principal.tenant_id,
        max_pixels=quota.max_sync_pixels,
    )
    call = clients.executor.Execute(execute, timeout=settings.result_timeout_seconds)
    chunks = aiter(call)
    first = await first_chunk(call, chunks, request)
    return StreamingResponse(
        file_bytes(call, chunks), media_type=first.media_type, headers=result_headers(first)
    )
