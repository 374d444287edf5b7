"""The process-graph evaluator: `from_node`, `from_parameter`, child processes, user processes.

`execute` runs a whole process (`{"process_graph": ..., "parameters": ...}`);
nodes are evaluated once each, every node after the nodes it reads, for the result node
and every other sink node (a node no other node reads, e.g. a second `save_result`). A
child process graph becomes a `Callback` that a process calls with its parameters (`x`,
`data`, `context`, ...); inside it `from_parameter` resolves the callback's own parameters
first, then those of the enclosing graphs. A user-defined process runs in a scope of its
own parameters (its defaults filled in), which knows the chain of user-defined processes
it was called through, so a process calling itself is refused instead of recursing.

The nodes of a graph and the JSON of their arguments are walked iteratively, so a graph
of any length costs no stack; only nesting does (a child process graph or a user-defined
process's graph is one Python call deeper), and it is bounded by the depth limit, which
validation checks the same way (`eoplex_common.process_graph.GraphLimits`).
"""

from collections.abc import Callable, Mapping
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
from eoplex_common.process_graph import (
    calls_itself,
    is_child_process,
    is_reference,
    references,
    walk_depth_first,
)
from eoplex_common.process_specs import parameter_defaults, process_spec
from eoplex_executor.engine.environment import Environment
from eoplex_executor.engine.registry import Implementation, implementations

Graph = Mapping[str, Any]


@dataclass(frozen=True)
class Scope:
    """The parameters visible to a (child) process graph."""

    parameters: Mapping[str, Any]
    parent: "Scope | None" = None
    # The user-defined processes being evaluated, outermost first, this graph's included.
    calls: tuple[str, ...] = ()
    # How deeply the graph is nested: 0 for the top-level graph, one more for a child
    # process graph or a user-defined process's graph than for the graph using it.
    depth: int = 0

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
        scope = Scope(
            parameters, parent=self.scope, calls=self.scope.calls, depth=self.scope.depth + 1
        )
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
    """Evaluate every sink node of `graph`; the value of its result node.

    Raises ProcessGraphComplexity when the graph lies deeper than the depth limit, and
    ProcessGraphInvalid for a graph without exactly one result node, with a cycle, or
    reading a node it lacks (a user-defined process may have changed since validation).
    """
    if scope.depth > env.limits.graph.max_depth:
        raise ProcessGraphComplexity(
            "The process is too complex: its process graphs nest deeper than "
            f"{env.limits.graph.max_depth} levels."
        )
    reads = {node_id: _reads(node) for node_id, node in graph.items()}
    result_ids = [node_id for node_id, node in graph.items() if _node(node).get("result")]
    if len(result_ids) != 1:
        raise ProcessGraphInvalid("A process graph needs exactly one result node.")
    read = {target for targets in reads.values() for target in targets}
    sinks = [node_id for node_id in graph if node_id not in read and node_id != result_ids[0]]
    results: dict[str, Any] = {}
    for node_id in _evaluation_order([*sinks, result_ids[0]], reads):
        results[node_id] = _evaluate_node(_node(graph[node_id]), scope, env, results)
    return results[result_ids[0]]


def _node(node: Any) -> Mapping[str, Any]:
    if not isinstance(node, Mapping):
        raise ProcessGraphInvalid("Every node of a process graph must be an object.")
    return node


def _reads(node: Any) -> list[str]:
    """The ids of the nodes `node` reads (`from_node`), child process graphs left out."""
    arguments = _node(node).get("arguments", {})
    return [str(target) for target in references(arguments).nodes]


def _evaluation_order(starts: list[str], reads: Mapping[str, list[str]]) -> list[str]:
    """The nodes reachable from `starts`, each after every node it reads: a depth-first
    walk on an explicit stack, so a chain of any length costs no Python stack.

    Raises ProcessGraphInvalid for a cycle or a read of a node the graph lacks.
    """

    def cycle(target: str) -> None:
        raise ProcessGraphInvalid(f"The process graph has a cycle through node '{target}'.")

    return walk_depth_first(starts, lambda node_id: _targets(node_id, reads), on_cycle=cycle)


def _targets(node_id: str, reads: Mapping[str, list[str]]) -> list[str]:
    if node_id not in reads:
        raise ProcessGraphInvalid(f"Node '{node_id}' is referenced but does not exist.")
    return reads[node_id]


def _evaluate_node(
    node: Mapping[str, Any], scope: Scope, env: Environment, results: Mapping[str, Any]
) -> Any:
    """Call the node's process; the nodes it reads are in `results` already."""

    def resolve(value: Any) -> Any:
        if is_reference(value, "from_node"):
            return results[str(value["from_node"])]
        if is_reference(value, "from_parameter"):
            return scope.lookup(str(value["from_parameter"]))
        return Callback(value["process_graph"], scope, env)

    arguments = _resolved(node.get("arguments", {}), resolve)
    return call_process(
        str(node.get("process_id")), node.get("namespace"), arguments, env, scope=scope
    )


def _is_reference_or_child(value: Any) -> bool:
    return (
        is_reference(value, "from_node")
        or is_reference(value, "from_parameter")
        or is_child_process(value)
    )


def _resolved(arguments: Any, resolve: Callable[[Any], Any]) -> Any:
    """A copy of `arguments` with every reference and child process replaced by `resolve`'s
    value for it; walked iteratively, so arrays nested as deep as JSON allows cost no stack."""
    root = [arguments]
    pending: list[tuple[Any, Any]] = [(root, 0)]
    while pending:
        container, key = pending.pop()
        value = container[key]
        if _is_reference_or_child(value):
            container[key] = resolve(value)
        elif isinstance(value, Mapping):
            copy = dict(value)
            container[key] = copy
            pending.extend((copy, name) for name in copy)
        elif isinstance(value, list):
            items = list(value)
            container[key] = items
            pending.extend((items, index) for index in range(len(items)))
    return root[0]


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
        raise calls_itself(process_id, calls)
    graph = process.get("process_graph")
    if not isinstance(graph, Mapping) or not graph:
        raise ProcessGraphInvalid(f"The user-defined process '{process_id}' has no process graph.")
    declared = process.get("parameters")
    parameters = (
        dict(arguments) if declared is None else _bind_parameters(process_id, declared, arguments)
    )
    depth = scope.depth + 1 if scope is not None else 1
    return evaluate_graph(graph, Scope(parameters, calls=(*calls, process_id), depth=depth), env)


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
