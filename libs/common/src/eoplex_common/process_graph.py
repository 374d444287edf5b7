"""Validation of openEO processes: `POST /validation`, and the check before a graph runs.

`validate_process` is pure and total: it never raises for bad input, and it returns
every problem it finds as an openEO error, so the processes service can report them
all at once and the executor can refuse a graph before it reads any data. It checks
the structure of the process graph and of every child process graph, that each
process exists (the executor's `IMPLEMENTED_PROCESSES` or a user-defined process),
the argument names and, where the process's JSON Schema makes it cheap and
unambiguous, the JSON types of literal argument values; given the metadata of the
collections, the bands, properties and extents the graph asks of them
(`eoplex_common.collection_checks`).

A process beyond the `GraphLimits` is reported with `ProcessGraphComplexity` alone:
the limits exist to bound the work spent on a process, validation included. Depth counts
the graphs of the user-defined processes a process calls as well as its child process
graphs, as the executor nests them when it evaluates; a user-defined process that calls
itself is reported alone too (ProcessGraphInvalid).
"""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eoplex_common.collection_checks import CollectionLookup, collection_problems
from eoplex_common.errors import (
    CollectionNotFound,
    OpenEOError,
    ProcessGraphComplexity,
    ProcessGraphInvalid,
    ProcessGraphMissing,
    ProcessParameterInvalid,
    ProcessParameterRequired,
    ProcessParameterUnsupported,
    ProcessUnsupported,
)
from eoplex_common.process_specs import IMPLEMENTED_PROCESSES, process_spec

Graph = Mapping[str, Any]
# How deep `_schema_problem` follows a schema into a literal value.
MAX_SCHEMA_DEPTH = 16
GEOJSON_TYPES = frozenset(
    {
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
        "Feature",
        "FeatureCollection",
    }
)
UserProcess = Callable[[str], Mapping[str, Any] | None]


# The deepest nesting a deployment may allow. Evaluation makes a bounded number of Python
# calls per level (the nodes of one graph are evaluated iteratively, in any number): about
# 22 for the costliest, an `apply_neighborhood` computing its windows inside the one around
# it. This many levels run within 500 frames (the executor's tests prove it), half the
# interpreter's default recursion limit, which nothing raises: a deeper limit could overflow
# the C stack of a thread (a crash, not an exception).
MAX_GRAPH_DEPTH = 16


@dataclass(frozen=True, kw_only=True)
class GraphLimits:
    """How large a process may be: nodes of all its (child) process graphs together, and
    how deeply process graphs nest: the top-level graph is depth 0; a child process graph,
    and the graph of a user-defined process a node calls, are one level deeper than the
    graph of that node.

    Raises ValueError for limits below 1 or a depth beyond MAX_GRAPH_DEPTH (a setting that
    the evaluator could not honour).
    """

    max_nodes: int = 1000
    max_depth: int = 10

    def __post_init__(self) -> None:
        if self.max_nodes < 1 or not 1 <= self.max_depth <= MAX_GRAPH_DEPTH:
            raise ValueError(
                f"graph limits need at least 1 node and a depth of 1 to {MAX_GRAPH_DEPTH}, "
                f"got {self.max_nodes} nodes and depth {self.max_depth}"
            )


@dataclass
class References:
    """What an argument value refers to; child process graphs are not entered."""

    nodes: list[Any] = field(default_factory=list)
    parameters: list[Any] = field(default_factory=list)
    graphs: list[Any] = field(default_factory=list)


def is_reference(value: Any, key: str) -> bool:
    """Whether `value` is a `{"from_node": ...}` (key "from_node") or `{"from_parameter":
    ...}` reference: the key with nothing else, as the evaluator reads them."""
    return isinstance(value, Mapping) and key in value and len(value) == 1


def is_child_process(value: Any) -> bool:
    """Whether `value` is a child process (`{"process_graph": ...}`)."""
    return isinstance(value, Mapping) and "process_graph" in value


