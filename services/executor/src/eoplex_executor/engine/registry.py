"""The registry of implemented processes: process id -> Python function.

A process is a function whose keyword arguments are named as the parameters of its
openEO specification; the evaluator fills in the spec's defaults. A function that
needs the execution environment (catalog, outputs, limits) is registered with
`environment=True` and receives it as the keyword argument `env`. Child processes
arrive as `Callback`s (see `eoplex_executor.engine.graph`).

Every process is registered metered (`eoplex_executor.engine.pixel_meter.metered`): what it
produces counts against the execution's pixel limits. The registered function therefore
always takes `env` (`Implementation.environment`), and passes it on only to a process
registered with `environment=True`; the decorated function itself stays as it was.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eoplex_executor.engine.pixel_meter import metered

ProcessFunction = Callable[..., Any]


@dataclass(frozen=True)
class Implementation:
    """One registered process."""

    process_id: str
    function: ProcessFunction
    # Whether `function` takes the environment as `env` (every metered one does).
    environment: bool


REGISTRY: dict[str, Implementation] = {}


def process(
    process_id: str | None = None, *, environment: bool = False
) -> Callable[[ProcessFunction], ProcessFunction]:
    """Register the decorated function as the openEO process `process_id` (default: its name,
    without a trailing underscore, so `and_` is `and`)."""

    def register(function: ProcessFunction) -> ProcessFunction:
        name = process_id or function.__name__.rstrip("_")
        if name in REGISTRY:
            raise ValueError(f"process {name!r} is registered twice")
        REGISTRY[name] = Implementation(name, metered(function, takes_env=environment), True)
        return function

    return register


def implementations() -> dict[str, Implementation]:
    """Every registered process. The process modules register themselves when
    `eoplex_executor.processes` is imported, which the entry points (`serve`, `batch`) do:
    the engine never imports the rooms above it."""
    if not REGISTRY:
        raise RuntimeError("no process is registered: import eoplex_executor.processes first")
    return REGISTRY
