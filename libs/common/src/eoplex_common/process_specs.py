"""The openEO process specifications (openEO processes 2.0.0-rc.2) the project ships.

`specs/openeo-processes/` is a copy of the official process JSON files: core
processes at its top, proposals in `proposals/`. `IMPLEMENTED_PROCESSES` names
exactly what the executor's registry implements (read from the executor manifest,
`eoplex_common.manifest`), so the processes service lists, and validation accepts, only
what really runs.
"""

import json
from functools import cache
from importlib.resources import files
from typing import Any

from eoplex_common.manifest import executor_manifest

ProcessSpec = dict[str, Any]

SPECS = files("eoplex_common") / "specs" / "openeo-processes"

# Every process the executor implements; `GET /processes` lists exactly these.
IMPLEMENTED_PROCESSES: frozenset[str] = executor_manifest().processes


@cache
def core_process_specs() -> dict[str, ProcessSpec]:
    """Every core process of the shipped specification, by id."""
    specs: dict[str, ProcessSpec] = {}
    for entry in SPECS.iterdir():
        if entry.name.endswith(".json"):
            spec = json.loads(entry.read_text(encoding="utf-8"))
            specs[spec["id"]] = spec
    return specs


@cache
def proposal_process_specs() -> dict[str, ProcessSpec]:
    """Every proposed (experimental) process of the shipped specification, by id."""
    specs: dict[str, ProcessSpec] = {}
    for entry in (SPECS / "proposals").iterdir():
        if entry.name.endswith(".json"):
            spec = json.loads(entry.read_text(encoding="utf-8"))
            specs[spec["id"]] = spec
    return specs


def process_spec(process_id: str) -> ProcessSpec | None:
    """The specification of a core or proposed process, or None."""
    return core_process_specs().get(process_id) or proposal_process_specs().get(process_id)


def implemented_process_specs() -> list[ProcessSpec]:
    """The specifications of the implemented processes, sorted by id."""
    specs = [process_spec(process_id) for process_id in sorted(IMPLEMENTED_PROCESSES)]
    return [spec for spec in specs if spec is not None]


def parameter_defaults(spec: ProcessSpec) -> dict[str, Any]:
    """The defaults of a process's optional parameters, by name."""
    return {
        parameter["name"]: parameter.get("default")
        for parameter in spec.get("parameters", [])
        if parameter.get("optional")
    }