def references(value: Any) -> References:
    """The `from_node`, `from_parameter` and child process graphs inside an argument value.

    Iterative, so that deeply nested arrays cannot exhaust the interpreter's stack.
    """
    found = References()
    pending = [value]
    while pending:
        item = pending.pop()
        if is_reference(item, "from_node"):
            found.nodes.append(item["from_node"])
        elif is_reference(item, "from_parameter"):
            found.parameters.append(item["from_parameter"])
        elif is_child_process(item):
            found.graphs.append(item["process_graph"])
        elif isinstance(item, Mapping):
            pending.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            pending.extend(reversed(item))
    return found


def _arguments(node: Any) -> Mapping[str, Any]:
    arguments = node.get("arguments") if isinstance(node, Mapping) else None
    return arguments if isinstance(arguments, Mapping) else {}


def _child_graphs(graph: Graph) -> Iterator[Any]:
    for node in graph.values():
        for value in _arguments(node).values():
            yield from references(value).graphs


def user_process_call(node: Any) -> str | None:
    """The id of the user-defined process `node` calls, or None: a call in namespace `user`,
    or in namespace null of a process that is not predefined (the evaluator prefers the
    predefined one)."""
    if not isinstance(node, Mapping) or not isinstance(node.get("process_id"), str):
        return None
    namespace, process_id = node.get("namespace"), node["process_id"]
    if namespace == "user" or (namespace is None and process_id not in IMPLEMENTED_PROCESSES):
        return str(process_id)
    return None


def called_user_processes(process: Mapping[str, Any]) -> set[str]:
    """The ids of the user-defined processes `process` calls, child graphs included."""
    graph = process.get("process_graph")
    pending = [graph] if isinstance(graph, Mapping) else []
    called: set[str] = set()
    while pending:
        current = pending.pop()
        called.update(filter(None, map(user_process_call, current.values())))
        pending.extend(child for child in _child_graphs(current) if isinstance(child, Mapping))
    return called


@dataclass(frozen=True)
class _Nested:
    """A graph the limits walk reaches: how deep it lies, the user-defined processes it was
    reached through, whether it is the process's own (its nodes count), and the
    user-defined process it is the graph of, if any."""

    graph: Graph
    depth: int
    calls: tuple[str, ...]
    own: bool
    callee: str | None = None


def _too_complex(reason: str) -> ProcessGraphComplexity:
    return ProcessGraphComplexity(f"The process is too complex: {reason}.")


def calls_itself(process_id: str, calls: Sequence[str]) -> ProcessGraphInvalid:
    """The error of a user-defined process that calls itself through `calls` (the chain of
    user-defined processes that led to the call, outermost first, `process_id` among them)."""
    loop = " -> ".join([*calls[list(calls).index(process_id) :], process_id])
    return ProcessGraphInvalid(
        f"Invalid process graph: the user-defined process '{process_id}' calls itself "
        f"({loop}); recursion is not supported."
    )


def _nested(current: _Nested, user_process: UserProcess | None) -> Iterator[_Nested]:
    """The child process graphs of `current` and the graphs of the user-defined processes
    its nodes call (those `user_process` knows), one level deeper."""
    depth = current.depth + 1
    for child in _child_graphs(current.graph):
        if isinstance(child, Mapping):
            yield _Nested(child, depth, current.calls, current.own)
    for node in current.graph.values() if user_process is not None else ():
        callee = user_process_call(node)
        process = user_process(callee) if user_process is not None and callee else None
        graph = process.get("process_graph") if isinstance(process, Mapping) else None
        if callee and isinstance(graph, Mapping):
            yield _Nested(graph, depth, (*current.calls, callee), own=False, callee=callee)


