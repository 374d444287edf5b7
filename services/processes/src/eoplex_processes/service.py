"""The processes service's logic: predefined processes (`GET /processes`), user-defined
processes (`/process_graphs`) and validation (`POST /validation`).

Only what the executor implements is listed and accepted (`IMPLEMENTED_PROCESSES`);
the documents are the official openEO specifications of those processes. User-defined
processes belong to one user of one tenant; a process may call the caller's own
user-defined processes (namespace `user`, or null), never anybody else's.
"""

import asyncio
import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from eoplex_common.collection_checks import CollectionMetadata
from eoplex_common.errors import (
    BadRequest,
    OpenEOError,
    ProcessGraphInvalid,
    ProcessGraphMissing,
    ProcessGraphNotFound,
)
from eoplex_common.process_graph import (
    GraphLimits,
    called_user_processes,
    referenced_collections,
    validate_process,
)
from eoplex_common.process_specs import ProcessSpec, implemented_process_specs
from eoplex_processes.store import Owner, UserProcessStore
from eoplex_processes.user_processes import check_process_id, listed, metadata_problem

# What `GET /processes` shows of a specification; e.g. `process_graph`, the reference
# implementation some specifications carry, is left out: it is not how the back-end runs.
PROCESS_FIELDS = (
    "id",
    "summary",
    "description",
    "categories",
    "parameters",
    "returns",
    "exceptions",
    "examples",
    "links",
    "deprecated",
    "experimental",
)


class CollectionCatalog(Protocol):
    """The metadata of collections (the data-discovery catalog)."""

    async def metadata(self, collection_id: str) -> CollectionMetadata | None:
        """The collection's document and item properties; None if it does not exist."""
        ...


@dataclass(frozen=True, kw_only=True)
class ProcessesPage:
    """One page of `GET /processes` and the token of the next page ("" for none)."""

    processes: list[dict[str, Any]]
    next_token: str = ""


def process_document(spec: ProcessSpec) -> dict[str, Any]:
    """A predefined process as `GET /processes` lists it."""
    return {name: spec[name] for name in PROCESS_FIELDS if name in spec}


