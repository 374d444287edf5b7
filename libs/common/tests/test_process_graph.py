"""`validate_process`: one test per problem it reports, and that it reports all and never raises."""

from typing import Any

import pytest

from eoplex_common.collection_checks import CollectionMetadata
from eoplex_common.errors import OpenEOError
from eoplex_common.process_graph import (
    GraphLimits,
    called_user_processes,
    referenced_collections,
    validate_process,
)
from eoplex_common.process_specs import IMPLEMENTED_PROCESSES, process_spec

Node = dict[str, Any]
# A data cube argument whose value validation cannot know.
CUBE = {"from_parameter": "cube"}
S2_METADATA = CollectionMetadata(
    {
        "cube:dimensions": {"bands": {"type": "bands", "values": ["B04", "B08"]}},
        "extent": {
            "spatial": {"bbox": [[10.0, 45.0, 12.0, 47.0]]},
            "temporal": {"interval": [["2022-01-01T00:00:00Z", "2022-12-31T00:00:00Z"]]},
        },
    },
    frozenset({"eo:cloud_cover"}),
)


def node(process_id: str, result: bool = False, **arguments: Any) -> Node:
    built: Node = {"process_id": process_id, "arguments": arguments}
    if result:
        built["result"] = True
    return built


def child(graph: dict[str, Node]) -> dict[str, Any]:
    return {"process_graph": graph}


def mean_reducer() -> dict[str, Any]:
    return child({"m": node("mean", result=True, data={"from_parameter": "data"})})


def ndvi_process(collection_id: Any = "S2") -> dict[str, Any]:
    """load_collection -> reduce_dimension(mean) -> save_result, all valid."""
    return {
        "process_graph": {
            "load": node(
                "load_collection",
                id=collection_id,
                spatial_extent={"west": 11.0, "south": 46.0, "east": 11.1, "north": 46.1},
                temporal_extent=["2022-05-01", "2022-06-01"],
                bands=["B04", "B08"],
            ),
            "reduce": node(
                "reduce_dimension",
                data={"from_node": "load"},
                reducer=mean_reducer(),
                dimension="t",
            ),
            "save": node("save_result", result=True, data={"from_node": "reduce"}, format="GTiff"),
        }
    }


def single(process_id: str, **arguments: Any) -> dict[str, Any]:
    return {"process_graph": {"n": node(process_id, result=True, **arguments)}}


def codes(errors: list[OpenEOError]) -> list[str]:
    return [error.code for error in errors]


def only(errors: list[OpenEOError], code: str) -> OpenEOError:
    assert codes(errors) == [code], [error.message for error in errors]
    return errors[0]


def test_a_valid_process_has_no_errors() -> None:
    assert validate_process(ndvi_process(), collections={"S2": S2_METADATA}.get) == []


@pytest.mark.parametrize(
    "process",
    [{}, {"process_graph": None}, {"process_graph": [1, 2]}, {"process_graph": "x"}, [], "text"],
)
def test_a_process_without_a_graph_object_is_process_graph_missing(process: Any) -> None:
    only(validate_process(process), "ProcessGraphMissing")


@pytest.mark.parametrize(
    ("graph", "named"),
    [
        ({"a": "absolute", "b": node("absolute", result=True, x=1)}, "node 'a' is not an object"),
        ({"a": {"arguments": {}, "result": True}}, "node 'a' needs a `process_id`"),
        ({"a": {"process_id": "pi", "result": True}}, "node 'a' needs an `arguments` object"),
        ({"a": {**node("absolute", x=1), "result": "yes"}}, "`result` of node 'a'"),
    ],
)
def test_malformed_nodes_are_process_graph_invalid(graph: dict[str, Any], named: str) -> None:
    errors = validate_process({"process_graph": graph})
    invalid = [error for error in errors if error.code == "ProcessGraphInvalid"]
    assert any(named in error.message for error in invalid), [e.message for e in errors]