def _graphs_within_limits(
    graph: Graph,
    limits: GraphLimits,
    *,
    user_process: UserProcess | None = None,
    process_id: str | None = None,
) -> tuple[list[Graph], list[OpenEOError]]:
    """Every (child) process graph of `graph`, or the one problem that stops the walk:
    ProcessGraphComplexity beyond the limits, ProcessGraphInvalid for a user-defined
    process calling itself.

    With `user_process`, the user-defined processes the graphs call (directly or through
    others) are walked too, for their depth and loops; their nodes are their own, not
    counted. `process_id` is the id the process is stored under: a call of it is a loop,
    and as it only ever runs called, its graph lies one level deep. Counting stops at the
    first graph past `max_nodes`, and a user-defined process is walked again only when it
    is reached deeper than before, so a huge process costs no more than the limits allow.
    """
    graphs: list[Graph] = []
    nodes = 0
    calls = (process_id,) if process_id else ()
    pending = [_Nested(graph, len(calls), calls, own=True)]
    deepest: dict[str, int] = {}
    while pending:
        current = pending.pop()
        if current.own:
            graphs.append(current.graph)
            nodes += len(current.graph)
            if nodes > limits.max_nodes:
                reason = f"it has more than {limits.max_nodes} nodes, child process graphs included"
                return graphs, [_too_complex(reason)]
        for nested in _nested(current, user_process):
            callee = nested.callee
            if callee in current.calls:
                return graphs, [calls_itself(str(callee), current.calls)]
            if nested.depth > limits.max_depth:
                reason = (
                    f"its process graphs nest deeper than {limits.max_depth} levels (each child "
                    "process graph and each call of a user-defined process is one level)"
                )
                return graphs, [_too_complex(reason)]
            if callee is not None:
                if deepest.get(callee, -1) >= nested.depth:
                    continue
                deepest[callee] = nested.depth
            pending.append(nested)
    return graphs, []


def referenced_collections(
    process: Mapping[str, Any], *, limits: GraphLimits = GraphLimits()
) -> set[str]:
    """The literal collection ids of every `load_collection` node, child graphs included.

    Empty for a process without a graph or beyond `limits`, whose collections
    validation does not check; callers look these ids up before `validate_process`.
    """
    graph = process.get("process_graph") if isinstance(process, Mapping) else None
    if not isinstance(graph, Mapping):
        return set()
    graphs, errors = _graphs_within_limits(graph, limits)
    if errors:
        return set()
    return {
        _arguments(node)["id"]
        for current in graphs
        for node in current.values()
        if isinstance(node, Mapping)
        and node.get("process_id") == "load_collection"
        and isinstance(_arguments(node).get("id"), str)
    }


def _schema_types(schema: Any) -> set[str] | None:
    """The JSON types a parameter schema allows, or None for any (or what is not read here,
    such as `anyOf` without `type`)."""
    alternatives = schema if isinstance(schema, list) else [schema]
    types: set[str] = set()
    for alternative in alternatives:
        kind = alternative.get("type") if isinstance(alternative, Mapping) else None
        if isinstance(kind, str):
            types.add(kind)
        elif isinstance(kind, list) and all(isinstance(name, str) for name in kind):
            types.update(kind)
        else:
            return None
    return types


def _json_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (int, "integer"),
        (float, "number"),
        (str, "string"),
        (type(None), "null"),
        (list, "array"),
        (Mapping, "object"),
    )
    return next((name for kind, name in kinds if isinstance(value, kind)), None)


def _type_problem(value: Any, schema: Any) -> str | None:
    """Why a literal argument value cannot match the schema's types, or None if it may."""
    allowed = _schema_types(schema)
    kind = _json_type(value)
    if allowed is None or kind is None or kind in allowed:
        return None
    if kind == "integer" and "number" in allowed:
        return None
    if kind == "number" and "integer" in allowed and float(value).is_integer():
        return None
    return f"expected {' or '.join(sorted(allowed))}, got {kind}"


def _is_literal(value: Any) -> bool:
    return not (
        is_reference(value, "from_node")
        or is_reference(value, "from_parameter")
        or is_child_process(value)
    )