def _encode_token(after: str) -> str:
    payload = json.dumps({"after": after}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _decode_token(token: str) -> str:
    """The process id a page token continues after; BadRequest if it was not made here."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("after"), str):
        raise BadRequest(reason="the page token is invalid")
    return str(payload["after"])


def _page(processes: list[dict[str, Any]], *, limit: int) -> ProcessesPage:
    """The first `limit` (0: all) of `processes` sorted by id, with the next page's token."""
    if limit == 0 or len(processes) <= limit:
        return ProcessesPage(processes=processes)
    page = processes[:limit]
    return ProcessesPage(processes=page, next_token=_encode_token(page[-1]["id"]))


def _parse(process_json: str) -> Any:
    try:
        return json.loads(process_json)
    except (json.JSONDecodeError, RecursionError):
        return None


class ProcessesService:
    """The predefined processes behind `GET /processes`, the user-defined processes behind
    `/process_graphs`, and `POST /validation`."""

    def __init__(
        self, *, collections: CollectionCatalog, limits: GraphLimits, store: UserProcessStore
    ) -> None:
        self.collections = collections
        self.limits = limits
        self.store = store
        self.documents = [process_document(spec) for spec in implemented_process_specs()]

    def list_processes(self, *, limit: int, page_token: str) -> ProcessesPage:
        """`GET /processes`: the implemented processes by id; `limit` 0 lists all of them.

        Raises BadRequest for a negative limit or a malformed token.
        """
        if limit < 0:
            raise BadRequest(reason="limit must not be negative")
        after = _decode_token(page_token) if page_token else ""
        remaining = [document for document in self.documents if document["id"] > after]
        return _page(remaining, limit=limit)

    async def validate(self, process_json: str, owner: Owner | None = None) -> list[OpenEOError]:
        """`POST /validation`: every problem of the process, empty if it is valid.

        Calls of `owner`'s user-defined processes are checked against their declared
        parameters (ProcessParameterRequired, ...); a missing one, or any with no owner,
        is ProcessUnsupported. The graphs of the user-defined processes it reaches count
        in its depth (ProcessGraphComplexity), as they nest when it runs. Malformed JSON
        is reported as ProcessGraphInvalid; collections are looked up in the catalog
        (CollectionNotFound, and the bands, properties and extents the process asks of
        them: ProcessParameterInvalid), whose ServiceUnavailable propagates.
        """
        process = _parse(process_json)
        if process is None:
            return [ProcessGraphInvalid("Invalid process graph: the process is not valid JSON.")]
        return await self._problems(process, owner=owner)

    async def _problems(
        self, process: Any, *, owner: Owner | None, process_id: str | None = None
    ) -> list[OpenEOError]:
        """`validate_process` with the collections and every user-defined process of the
        owner it reaches looked up first; `process_id` is the id it is stored under."""
        found = await self._collections(referenced_collections(process, limits=self.limits))
        reached: dict[str, dict[str, Any]] = {}
        if owner is not None and owner.user_id and isinstance(process, dict):
            reached = await self._reachable(owner, process, process_id=process_id)
        return validate_process(
            process,
            collections=found.get,
            user_process=reached.get,
            limits=self.limits,
            process_id=process_id,
        )

    async def list_user_processes(
        self, owner: Owner, *, limit: int, page_token: str
    ) -> ProcessesPage:
        """`GET /process_graphs`: the owner's processes sorted by id, without their process
        graphs (nor exceptions, examples, links); `limit` 0 lists all of them.

        Raises BadRequest for a negative limit or a malformed token.
        """
        if limit < 0:
            raise BadRequest(reason="limit must not be negative")
        after = _decode_token(page_token) if page_token else ""
        # One more than asked, to know whether a next page exists.
        found = await self.store.list(owner, after=after, limit=limit + 1 if limit else 0)
        return _page([listed(process) for process in found], limit=limit)

    async def get_user_process(self, owner: Owner, process_id: str) -> dict[str, Any]:
        """`GET /process_graphs/{process_graph_id}`: the full process; ProcessGraphNotFound,
        also for another user's process."""
        process = await self.store.get(owner, process_id)
        if process is None:
            raise ProcessGraphNotFound(identifier=process_id)
        return process

    async def put_user_process(self, owner: Owner, process_id: str, process_json: str) -> None:
        """`PUT /process_graphs/{process_graph_id}`: store or replace the process.

        The id in the body, if any, is replaced by `process_id` (as the spec says).
        Raises ProcessInvalid (an id not matching `^\\w+$`, malformed metadata),
        PredefinedProcessExists, BadRequest (not JSON), ProcessGraphMissing, the first
        validation error (ProcessGraphInvalid, ProcessUnsupported for a missing user-defined
        process, ProcessParameterRequired, ...), ProcessGraphInvalid when the process would
        call itself, directly or through others, and ProcessGraphComplexity when its graphs,
        one level below a graph calling it, and those of the user-defined processes it calls
        would nest deeper than the graph depth limit.
        """
        check_process_id(process_id)
        process = _parse(process_json)
        if process is None:
            raise BadRequest(reason="the process is not valid JSON")
        if not isinstance(process, dict) or not isinstance(process.get("process_graph"), dict):
            raise ProcessGraphMissing()
        problem = metadata_problem(process)
        if problem is not None:
            raise problem
        process["id"] = process_id
        errors = await self._problems(process, owner=owner, process_id=process_id)
        if errors:
            raise errors[0]
        await self.store.put(owner, process_id, process)

    async def delete_user_process(self, owner: Owner, process_id: str) -> None:
        """`DELETE /process_graphs/{process_graph_id}`: ProcessGraphNotFound, also for another
        user's process. Processes and jobs calling it are left as they are (as the spec says)."""
        if not await self.store.delete(owner, process_id):
            raise ProcessGraphNotFound(identifier=process_id)

    async def _reachable(
        self, owner: Owner, process: dict[str, Any], *, process_id: str | None
    ) -> dict[str, dict[str, Any]]:
        """Every stored process of the owner that `process` calls, directly or through
        others, by id; `process` itself as `process_id` (the version being stored)."""
        reached: dict[str, dict[str, Any]] = {process_id: process} if process_id else {}
        asked = set(reached)
        wanted = called_user_processes(process) - asked
        while wanted:
            found = await self.store.get_many(owner, wanted)
            reached.update(found)
            # A missing one is asked for once: validation reports it (ProcessUnsupported).
            asked |= wanted
            wanted = {
                callee
                for callee_process in found.values()
                for callee in called_user_processes(callee_process)
            } - asked
        return reached

    async def _collections(self, collection_ids: Iterable[str]) -> dict[str, CollectionMetadata]:
        """The metadata of those of `collection_ids` that exist, by id."""
        ids = sorted(collection_ids)
        found = await asyncio.gather(*(self.collections.metadata(i) for i in ids))
        return {
            collection_id: metadata
            for collection_id, metadata in zip(ids, found, strict=True)
            if metadata is not None
        }