@pytest.mark.parametrize("results", [0, 2])
def test_a_graph_needs_exactly_one_result_node(results: int) -> None:
    graph = {f"n{i}": node("absolute", result=i < results, x=i) for i in range(2)}
    error = only(validate_process({"process_graph": graph}), "ProcessGraphInvalid")
    assert f"exactly one result node, found {results}" in error.message


def test_a_child_graph_needs_exactly_one_result_node() -> None:
    reducer = child({"m": node("mean", data={"from_parameter": "data"})})
    process = single("reduce_dimension", data=CUBE, reducer=reducer, dimension="t")
    error = only(validate_process(process), "ProcessGraphInvalid")
    assert "child process graph at 'n/reducer'" in error.message
    assert "found 0" in error.message


@pytest.mark.parametrize(
    "x", [{"from_node": "nope"}, [1, {"from_node": "nope"}], {"a": {"from_node": "nope"}}]
)
def test_from_node_must_name_a_node_of_the_same_graph(x: Any) -> None:
    process = single("if", value=True, accept=x)
    error = only(validate_process(process), "ProcessGraphInvalid")
    assert "node 'n' reads from node 'nope', which does not exist" in error.message


def test_from_node_cannot_reach_into_the_parent_graph() -> None:
    reducer = child({"m": node("mean", result=True, data={"from_node": "load"})})
    process = {
        "process_graph": {
            "load": node("absolute", x=1),
            "n": node("reduce_dimension", result=True, data=CUBE, reducer=reducer, dimension="t"),
        }
    }
    error = only(validate_process(process), "ProcessGraphInvalid")
    assert "'n/reducer'" in error.message and "node 'load'" in error.message


@pytest.mark.parametrize(
    "graph",
    [
        {
            "a": node("absolute", x={"from_node": "b"}),
            "b": node("absolute", result=True, x={"from_node": "a"}),
        },
        {"a": node("absolute", result=True, x={"from_node": "a"})},
    ],
)
def test_cycles_are_process_graph_invalid(graph: dict[str, Any]) -> None:
    error = only(validate_process({"process_graph": graph}), "ProcessGraphInvalid")
    assert "cycle through node" in error.message


def test_process_ids_must_be_implemented() -> None:
    # A specified process the back-end does not run, and one nobody specified.
    assert process_spec("sar_backscatter") is not None
    assert "sar_backscatter" not in IMPLEMENTED_PROCESSES
    for process_id in ("sar_backscatter", "no_such_process"):
        error = only(validate_process(single(process_id)), "ProcessUnsupported")
        assert error.params == {"process": process_id, "namespace": "backend"}


@pytest.mark.parametrize("namespace", ["https://example.org/processes", "vito", 3])
def test_other_namespaces_are_process_unsupported(namespace: Any) -> None:
    process = {
        "process_graph": {"n": {**node("absolute", result=True, x=1), "namespace": namespace}}
    }
    error = only(validate_process(process), "ProcessUnsupported")
    assert error.params == {"process": "absolute", "namespace": namespace}


def test_backend_namespace_is_the_predefined_processes() -> None:
    process = {
        "process_graph": {"n": {**node("absolute", result=True, x=1), "namespace": "backend"}}
    }
    assert validate_process(process) == []


def test_user_processes_resolve_through_the_callback() -> None:
    udp = {"parameters": [{"name": "cube", "schema": {"type": "object"}}], "process_graph": {}}
    lookup = {"my_ndvi": udp}.get
    process = single("my_ndvi", cube={"x": 1})
    assert codes(validate_process(process)) == ["ProcessUnsupported"]
    assert validate_process(process, user_process=lookup) == []
    user_namespace = {
        "process_graph": {"n": {**process["process_graph"]["n"], "namespace": "user"}}
    }
    assert validate_process(user_namespace, user_process=lookup) == []
    assert codes(validate_process(single("my_ndvi"), user_process=lookup)) == [
        "ProcessParameterRequired"
    ]
    unknown = single("my_ndvi", cube={}, scale=2)
    assert codes(validate_process(unknown, user_process=lookup)) == ["ProcessParameterUnsupported"]