def _schema_problem(value: Any, schema: Any, *, depth: int = 0) -> str | None:
    """Why a literal argument value cannot match a parameter's schema, or None if it may.

    Reads what decides most mistakes cheaply: the alternatives (a list of schemas,
    `anyOf`, `oneOf`), `type`, `required`, `properties`, `items`, `minItems`, `maxItems`,
    the `date` and `date-time` formats, and the subtypes `datacube` (never a literal)
    and `geojson` (an object with a GeoJSON `type`). A value holding a reference or a
    child process may match anything, and so may whatever lies deeper than
    MAX_SCHEMA_DEPTH.
    """
    if not _is_literal(value) or depth > MAX_SCHEMA_DEPTH:
        return None
    type_problem = _type_problem(value, schema)
    if type_problem is not None:
        return type_problem
    alternatives = schema if isinstance(schema, list) else [schema]
    problems = []
    for alternative in alternatives:
        if not isinstance(alternative, Mapping):
            return None
        problem = _alternative_problem(value, alternative, depth=depth)
        if problem is None:
            return None
        problems.append(problem)
    # The first alternative of the value's type, e.g. the bounding box for an object.
    return next((p for p in problems if not p.startswith("expected ")), problems[0])


def _alternative_problem(value: Any, schema: Mapping[str, Any], *, depth: int) -> str | None:
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            problem = _schema_problem(value, schema[key], depth=depth + 1)
            if problem is not None:
                return problem
    problem = _type_problem(value, schema) or _subtype_problem(value, schema.get("subtype"))
    if problem is not None:
        return problem
    if isinstance(value, Mapping):
        return _object_problem(value, schema, depth=depth)
    if isinstance(value, list):
        return _array_problem(value, schema, depth=depth)
    if isinstance(value, str) and schema.get("format") in ("date", "date-time"):
        return None if _is_instant(value) else f"expected a {schema['format']}, got {value!r}"
    return None


def _subtype_problem(value: Any, subtype: Any) -> str | None:
    if subtype == "datacube":
        return "expected a data cube, which only a process returns"
    if subtype == "geojson" and (
        not isinstance(value, Mapping) or value.get("type") not in GEOJSON_TYPES
    ):
        return "expected a GeoJSON object"
    return None


def _object_problem(
    value: Mapping[str, Any], schema: Mapping[str, Any], *, depth: int
) -> str | None:
    required = schema.get("required")
    for name in required if isinstance(required, list) else ():
        if name not in value:
            return f"'{name}' is missing"
    properties = schema.get("properties")
    for name, member in properties.items() if isinstance(properties, Mapping) else ():
        problem = _schema_problem(value[name], member, depth=depth + 1) if name in value else None
        if problem is not None:
            return f"'{name}': {problem}"
    return None


def _array_problem(value: list[Any], schema: Mapping[str, Any], *, depth: int) -> str | None:
    least, most = schema.get("minItems"), schema.get("maxItems")
    if isinstance(least, int) and len(value) < least:
        return f"expected at least {least} items, got {len(value)}"
    if isinstance(most, int) and len(value) > most:
        return f"expected at most {most} items, got {len(value)}"
    items = schema.get("items")
    for index, item in enumerate(value) if isinstance(items, Mapping | list) else ():
        problem = _schema_problem(item, items, depth=depth + 1)
        if problem is not None:
            return f"item {index}: {problem}"
    return None


def _is_instant(text: str) -> bool:
    """A date or date-time as `datetime.fromisoformat` reads them (RFC 3339 and kin)."""
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_optional(parameter: Mapping[str, Any]) -> bool:
    return bool(parameter.get("optional")) or "default" in parameter


def walk_depth_first(
    starts: Iterable[str],
    targets: Callable[[str], Iterable[str]],
    *,
    on_cycle: Callable[[str], None],
) -> list[str]:
    """Every node reachable from `starts` along `targets`, each after every node it leads
    to; `on_cycle(target)` for each step that closes a cycle (at `target`).

    An iterative depth-first search, so that long chains cannot exhaust the stack.
    """
    order: list[str] = []
    done: set[str] = set()
    for start in starts:
        if start in done:
            continue
        on_path = {start}
        walk = [(start, iter(targets(start)))]
        while walk:
            node, pending = walk[-1]
            target = next(pending, None)
            if target is None:
                walk.pop()
                on_path.discard(node)
                done.add(node)
                order.append(node)
            elif target in on_path:
                on_cycle(target)
            elif target not in done:
                on_path.add(target)
                walk.append((target, iter(targets(target))))
    return order


