"""What a user-defined process (`PUT /process_graphs/{process_graph_id}`) must be, and
how `GET /process_graphs` lists it.

Pure functions over openEO documents; which other user-defined processes a process
calls, how deeply they nest and whether they loop is validation's
(`eoplex_common.process_graph`).
"""

import re
from collections.abc import Mapping
from typing import Any

from eoplex_common.errors import OpenEOError, PredefinedProcessExists, ProcessInvalid
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