def test_the_user_namespace_excludes_predefined_processes() -> None:
    process = {"process_graph": {"n": {**node("absolute", result=True, x=1), "namespace": "user"}}}
    error = only(validate_process(process, user_process=lambda _: None), "ProcessUnsupported")
    assert error.params["namespace"] == "user"


def test_unknown_arguments_are_process_parameter_unsupported() -> None:
    error = only(validate_process(single("absolute", x=1, y=2)), "ProcessParameterUnsupported")
    assert error.params == {"process": "absolute", "parameter": "y"}


def test_missing_required_arguments_are_process_parameter_required() -> None:
    errors = validate_process(single("add", x=1))
    error = only(errors, "ProcessParameterRequired")
    assert error.params == {"process": "add", "parameter": "y"}
    # `quantiles` has only optional parameters besides `data`.
    assert validate_process(single("quantiles", data=[1, 2], q=4)) == []


@pytest.mark.parametrize(
    ("process_id", "arguments", "parameter"),
    [
        ("add", {"x": "one", "y": 2}, "x"),
        ("add", {"x": 1, "y": [2]}, "y"),
        ("add", {"x": True, "y": 2}, "x"),
        ("array_element", {"data": [1], "index": 1.5}, "index"),
        ("array_element", {"data": "abc", "index": 0}, "data"),
        ("array_element", {"data": [1], "return_nodata": None}, "return_nodata"),
        ("reduce_dimension", {"data": CUBE, "reducer": "mean", "dimension": "t"}, "reducer"),
        (
            "reduce_dimension",
            {"data": CUBE, "reducer": mean_reducer(), "dimension": None},
            "dimension",
        ),
    ],
)
def test_literal_values_of_the_wrong_json_type_are_process_parameter_invalid(
    process_id: str, arguments: dict[str, Any], parameter: str
) -> None:
    error = only(validate_process(single(process_id, **arguments)), "ProcessParameterInvalid")
    assert error.params["parameter"] == parameter
    assert "expected" in error.message


@pytest.mark.parametrize(
    ("process_id", "arguments"),
    [
        ("add", {"x": 1, "y": 2.5}),
        ("add", {"x": None, "y": -3}),
        ("array_element", {"data": [1], "index": 2.0}),
        ("add", {"x": {"from_parameter": "value"}, "y": 1}),
        ("if", {"value": True, "accept": "anything", "reject": [1, {"a": None}]}),
        ("array_element", {"data": [1], "label": "B04"}),
        ("array_element", {"data": [1], "index": 0, "label": None}),
        ("quantiles", {"data": [1], "probabilities": None, "q": 2}),
    ],
)
def test_values_that_may_match_the_schema_are_accepted(
    process_id: str, arguments: dict[str, Any]
) -> None:
    assert validate_process(single(process_id, **arguments)) == []


BOX = {"west": 11.0, "south": 46.0, "east": 11.1, "north": 46.1}


def load_collection(**arguments: Any) -> dict[str, Any]:
    """`load_collection` of S2 with no spatial or temporal limit unless given."""
    return single(
        "load_collection",
        **{"id": "S2", "spatial_extent": None, "temporal_extent": None, **arguments},
    )


@pytest.mark.parametrize(
    ("arguments", "parameter", "reason"),
    [
        ({"spatial_extent": {**BOX, "west": "a"}}, "spatial_extent", "'west': expected number"),
        ({"spatial_extent": {"west": 1, "east": 2}}, "spatial_extent", "'south' is missing"),
        ({"spatial_extent": {"type": "Nonsense"}}, "spatial_extent", "'west' is missing"),
        ({"temporal_extent": ["soon", "later"]}, "temporal_extent", "item 0: expected a date"),
        ({"temporal_extent": ["2022-06-01"]}, "temporal_extent", "at least 2 items"),
        ({"temporal_extent": [2022, 2023]}, "temporal_extent", "item 0: expected null or string"),
        ({"bands": []}, "bands", "at least 1 items"),
        ({"bands": [4]}, "bands", "item 0: expected string"),
    ],
)
def test_literal_values_are_checked_against_the_whole_schema(
    arguments: dict[str, Any], parameter: str, reason: str
) -> None:
    # openapi.yaml, POST /validation: "It MUST also check the arguments against the schema".
    error = only(validate_process(load_collection(**arguments)), "ProcessParameterInvalid")
    assert error.params["parameter"] == parameter
    assert reason in error.message


