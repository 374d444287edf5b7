"""Validation of openEO processes: `POST /validation`, and the check before a graph runs.

`validate_process` is pure and total: it never raises for bad input, and it returns
every problem it finds as an openEO error, so the processes service can report them
all at once and the executor can refuse a graph before it reads any data. It checks
the structure of the process graph and of every child process graph, that each
process exists (the executor's `IMPLEMENTED_PROCESSES` or a user-defined process),
the argument names and, where the process's JSON Schema makes it cheap and
unambiguous, the JSON types of literal argument values.

A process beyond the `GraphLimits` is reported with `ProcessGraphComplexity` alone:
the limits exist to bound the work spent on a process, validation included.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
CollectionExists = Callable[[str], bool]
UserProcess = Callable[[str], Mapping[str, Any] | None]


@dataclass(frozen=True, kw_only=True)
class GraphLimits:
    """How large a process may be: nodes of all its (child) process graphs together, and
    how deeply child process graphs nest (the top-level graph is depth 0)."""

    max_nodes: int = 1000
    max_depth: int = 10


@dataclass
class _References:
    """What an argument value refers to; child process graphs are not entered."""

    nodes: list[Any] = field(default_factory=list)
    parameters: list[Any] = field(default_factory=list)
    graphs: list[Any] = field(default_factory=list)


def _is_reference(value: Any, key: str) -> bool:
    # Same reading as the executor's evaluator: `{"from_node": ...}` with nothing else.
    return isinstance(value, Mapping) and key in value and len(value) == 1


def _is_child_process(value: Any) -> bool:
    return isinstance(value, Mapping) and "process_graph" in value


def _references(value: Any) -> _References:
    """The `from_node`, `from_parameter` and child process graphs inside an argument value.

    Iterative, so that deeply nested arrays cannot exhaust the interpreter's stack.
    """
    found = _References()
    pending = [value]
    while pending:
        item = pending.pop()
        if _is_reference(item, "from_node"):
            found.nodes.append(item["from_node"])
        elif _is_reference(item, "from_parameter"):
            found.parameters.append(item["from_parameter"])
        elif _is_child_process(item):
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
            yield from _references(value).graphs


def _graphs_within_limits(
    graph: Graph, limits: GraphLimits
) -> tuple[list[Graph], list[OpenEOError]]:
    """Every (child) process graph of `graph`, or the limits it exceeds.

    Counting stops at the first graph past `max_nodes`, so a huge process costs no
    more than the limit allows.
    """
    graphs: list[Graph] = []
    errors: list[OpenEOError] = []
    nodes = 0
    pending: list[tuple[Graph, int]] = [(graph, 0)]
    while pending:
        current, depth = pending.pop()
        graphs.append(current)
        nodes += len(current)
        if nodes > limits.max_nodes:
            reason = f"it has more than {limits.max_nodes} nodes, child process graphs included"
            return graphs, [
                *errors,
                ProcessGraphComplexity(f"The process is too complex: {reason}."),
            ]
        for child in _child_graphs(current):
            if not isinstance(child, Mapping):
                continue
            if depth + 1 > limits.max_depth:
                if not errors:
                    reason = f"its child process graphs nest deeper than {limits.max_depth} levels"
                    errors.append(ProcessGraphComplexity(f"The process is too complex: {reason}."))
                continue
            pending.append((child, depth + 1))
    return graphs, errors


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
        _is_reference(value, "from_node")
        or _is_reference(value, "from_parameter")
        or _is_child_process(value)
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


def _cycle_nodes(reads: Mapping[str, list[str]]) -> list[str]:
    """One node of every cycle among the nodes (the one where a walk closed it).

    An iterative depth-first search, so that long chains cannot exhaust the stack.
    """
    on_path, done = set(), set()
    closing: list[str] = []
    for start in reads:
        if start in done:
            continue
        on_path.add(start)
        walk = [(start, iter(reads[start]))]
        while walk:
            node, targets = walk[-1]
            target = next(targets, None)
            if target is None:
                walk.pop()
                on_path.discard(node)
                done.add(node)
            elif target in on_path:
                if target not in closing:
                    closing.append(target)
            elif target not in done:
                on_path.add(target)
                walk.append((target, iter(reads.get(target, ()))))
    return closing


@dataclass(frozen=True)
class _Signature:
    """The parameters a process accepts; None for a user process that declares none."""

    parameters: Sequence[Mapping[str, Any]] | None


class _Checker:
    """Collects the problems of one process, graph by graph."""

    def __init__(
        self, *, collection_exists: CollectionExists | None, user_process: UserProcess | None
    ) -> None:
        self.collection_exists = collection_exists
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
            references = _references(value)
            for target in references.nodes:
                if isinstance(target, str) and target in graph:
                    reads.append(target)
                else:
                    self.invalid(
                        where, f"node '{node_id}' reads from node '{target}', which does not exist"
                    )
            for parameter in references.parameters:
                if parameters is not None and parameter not in parameters:
                    self.invalid(
                        where,
                        f"node '{node_id}' reads parameter '{parameter}', "
                        "which the process does not declare",
                    )
            for child in references.graphs:
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
            and self.collection_exists is not None
            and isinstance(collection_id, str)
            and not self.collection_exists(collection_id)
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
    collection_exists: CollectionExists | None = None,
    user_process: UserProcess | None = None,
    limits: GraphLimits = GraphLimits(),
) -> list[OpenEOError]:
    """Every problem of an openEO process (`{"process_graph": ..., "parameters": ...}`).

    Returns (never raises) ProcessGraphMissing, ProcessGraphInvalid (structure,
    `from_node` targets, undeclared `from_parameter` names of the top-level graph,
    cycles, result nodes), ProcessUnsupported, ProcessParameterUnsupported,
    ProcessParameterRequired, ProcessParameterInvalid (JSON types of literal values),
    CollectionNotFound (literal `load_collection` ids, when `collection_exists` is
    given) and ProcessGraphComplexity (beyond `limits`, reported alone). An empty list
    means the process is valid. `user_process` resolves user-defined processes by id.
    """
    graph = process.get("process_graph") if isinstance(process, Mapping) else None
    if not isinstance(graph, Mapping):
        return [ProcessGraphMissing()]
    _, complexity = _graphs_within_limits(graph, limits)
    if complexity:
        return complexity
    checker = _Checker(collection_exists=collection_exists, user_process=user_process)
    checker.check_graph(graph, parameters=_declared_parameters(process), where="")
    return checker.errors
