"""What a user-defined process (`PUT /process_graphs/{process_graph_id}`) must be, and
which other user-defined processes a process calls.

Pure functions over openEO documents: the service fetches the processes these name
from its store and raises the errors they return.
"""

import re
from collections.abc import Iterator, Mapping
from typing import Any

from eoplex_common.errors import (
    OpenEOError,
    PredefinedProcessExists,
    ProcessGraphComplexity,
    ProcessGraphInvalid,
    ProcessInvalid,
)
from eoplex_common.process_specs import IMPLEMENTED_PROCESSES

# openapi.yaml `process_id` and parameter `name`: an ECMAScript `\w`, i.e. ASCII only.
ID_PATTERN = re.compile(r"^\w+$", re.ASCII)

# What `GET /process_graphs` leaves out of each process: the graph, and the larger
# optional members the spec strongly recommends omitting from the listing.
LISTING_OMITS = ("process_graph", "exceptions", "examples", "links")

# The metadata members of the spec's `process` schema, with the JSON types they may
# have (null always allowed: `user_defined_process_meta` makes them nullable).
METADATA_TYPES: dict[str, tuple[type, ...]] = {
    "summary": (str,),
    "description": (str,),
    "categories": (list,),
    "parameters": (list,),
    "returns": (dict,),
    "deprecated": (bool,),
    "experimental": (bool,),
    "exceptions": (dict,),
    "examples": (list,),
    "links": (list,),
}


def check_process_id(process_id: str) -> None:
    """The id a user-defined process may be stored under.

    Raises ProcessInvalid for an id not matching `^\\w+$` (openEO API 1.2 has no code of
    its own for it; the id is part of the process's metadata), PredefinedProcessExists
    for the id of a process `GET /processes` lists.
    """
    if not ID_PATTERN.match(process_id):
        raise ProcessInvalid(
            f"Invalid process specified: the id '{process_id}' must consist of letters, "
            "digits and underscores only (pattern ^\\w+$)."
        )
    if process_id in IMPLEMENTED_PROCESSES:
        raise PredefinedProcessExists(
            f"A predefined process with the identifier '{process_id}' exists; "
            "choose another id for the user-defined process."
        )


def metadata_problem(process: Mapping[str, Any]) -> OpenEOError | None:
    """ProcessInvalid naming the first member of the process's metadata that does not
    follow the spec's `process` schema (types, parameter names), or None."""
    for name, types in METADATA_TYPES.items():
        value = process.get(name)
        if value is not None and not isinstance(value, types):
            kind = {str: "a string", list: "an array", dict: "an object", bool: "a boolean"}
            return _invalid(f"'{name}' must be {kind[types[0]]} or null")
    if any(not isinstance(category, str) for category in process.get("categories") or []):
        return _invalid("'categories' must be an array of strings")
    return _parameters_problem(process.get("parameters") or [])


def _parameters_problem(parameters: list[Any]) -> OpenEOError | None:
    seen: set[str] = set()
    for index, parameter in enumerate(parameters):
        name = parameter.get("name") if isinstance(parameter, Mapping) else None
        if not isinstance(name, str) or not ID_PATTERN.match(name):
            return _invalid(f"parameter {index} needs a 'name' of letters, digits and underscores")
        if name in seen:
            return _invalid(f"parameter '{name}' is declared twice")
        seen.add(name)
        schema = parameter.get("schema")
        if schema is not None and not isinstance(schema, dict | list):
            return _invalid(f"the 'schema' of parameter '{name}' must be an object or an array")
        if not isinstance(parameter.get("optional", False), bool):
            return _invalid(f"'optional' of parameter '{name}' must be a boolean")
    return None


def _invalid(reason: str) -> ProcessInvalid:
    return ProcessInvalid(f"Invalid process specified: {reason}.")


def listed(process: Mapping[str, Any]) -> dict[str, Any]:
    """A stored process as `GET /process_graphs` lists it."""
    return {name: value for name, value in process.items() if name not in LISTING_OMITS}


def _graphs(process: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The process graph and every child process graph in its arguments (iteratively, so
    deep nesting cannot exhaust the stack)."""
    graph = process.get("process_graph")
    pending = [graph] if isinstance(graph, Mapping) else []
    while pending:
        current = pending.pop()
        yield current
        values: list[Any] = [
            node.get("arguments") for node in current.values() if isinstance(node, Mapping)
        ]
        while values:
            value = values.pop()
            if isinstance(value, Mapping):
                child = value.get("process_graph")
                if isinstance(child, Mapping):
                    pending.append(child)
                else:
                    values.extend(value.values())
            elif isinstance(value, list):
                values.extend(value)


def called_user_processes(process: Mapping[str, Any]) -> set[str]:
    """The ids of the user-defined processes `process` calls, child graphs included: a
    call in namespace `user`, or in namespace null of a process that is not predefined
    (the evaluator prefers the predefined one)."""
    called: set[str] = set()
    for graph in _graphs(process):
        for node in graph.values():
            if not isinstance(node, Mapping) or not isinstance(node.get("process_id"), str):
                continue
            namespace, process_id = node.get("namespace"), node["process_id"]
            predefined = process_id in IMPLEMENTED_PROCESSES
            if namespace == "user" or (namespace is None and not predefined):
                called.add(process_id)
    return called


def call_chain_problem(
    process_id: str, processes: Mapping[str, Mapping[str, Any]], *, max_depth: int
) -> OpenEOError | None:
    """Whether storing `processes[process_id]` makes a user-defined process call itself
    (directly or through others), or makes a chain of calls of user-defined processes
    longer than `max_depth` (the process itself counted, as the evaluator counts them).

    `processes` holds the process being stored and every user-defined process it reaches.
    Returns ProcessGraphInvalid naming the loop, or ProcessGraphComplexity.
    """
    calls = {name: sorted(called_user_processes(process)) for name, process in processes.items()}
    # The longest chain of calls below each process whose calls were all followed.
    height: dict[str, int] = {}
    # Depth-first, the chain from `process_id` on an explicit stack.
    walk: list[tuple[str, Iterator[str]]] = [(process_id, iter(calls[process_id]))]
    while walk:
        name, callees = walk[-1]
        callee = next(callees, None)
        if callee is None:
            walk.pop()
            height[name] = max((height[c] + 1 for c in calls[name] if c in height), default=0)
            continue
        chain = [entry for entry, _ in walk]
        if callee in chain:
            loop = " -> ".join([*chain[chain.index(callee) :], callee])
            return ProcessGraphInvalid(
                f"Invalid process graph: the user-defined process '{callee}' calls itself "
                f"({loop}); recursion is not supported."
            )
        if callee not in calls:
            continue  # missing: validation reports it (ProcessUnsupported)
        if 1 + len(walk) + height.get(callee, 0) > max_depth:
            return ProcessGraphComplexity(
                "The process is too complex: calls of user-defined processes nest deeper "
                f"than {max_depth} levels ({' -> '.join([*chain, callee])} ...)."
            )
        if callee not in height:
            walk.append((callee, iter(calls[callee])))
    return None