@pytest.mark.parametrize(
    "arguments",
    [
        {"spatial_extent": BOX, "temporal_extent": ["2022-06-01", None], "bands": ["B04"]},
        {
            "spatial_extent": {**BOX, "crs": 32632},
            "temporal_extent": ["2022-06-01T00:00:00Z", "2022-07-01T00:00:00+02:00"],
        },
        {"spatial_extent": {"type": "Polygon", "coordinates": []}},
        {"spatial_extent": {"from_parameter": "aoi"}, "bands": [{"from_parameter": "band"}]},
        {"spatial_extent": None, "temporal_extent": None, "bands": None},
    ],
)
def test_literal_values_that_match_the_schema_are_accepted(arguments: dict[str, Any]) -> None:
    assert validate_process(load_collection(**arguments)) == []


def test_a_literal_is_never_a_data_cube() -> None:
    error = only(
        validate_process(single("apply", data={"x": 1}, process=mean_reducer())),
        "ProcessParameterInvalid",
    )
    assert "data cube" in error.message


def test_child_graphs_are_validated_like_the_top_level_graph() -> None:
    reducer = child(
        {
            "m": node("nonexistent", data={"from_parameter": "data"}),
            "a": node("absolute", result=True, x={"from_node": "m"}, extra=1),
        }
    )
    process = single("reduce_dimension", data=CUBE, reducer=reducer, dimension="t")
    assert codes(validate_process(process)) == [
        "ProcessUnsupported",
        "ProcessParameterUnsupported",
    ]


def test_child_graphs_inside_arrays_and_objects_are_found() -> None:
    filters = {"eo:cloud_cover": child({"c": node("lte", result=True, x=1)})}
    process = ndvi_process()
    process["process_graph"]["load"]["arguments"]["properties"] = filters
    error = only(validate_process(process), "ProcessParameterRequired")
    assert error.params == {"process": "lte", "parameter": "y"}


def test_top_level_parameters_must_be_declared_when_the_process_declares_any() -> None:
    graph = single("absolute", x={"from_parameter": "scale"})["process_graph"]
    assert validate_process({"process_graph": graph}) == []
    declared = [{"name": "scale", "description": "", "schema": {"type": "number"}}]
    assert validate_process({"process_graph": graph, "parameters": declared}) == []
    error = only(
        validate_process({"process_graph": graph, "parameters": []}), "ProcessGraphInvalid"
    )
    assert "parameter 'scale'" in error.message


def test_child_graphs_may_read_any_parameter() -> None:
    reducer = child({"m": node("mean", result=True, data={"from_parameter": "anything"})})
    process = single("reduce_dimension", data=CUBE, reducer=reducer, dimension="t")
    declared = [{"name": "cube", "description": "", "schema": {"type": "object"}}]
    assert validate_process({**process, "parameters": declared}) == []


def test_literal_collection_ids_are_checked_when_a_lookup_is_given() -> None:
    error = only(
        validate_process(ndvi_process("S3"), collections={"S2": S2_METADATA}.get),
        "CollectionNotFound",
    )
    assert error.params == {"identifier": "S3"}
    assert validate_process(ndvi_process("S3")) == []
    parameterised = ndvi_process({"from_parameter": "collection"})

    def never(collection_id: str) -> CollectionMetadata | None:
        raise AssertionError(f"looked up {collection_id}")

    assert validate_process(parameterised, collections=never) == []


