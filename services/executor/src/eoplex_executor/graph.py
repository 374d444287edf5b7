"""The process-graph evaluator: `from_node`, `from_parameter`, child processes, user processes.

`execute` runs a whole process (`{"process_graph": ..., "parameters": ...}`);
nodes are evaluated once each, depth-first from the result node and every other
sink node (a node no other node reads, e.g. a second `save_result`). A child process
graph becomes a `Callback` that a process calls with its parameters (`x`, `data`,
`context`, ...); inside it `from_parameter` resolves the callback's own parameters
first, then those of the enclosing graphs. A user-defined process runs in a scope of its
own parameters (its defaults filled in), which knows the chain of user-defined processes
it was called through, so a process calling itself is refused instead of recursing.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eoplex_common.errors import (
    ProcessGraphComplexity,
    ProcessGraphInvalid,
    ProcessParameterInvalid,
    ProcessParameterRequired,
    ProcessParameterUnsupported,
    ProcessUnsupported,
)
from eoplex_common.process_specs import parameter_defaults, process_spec
from eoplex_executor.environment import Environment
from eoplex_executor.registry import Implementation, implementations

Graph = Mapping[str, Any]


@dataclass(frozen=True)
class Scope:
    """The parameters visible to a (child) process graph."""

    parameters: Mapping[str, Any]
    parent: "Scope | None" = None
    # The user-defined processes being evaluated, outermost first, this graph's included.
    calls: tuple[str, ...] = ()

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.parameters:
                return scope.parameters[name]
            scope = scope.parent
        raise ProcessParameterRequired(process="(process graph)", parameter=name)


class Callback:
    """A child process graph, callable with its parameters by the process that owns it."""

    def __init__(self, graph: Graph, scope: Scope, env: Environment) -> None:
        self.graph = graph
        self.scope = scope
        self.env = env

    def __call__(self, **parameters: Any) -> Any:
        scope = Scope(parameters, parent=self.scope, calls=self.scope.calls)
        return evaluate_graph(self.graph, scope, self.env)

    def single_process(self) -> str | None:
        """The process id when the graph is one node reading only its parameters, e.g. a plain
        `max` reducer, so processes can take a vectorised fast path."""
        if len(self.graph) != 1:
            return None
        node = next(iter(self.graph.values()))
        return str(node.get("process_id"))


def execute(process: Mapping[str, Any], env: Environment, **parameters: Any) -> Any:
    """Run a process (`{"process_graph": {...}}`) and return its result node's value."""
    graph = process.get("process_graph")
    if not isinstance(graph, Mapping) or not graph:
        raise ProcessGraphInvalid("The process has no process graph.")
    return evaluate_graph(graph, Scope(parameters), env)


def evaluate_graph(graph: Graph, scope: Scope, env: Environment) -> Any:
    """Evaluate every sink node of `graph`; the value of its result node."""
    results: dict[str, Any] = {}
    read = {ref for node in graph.values() for ref in _node_references(node.get("arguments", {}))}
    result_ids = [node_id for node_id, node in graph.items() if node.get("result")]
    if len(result_ids) != 1:
        raise ProcessGraphInvalid("A process graph needs exactly one result node.")
    for node_id in graph:
        if node_id not in read and node_id != result_ids[0]:
            _evaluate_node(node_id, graph, scope, env, results, ())
    return _evaluate_node(result_ids[0], graph, scope, env, results, ())


def _node_references(value: Any) -> set[str]:
    if isinstance(value, Mapping):
        if "from_node" in value and len(value) == 1:
            return {str(value["from_node"])}
        if "process_graph" in value:
            return set()
        return {ref for item in value.values() for ref in _node_references(item)}
    if isinstance(value, list):
        return {ref for item in value for ref in _node_references(item)}
    return set()


