"""What the executor can do, read from `executor.json` next to this module.

`make manifest` (`tools/generate_manifest.py`) writes that file from the executor itself:
the processes its registry holds, the file formats its readers and writers take with
their options, and its UDF runtime with the library versions installed. Services never
import the executor, so the processes service (`GET /processes`, validation) and the
capabilities service (`GET /file_formats`, `GET /udf_runtimes`) read this instead;
`make manifest-check` in CI fails when the file and the executor disagree.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

MANIFEST = files("eoplex_common") / "manifest" / "executor.json"


@dataclass(frozen=True)
class FileFormat:
    """A file format the executor reads or writes, named as clients spell it (`GTiff`), and
    the options it accepts with their defaults."""

    name: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class UdfRuntime:
    """A UDF runtime of `run_udf`: its one version and the libraries UDFs may import, with
    their installed versions."""

    name: str
    version: str
    libraries: Mapping[str, str]


@dataclass(frozen=True)
class ExecutorManifest:
    """Everything the executor implements: process ids, file formats, UDF runtimes."""

    processes: frozenset[str]
    input_formats: Mapping[str, FileFormat]
    output_formats: Mapping[str, FileFormat]
    udf_runtimes: Mapping[str, UdfRuntime]


def _formats(listed: Mapping[str, Any]) -> dict[str, FileFormat]:
    return {name: FileFormat(name, dict(entry["options"])) for name, entry in listed.items()}


def parse_manifest(document: Mapping[str, Any]) -> ExecutorManifest:
    """The manifest of a document as `make manifest` writes it."""
    return ExecutorManifest(
        processes=frozenset(document["processes"]),
        input_formats=_formats(document["file_formats"]["input"]),
        output_formats=_formats(document["file_formats"]["output"]),
        udf_runtimes={
            name: UdfRuntime(name, entry["version"], dict(entry["libraries"]))
            for name, entry in document["udf_runtimes"].items()
        },
    )


@cache
def executor_manifest() -> ExecutorManifest:
    """The manifest shipped with this library (read once)."""
    return parse_manifest(json.loads(MANIFEST.read_text(encoding="utf-8")))
