"""Routes answered by the processes service: `GET /processes` (public), `POST /validation`."""

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from eoplex_gateway.dependencies import Clients, Principal, Settings
from eoplex_gateway.links import link
from eoplex_gateway.request_members import JsonObjectBody
from eoplex_gateway.urls import api_url
from eoplex_proto.openeo.processes.v1 import processes_pb2 as pb

router = APIRouter()

# The request body is the process itself; anything but a JSON object is a BadRequest.
ProcessBody = JsonObjectBody


def build_validation_result(response: pb.ValidateProcessResponse) -> dict[str, Any]:
    """`POST /validation`: the problems found, as openEO errors (empty when valid)."""
    return {"errors": [{"code": e.code, "message": e.message} for e in response.errors]}


@router.get("/processes")
async def list_processes(request: Request, settings: Settings, clients: Clients) -> JSONResponse:
    """`GET /processes`: every predefined process, whatever `limit` asks.

    Pagination is optional in openEO; this list is short and every client needs all of
    it, while clients that read only the first page (as the JavaScript client does) would
    miss processes. So `limit` and `token` are ignored and there is no `next` link.
    """
    response = await clients.processes.ListProcesses(pb.ListProcessesRequest())
    processes = [json.loads(text) for text in response.processes_json]
    links = [link(f"{api_url(request, settings)}processes", "self")]
    return JSONResponse({"processes": processes, "links": links})


@router.post("/validation")
async def validate_process(
    process: ProcessBody, principal: Principal, clients: Clients
) -> dict[str, Any]:
    """`POST /validation`: 200 with the problems of the process, whatever they are.

    Raises AuthenticationRequired (401), TokenInvalid (403), BadRequest (400) when the
    body is not a JSON object, ServiceUnavailable (503) when data-discovery does not answer.
    """
    query = pb.ValidateProcessRequest(
        process_json=json.dumps(process),
        user_id=principal.user_id,
        tenant_id=principal.tenant_id,
    )
    return build_validation_result(await clients.processes.ValidateProcess(query))