def test_referenced_collections_include_child_graphs_and_skip_references() -> None:
    process = ndvi_process()
    load_in_child = child({"l": node("load_collection", result=True, id="INNER")})
    process["process_graph"]["reduce"]["arguments"]["context"] = load_in_child
    process["process_graph"]["other"] = node("load_collection", id={"from_parameter": "c"})
    assert referenced_collections(process) == {"S2", "INNER"}
    assert referenced_collections({"process_graph": 1}) == set()


def chain(length: int) -> dict[str, Any]:
    graph = {"n0": node("absolute", x=1)}
    for i in range(1, length):
        graph[f"n{i}"] = node("absolute", x={"from_node": f"n{i - 1}"})
    graph[f"n{length - 1}"]["result"] = True
    return {"process_graph": graph}


def nested(depth: int) -> dict[str, Any]:
    """`depth` levels of child graphs below the top-level graph (one node each)."""
    graph = {"a": node("absolute", result=True, x=1)}
    for _ in range(depth):
        graph = {"a": node("apply", result=True, data=CUBE, process=child(graph))}
    return {"process_graph": graph}


def test_node_count_limit_counts_child_graphs() -> None:
    limits = GraphLimits(max_nodes=5)
    assert validate_process(chain(5), limits=limits) == []
    error = only(validate_process(chain(6), limits=limits), "ProcessGraphComplexity")
    assert "more than 5 nodes" in error.message
    assert validate_process(nested(4), limits=limits) == []
    assert codes(validate_process(nested(5), limits=limits)) == ["ProcessGraphComplexity"]


def test_depth_limit_of_child_graphs() -> None:
    limits = GraphLimits(max_depth=3)
    assert validate_process(nested(3), limits=limits) == []
    error = only(validate_process(nested(4), limits=limits), "ProcessGraphComplexity")
    assert "deeper than 3 levels" in error.message
    assert codes(validate_process(nested(11))) == ["ProcessGraphComplexity"]
    assert referenced_collections(nested(4), limits=limits) == set()


def inside_callbacks(depth: int, graph: dict[str, Node]) -> dict[str, Any]:
    """`graph` as the child process of `count`'s condition, `depth` levels deep."""
    for _ in range(depth):
        graph = {"c": node("count", result=True, data=[1], condition=child(graph))}
    return {"process_graph": graph}


def call_of(process_id: str) -> dict[str, Node]:
    return {"u": {"process_id": process_id, "namespace": "user", "arguments": {}, "result": True}}


def calling(process_id: str) -> dict[str, Any]:
    return {"process_graph": call_of(process_id)}


def test_the_graphs_of_called_user_processes_count_in_the_depth() -> None:
    """The evaluator nests a user-defined process's graph one level below the graph calling
    it, and its child graphs below that: validation counts the same levels."""
    limits = GraphLimits(max_depth=4)
    processes = {"inner": inside_callbacks(2, {"a": node("absolute", result=True, x=1)})}
    # Levels: top 0, callback 1, inner's graph 2, its callbacks 3-4.
    fits = inside_callbacks(1, call_of("inner"))
    assert validate_process(fits, user_process=processes.get, limits=limits) == []
    too_deep = inside_callbacks(2, call_of("inner"))
    error = only(
        validate_process(too_deep, user_process=processes.get, limits=limits),
        "ProcessGraphComplexity",
    )
    assert "deeper than 4 levels" in error.message
    assert "call of a user-defined process is one level" in error.message
    # Without the processes, their depth is unknown, as is their signature.
    assert codes(validate_process(too_deep, limits=limits)) == ["ProcessUnsupported"]