def _cycle_nodes(reads: Mapping[str, list[str]]) -> list[str]:
    """One node of every cycle among the nodes (the one where a walk closed it)."""
    closing: list[str] = []

    def close(target: str) -> None:
        if target not in closing:
            closing.append(target)

    walk_depth_first(reads, lambda node: reads.get(node, ()), on_cycle=close)
    return closing


@dataclass(frozen=True)
class _Signature:
    """The parameters a process accepts; None for a user process that declares none."""

    parameters: Sequence[Mapping[str, Any]] | None


class _Checker:
    """Collects the problems of one process, graph by graph."""

    def __init__(
        self, *, collections: CollectionLookup | None, user_process: UserProcess | None
    ) -> None:
        self.collections = collections
        self.user_process = user_process
        self.errors: list[OpenEOError] = []

    def invalid(self, where: str, problem: str) -> None:
        place = f" (in the child process graph at '{where}')" if where else ""
        self.errors.append(ProcessGraphInvalid(f"Invalid process graph{place}: {problem}."))

    def check_graph(self, graph: Graph, *, parameters: frozenset[str] | None, where: str) -> None:
        """One (child) process graph; `parameters` are the names `from_parameter` may use,
        None for any."""
        reads: dict[str, list[str]] = {}
        result_nodes = 0
        for node_id, node in graph.items():
            if not isinstance(node, Mapping):
                self.invalid(where, f"node '{node_id}' is not an object")
                continue
            if node.get("result") is True:
                result_nodes += 1
            reads[node_id] = self.check_node(node_id, node, graph, parameters, where)
        if result_nodes != 1:
            self.invalid(where, f"it needs exactly one result node, found {result_nodes}")
        for node_id in _cycle_nodes(reads):
            self.invalid(where, f"it has a cycle through node '{node_id}'")

    def check_node(
        self,
        node_id: str,
        node: Mapping[str, Any],
        graph: Graph,
        parameters: frozenset[str] | None,
        where: str,
    ) -> list[str]:
        """The node's structure, references and process call; the nodes it reads from."""
        process_id = node.get("process_id")
        if not isinstance(process_id, str) or not process_id:
            self.invalid(where, f"node '{node_id}' needs a `process_id` string")
        if not isinstance(node.get("arguments"), Mapping):
            self.invalid(where, f"node '{node_id}' needs an `arguments` object")
        if not isinstance(node.get("result", False), bool):
            self.invalid(where, f"`result` of node '{node_id}' must be a boolean")
        reads: list[str] = []
        for name, value in _arguments(node).items():
            found = references(value)
            for target in found.nodes:
                if isinstance(target, str) and target in graph:
                    reads.append(target)
                else:
                    self.invalid(
                        where, f"node '{node_id}' reads from node '{target}', which does not exist"
                    )
            for parameter in found.parameters:
                if parameters is not None and parameter not in parameters:
                    self.invalid(
                        where,
                        f"node '{node_id}' reads parameter '{parameter}', "
                        "which the process does not declare",
                    )
            for child in found.graphs:
                self.check_child(child, where=f"{where}{'/' if where else ''}{node_id}/{name}")
        if isinstance(process_id, str) and process_id:
            self.check_call(process_id, node.get("namespace"), _arguments(node))
        return reads

    def check_child(self, child: Any, *, where: str) -> None:
        if isinstance(child, Mapping):
            # A child graph reads its callback's parameters and those of enclosing graphs.
            self.check_graph(child, parameters=None, where=where)
        else:
            self.invalid(where, "`process_graph` must be an object")

    def signature(self, process_id: str, namespace: Any) -> _Signature | None:
        """What the process accepts, or None if it is unsupported in `namespace`; openEO
        defines only null (either), "backend" (predefined) and "user" (user-defined)."""
        spec = process_spec(process_id) if process_id in IMPLEMENTED_PROCESSES else None
        if namespace in (None, "backend") and spec is not None:
            return _Signature(spec.get("parameters", []))
        user_process = (
            self.user_process(process_id)
            if namespace in (None, "user") and self.user_process is not None
            else None
        )
        if not isinstance(user_process, Mapping):
            return None
        declared = user_process.get("parameters")
        if not isinstance(declared, list):
            return _Signature(None)
        return _Signature([p for p in declared if isinstance(p, Mapping)])

    def check_call(self, process_id: str, namespace: Any, arguments: Mapping[str, Any]) -> None:
        """The process exists in `namespace` and accepts the arguments."""
        signature = self.signature(process_id, namespace)
        if signature is None:
            self.errors.append(
                ProcessUnsupported(process=process_id, namespace=namespace or "backend")
            )
            return
        if signature.parameters is not None:
            self.check_arguments(process_id, signature.parameters, arguments)
        collection_id = arguments.get("id")
        if (
            process_id == "load_collection"
            and self.collections is not None
            and isinstance(collection_id, str)
            and self.collections(collection_id) is None
        ):
            self.errors.append(CollectionNotFound(identifier=collection_id))

    def check_arguments(
        self,
        process_id: str,
        declared: Sequence[Mapping[str, Any]],
        arguments: Mapping[str, Any],
    ) -> None:
        by_name = {p["name"]: p for p in declared if isinstance(p.get("name"), str)}
        for name, value in arguments.items():
            parameter = by_name.get(name)
            if parameter is None:
                self.errors.append(ProcessParameterUnsupported(process=process_id, parameter=name))
                continue
            # An optional parameter without a default is null when omitted (so the evaluator
            # fills it in), though some schemas do not admit null, e.g. `array_element`'s `index`:
            # null passed explicitly means the same.
            omitted = value is None and _is_optional(parameter) and parameter.get("default") is None
            problem = None if omitted else _schema_problem(value, parameter.get("schema"))
            if problem is not None:
                self.errors.append(
                    ProcessParameterInvalid(process=process_id, parameter=name, reason=problem)
                )
        for name, parameter in by_name.items():
            if name not in arguments and not _is_optional(parameter):
                self.errors.append(ProcessParameterRequired(process=process_id, parameter=name))