def _evaluate_node(
    node_id: str,
    graph: Graph,
    scope: Scope,
    env: Environment,
    results: dict[str, Any],
    path: tuple[str, ...],
) -> Any:
    if node_id in results:
        return results[node_id]
    if node_id in path:
        raise ProcessGraphInvalid(f"The process graph has a cycle through node '{node_id}'.")
    node = graph.get(node_id)
    if not isinstance(node, Mapping):
        raise ProcessGraphInvalid(f"Node '{node_id}' is referenced but does not exist.")

    def resolve(value: Any) -> Any:
        if isinstance(value, Mapping):
            if "from_node" in value and len(value) == 1:
                return _evaluate_node(
                    str(value["from_node"]), graph, scope, env, results, (*path, node_id)
                )
            if "from_parameter" in value and len(value) == 1:
                return scope.lookup(str(value["from_parameter"]))
            if "process_graph" in value:
                return Callback(value["process_graph"], scope, env)
            return {key: resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [resolve(item) for item in value]
        return value

    arguments = {name: resolve(value) for name, value in node.get("arguments", {}).items()}
    value = call_process(
        str(node.get("process_id")), node.get("namespace"), arguments, env, scope=scope
    )
    results[node_id] = value
    return value


def call_process(
    process_id: str,
    namespace: str | None,
    arguments: dict[str, Any],
    env: Environment,
    *,
    scope: Scope | None = None,
) -> Any:
    """Call a predefined or user-defined process with evaluated arguments."""
    if namespace in (None, "backend"):
        implementation = implementations().get(process_id)
        if implementation is not None:
            return _call_predefined(implementation, arguments, env)
    if namespace in (None, "user"):
        user_process = env.user_processes(process_id)
        if user_process is not None:
            return _call_user_process(process_id, user_process, arguments, env, scope)
    raise ProcessUnsupported(process=process_id, namespace=namespace or "backend")


def _call_predefined(
    implementation: Implementation, arguments: dict[str, Any], env: Environment
) -> Any:
    spec = process_spec(implementation.process_id) or {"parameters": []}
    names = {parameter["name"] for parameter in spec.get("parameters", [])}
    for name in arguments:
        if name not in names:
            raise ProcessParameterUnsupported(process=implementation.process_id, parameter=name)
    bound = {**parameter_defaults(spec), **arguments}
    for parameter in spec.get("parameters", []):
        if parameter["name"] not in bound:
            raise ProcessParameterRequired(
                process=implementation.process_id, parameter=parameter["name"]
            )
        _check_child_process(implementation.process_id, parameter, bound[parameter["name"]])
    if implementation.environment:
        bound["env"] = env
    return implementation.function(**bound)


def _check_child_process(process_id: str, parameter: Mapping[str, Any], value: Any) -> None:
    """A parameter that only takes a child process gets one (a `Callback`) or its default
    null: any other JSON value would reach the process as if it were callable.

    Raises ProcessParameterInvalid."""
    schema = parameter["schema"]
    alternatives = schema if isinstance(schema, list) else [schema]
    if not all(alternative.get("subtype") == "process-graph" for alternative in alternatives):
        return
    if callable(value) or (
        value is None and "default" in parameter and parameter["default"] is None
    ):
        return
    raise ProcessParameterInvalid(
        process=process_id,
        parameter=parameter["name"],
        reason='expected a child process ({"process_graph": {...}}).',
    )


def _call_user_process(
    process_id: str,
    process: Mapping[str, Any],
    arguments: dict[str, Any],
    env: Environment,
    scope: Scope | None,
) -> Any:
    """Evaluate a user-defined process in a scope of its own parameters: the arguments, the
    defaults of the parameters left out.

    Raises ProcessGraphInvalid when it calls itself (directly or through others: it may
    have changed since validation), ProcessGraphComplexity beyond the depth limit,
    ProcessParameterRequired and ProcessParameterUnsupported (against its declared
    parameters; a process declaring none takes the arguments as they are).
    """
    calls = scope.calls if scope is not None else ()
    if process_id in calls:
        loop = " -> ".join([*calls[calls.index(process_id) :], process_id])
        raise ProcessGraphInvalid(
            f"Invalid process graph: the user-defined process '{process_id}' calls itself "
            f"({loop}); recursion is not supported."
        )
    if len(calls) >= env.limits.graph.max_depth:
        raise ProcessGraphComplexity(
            "The process is too complex: calls of user-defined processes nest deeper than "
            f"{env.limits.graph.max_depth} levels ({' -> '.join([*calls, process_id])})."
        )
    graph = process.get("process_graph")
    if not isinstance(graph, Mapping) or not graph:
        raise ProcessGraphInvalid(f"The user-defined process '{process_id}' has no process graph.")
    declared = process.get("parameters")
    parameters = (
        dict(arguments) if declared is None else _bind_parameters(process_id, declared, arguments)
    )
    return evaluate_graph(graph, Scope(parameters, calls=(*calls, process_id)), env)


def _bind_parameters(
    process_id: str, declared: list[Mapping[str, Any]], arguments: dict[str, Any]
) -> dict[str, Any]:
    names = {parameter["name"] for parameter in declared}
    for name in arguments:
        if name not in names:
            raise ProcessParameterUnsupported(process=process_id, parameter=name)
    parameters: dict[str, Any] = {}
    for parameter in declared:
        name = parameter["name"]
        if name in arguments:
            parameters[name] = arguments[name]
        elif "default" in parameter or parameter.get("optional"):
            parameters[name] = parameter.get("default")
        else:
            raise ProcessParameterRequired(process=process_id, parameter=name)
    return parameters
