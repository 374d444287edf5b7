"""What `GET /processes` lists and validation accepts is exactly what the executor runs.

`IMPLEMENTED_PROCESSES` (the shared library, read from the executor manifest that
`make manifest` generates) and the executor's registry must name the same processes, both
ways, and every one of them needs a shipped specification, since its parameters are what
validation and the evaluator read.
"""

import ast
import inspect
from pathlib import Path

import eoplex_executor.processes  # noqa: F401  (registers the processes, as the entry points do)
from eoplex_common.process_specs import IMPLEMENTED_PROCESSES, core_process_specs, process_spec
from eoplex_executor.engine.registry import implementations
from services.executor.tests.test_spec_examples import _examples

ROOT = Path(__file__).resolve().parent.parent
# Where tests of processes live, and the test modules that only check other tests' coverage
# (they name process ids without running them).
PROCESS_TEST_DIRECTORIES = (ROOT / "services" / "executor" / "tests", ROOT / "tests")
COVERAGE_ONLY_MODULES = {"test_process_registry.py", "test_spec_examples.py"}


def test_every_listed_process_is_implemented_by_the_executor() -> None:
    missing = IMPLEMENTED_PROCESSES - set(implementations())
    assert not missing, (
        f"listed in IMPLEMENTED_PROCESSES, not registered (run make manifest): {sorted(missing)}"
    )


def test_every_registered_process_is_listed() -> None:
    unlisted = set(implementations()) - IMPLEMENTED_PROCESSES
    assert not unlisted, (
        f"registered, not listed in IMPLEMENTED_PROCESSES (run make manifest): {sorted(unlisted)}"
    )


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


def test_every_core_process_is_implemented() -> None:
    """The issue's goal: every core process of the shipped openEO processes specification
    runs (proposals are optional). This fails, naming what is missing, until all are done."""
    missing = sorted(set(core_process_specs()) - IMPLEMENTED_PROCESSES)
    assert not missing, f"{len(missing)} core processes are not implemented: {missing}"


def _processes_with_runnable_spec_examples() -> set[str]:
    """Processes with a spec example that `test_spec_examples` runs (is not skipped)."""
    return {
        case.values[0]
        for case in _examples()
        if not any(mark.name in ("skip", "skipif", "xfail") for mark in case.marks)
    }


def _names_in_process_tests() -> set[str]:
    """Every whole string literal, and the name of every called function (`f(...)`,
    `module.f(...)`), in the test modules of processes."""
    names: set[str] = set()
    for directory in PROCESS_TEST_DIRECTORIES:
        for path in directory.glob("test_*.py"):
            if path.name in COVERAGE_ONLY_MODULES:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    names.add(node.value)
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    names.add(node.func.id)
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    names.add(node.func.attr)
    return names


def test_every_implemented_process_is_tested() -> None:
    """Every implemented process is exercised by a test, in one of three ways:

    - the spec-example harness (`services/executor/tests/test_spec_examples.py`) runs at
      least one of its examples without skipping it; or
    - its id is a whole string literal in a test module (`test_*.py`) under
      `services/executor/tests/` or `tests/`: `"process_id": "sin"`, `run_process("sin", ...)`,
      `_node("sin", ...)` and `pytest.mark.parametrize("process_id", ["sin"])` all count; or
    - such a module calls its Python function by name (`cubes.reduce_dimension(...)`,
      `int_(...)`), as the executor's registry names it.

    Modules are read with `ast`, so comments and ids inside longer strings ("sine",
    "is sin") do not count; the coverage-only modules (this one and the harness) are not
    read, so listing an id here cannot satisfy the test. An id that is also a common word
    ("e", "max") could match an unrelated literal: the rule trades that rare false pass for
    needing no convention in how tests are written."""
    names = _names_in_process_tests()
    tested = _processes_with_runnable_spec_examples() | {
        process_id
        for process_id, implementation in implementations().items()
        if process_id in names or implementation.function.__name__ in names
    }
    untested = sorted(IMPLEMENTED_PROCESSES - tested)
    assert not untested, f"implemented without any test: {untested}"