def _declared_parameters(process: Mapping[str, Any]) -> frozenset[str] | None:
    """The names of the process's own parameters, or None when it declares no list."""
    declared = process.get("parameters")
    if not isinstance(declared, list):
        return None
    return frozenset(
        p["name"] for p in declared if isinstance(p, Mapping) and isinstance(p.get("name"), str)
    )


def validate_process(
    process: Mapping[str, Any],
    *,
    collections: CollectionLookup | None = None,
    user_process: UserProcess | None = None,
    limits: GraphLimits = GraphLimits(),
    process_id: str | None = None,
) -> list[OpenEOError]:
    """Every problem of an openEO process (`{"process_graph": ..., "parameters": ...}`).

    Returns (never raises) ProcessGraphMissing, ProcessGraphInvalid (structure,
    `from_node` targets, undeclared `from_parameter` names of the top-level graph,
    cycles, result nodes), ProcessUnsupported, ProcessParameterUnsupported,
    ProcessParameterRequired, ProcessParameterInvalid (JSON types of literal values),
    CollectionNotFound (literal `load_collection` ids, when `collections` is given) and
    the problems of `eoplex_common.collection_checks` against the metadata it gives
    (bands, properties, extents), and reported alone: ProcessGraphComplexity (beyond
    `limits`, the graphs of the user-defined processes it calls counted in its depth)
    and ProcessGraphInvalid for a user-defined process calling itself. An empty list
    means the process is valid. `user_process` resolves user-defined processes by id;
    it must know every one the process reaches for their depth to count. `process_id`
    is the id a user-defined process is stored under (`PUT /process_graphs/{id}`): it
    only runs called, one level deeper than the graph calling it, and must not call
    itself.
    """
    graph = process.get("process_graph") if isinstance(process, Mapping) else None
    if not isinstance(graph, Mapping):
        return [ProcessGraphMissing()]
    _, stopped = _graphs_within_limits(
        graph, limits, user_process=user_process, process_id=process_id
    )
    if stopped:
        return stopped
    checker = _Checker(collections=collections, user_process=user_process)
    checker.check_graph(graph, parameters=_declared_parameters(process), where="")
    if collections is not None:
        checker.errors += collection_problems(graph, collections)
    return checker.errors