def test_a_stored_process_is_checked_one_level_deep_and_must_not_call_itself() -> None:
    limits = GraphLimits(max_depth=3)
    process = inside_callbacks(2, {"a": node("absolute", result=True, x=1)})
    assert validate_process(process, limits=limits) == []
    assert validate_process(process, limits=limits, process_id="p") == []
    deeper = inside_callbacks(3, {"a": node("absolute", result=True, x=1)})
    assert validate_process(deeper, limits=limits) == []
    complexity = validate_process(deeper, limits=limits, process_id="p")
    assert codes(complexity) == ["ProcessGraphComplexity"]
    # A loop through a callback and another process, the new version of `a` closing it.
    processes = {"b": inside_callbacks(1, call_of("a"))}
    new_a = {"process_graph": call_of("b")}
    processes["a"] = new_a
    loop = validate_process(new_a, user_process=processes.get, process_id="a")
    error = only(loop, "ProcessGraphInvalid")
    assert "'a' calls itself (a -> b -> a)" in error.message
    # A top-level graph calling a looping process: the loop, not a depth beyond the limit.
    error = only(validate_process(calling("b"), user_process=processes.get), "ProcessGraphInvalid")
    assert "'b' calls itself (b -> a -> b)" in error.message


def test_shared_calls_are_walked_once_per_depth() -> None:
    """A wide diagram of shared calls (2^15 paths, 2^16 with the limit's error) is checked
    once per process and depth, not once per path."""
    processes: dict[str, dict[str, Any]] = {"p0": single("absolute", x=1)}
    for level in range(1, 16):
        graph = {
            "l": {"process_id": f"p{level - 1}", "arguments": {}},
            "r": {"process_id": f"p{level - 1}", "namespace": "user", "arguments": {}},
            "s": node("add", result=True, x={"from_node": "l"}, y={"from_node": "r"}),
        }
        processes[f"p{level}"] = {"process_graph": graph}
    looked_up: list[str] = []

    def lookup(process_id: str) -> dict[str, Any] | None:
        looked_up.append(process_id)
        return processes.get(process_id)

    top = calling("p15")
    assert validate_process(top, user_process=lookup, limits=GraphLimits(max_depth=16)) == []
    # Each process walked once (two calls each), and the top-level call's signature.
    assert len(looked_up) <= 2 * 2 * len(processes)
    errors = validate_process(top, user_process=processes.get, limits=GraphLimits(max_depth=15))
    assert codes(errors) == ["ProcessGraphComplexity"]


def test_called_user_processes_are_found_in_child_graphs() -> None:
    process = inside_callbacks(3, call_of("deep"))
    process["process_graph"]["n"] = node("plain_udp", x=1)
    process["process_graph"]["m"] = node("absolute", x=1)
    process["process_graph"]["b"] = node("absolute", x=1) | {"namespace": "backend"}
    assert called_user_processes(process) == {"deep", "plain_udp"}


def test_every_problem_is_reported_not_only_the_first() -> None:
    process = {
        "process_graph": {
            "a": node("absolute", x="text"),
            "b": node("unknown_process"),
            "c": node("add", result=True, x={"from_node": "gone"}, z=1),
        }
    }
    assert sorted(codes(validate_process(process))) == [
        "ProcessGraphInvalid",
        "ProcessParameterInvalid",
        "ProcessParameterRequired",
        "ProcessParameterUnsupported",
        "ProcessUnsupported",
    ]


def test_large_and_deep_input_never_raises() -> None:
    # Deeper than the interpreter's recursion limit: walks must be iterative.
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    assert codes(validate_process(single("absolute", x=deep))) == ["ProcessParameterInvalid"]
    long_cycle = chain(3000)
    long_cycle["process_graph"]["n0"]["arguments"]["x"] = {"from_node": "n2999"}
    limits = GraphLimits(max_nodes=5000)
    assert codes(validate_process(long_cycle, limits=limits)) == ["ProcessGraphInvalid"]
    weird: list[Any] = [
        {"process_graph": {"n": {"process_id": 5, "arguments": [], "result": True}}},
        {"process_graph": {"n": node("apply", result=True, data=1, process={"process_graph": 3})}},
        {"process_graph": {"n": node("add", result=True, x={"from_node": 7}, y=None)}},
        {
            "process_graph": {
                "n": {"process_id": "absolute", "arguments": {"x": {"from_node": "n"}}}
            }
        },
        {"process_graph": {}, "parameters": [None, {"name": 3}]},
    ]
    for process in weird:
        errors = validate_process(process)
        assert errors and all(isinstance(error, OpenEOError) for error in errors)
