"""What `GET /processes` lists and validation accepts is exactly what the executor runs.

`IMPLEMENTED_PROCESSES` (the shared library) and the executor's registry must name the
same processes, both ways, and every one of them needs a shipped specification, since
its parameters are what validation and the evaluator read.
"""

import inspect

from eoplex_common.process_specs import IMPLEMENTED, IMPLEMENTED_PROCESSES, process_spec
from eoplex_executor.registry import implementations


def test_every_listed_process_is_implemented_by_the_executor() -> None:
    missing = IMPLEMENTED_PROCESSES - set(implementations())
    assert not missing, f"listed in IMPLEMENTED_PROCESSES, not registered: {sorted(missing)}"


def test_every_registered_process_is_listed() -> None:
    unlisted = set(implementations()) - IMPLEMENTED_PROCESSES
    assert not unlisted, f"registered, not listed in IMPLEMENTED_PROCESSES: {sorted(unlisted)}"


def test_every_implemented_process_has_a_specification() -> None:
    without_spec = sorted(p for p in IMPLEMENTED_PROCESSES if process_spec(p) is None)
    assert not without_spec, f"no specification shipped for {without_spec}"


def test_registered_functions_take_the_parameters_of_their_specification() -> None:
    """The evaluator calls a process with keywords named as the spec's parameters."""
    mismatched = {}
    for process_id, implementation in implementations().items():
        spec = process_spec(process_id)
        if spec is None:
            continue
        expected = {parameter["name"] for parameter in spec["parameters"]}
        signature = inspect.signature(implementation.function).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.values()):
            continue
        taken = set(signature) - ({"env"} if implementation.environment else set())
        if taken != expected:
            mismatched[process_id] = (sorted(taken), sorted(expected))
    assert not mismatched, mismatched


def test_each_implemented_list_names_the_processes_of_its_module() -> None:
    """`implemented/<module>.txt` lists exactly what `eoplex_executor.processes.<module>`
    registers, so the list stays next to the code it describes."""
    by_module: dict[str, set[str]] = {}
    for process_id, implementation in implementations().items():
        module = implementation.function.__module__.rsplit(".", 1)[-1]
        by_module.setdefault(module, set()).add(process_id)
    listed = {
        entry.name.removesuffix(".txt"): {
            line.split("#", 1)[0].strip()
            for line in entry.read_text(encoding="utf-8").splitlines()
            if line.split("#", 1)[0].strip()
        }
        for entry in IMPLEMENTED.iterdir()
        if entry.name.endswith(".txt")
    }
    assert listed == by_module
