"""The processes service's logic: predefined processes (`GET /processes`) and validation.

Only what the executor implements is listed and accepted (`IMPLEMENTED_PROCESSES`);
the documents are the official openEO specifications of those processes.
User-defined processes arrive with `/process_graphs` in a later issue.
"""

import asyncio
import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from eoplex_common.errors import BadRequest, OpenEOError, ProcessGraphInvalid
from eoplex_common.process_graph import GraphLimits, referenced_collections, validate_process
from eoplex_common.process_specs import ProcessSpec, implemented_process_specs

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


class CollectionLookup(Protocol):
    """Tells whether a collection exists (the data-discovery catalog)."""

    async def exists(self, collection_id: str) -> bool:
        """Whether the collection exists."""
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


class ProcessesService:
    """The predefined processes behind `GET /processes`, and `POST /validation`."""

    def __init__(self, *, collections: CollectionLookup, limits: GraphLimits) -> None:
        self.collections = collections
        self.limits = limits
        self.documents = [process_document(spec) for spec in implemented_process_specs()]

    def list_processes(self, *, limit: int, page_token: str) -> ProcessesPage:
        """`GET /processes`: the implemented processes by id; `limit` 0 lists all of them.

        Raises BadRequest for a negative limit or a malformed token.
        """
        if limit < 0:
            raise BadRequest(reason="limit must not be negative")
        after = _decode_token(page_token) if page_token else ""
        remaining = [document for document in self.documents if document["id"] > after]
        if limit == 0 or len(remaining) <= limit:
            return ProcessesPage(processes=remaining)
        page = remaining[:limit]
        return ProcessesPage(processes=page, next_token=_encode_token(page[-1]["id"]))

    async def validate(self, process_json: str) -> list[OpenEOError]:
        """`POST /validation`: every problem of the process, empty if it is valid.

        Malformed JSON is reported as ProcessGraphInvalid; collections are looked up in
        the catalog, whose ServiceUnavailable propagates.
        """
        try:
            process = json.loads(process_json)
        except (json.JSONDecodeError, RecursionError):
            return [ProcessGraphInvalid("Invalid process graph: the process is not valid JSON.")]
        existing = await self._existing(referenced_collections(process, limits=self.limits))
        return validate_process(
            process, collection_exists=existing.__contains__, limits=self.limits
        )

    async def _existing(self, collection_ids: Iterable[str]) -> set[str]:
        ids = sorted(collection_ids)
        found = await asyncio.gather(*(self.collections.exists(i) for i in ids))
        return {collection_id for collection_id, exists in zip(ids, found, strict=True) if exists}
