"""End to end: every endpoint the gateway serves, sent bad input of every kind.

Each case is one request that a client could send by mistake or on purpose: malformed
or wrongly typed JSON, missing and mistyped fields, huge numbers, deeply nested JSON,
ids that do not exist (or belong to another user) in every spelling, bad query
parameters, bad `Authorization` headers, wrong methods and content types, and process
graphs that are invalid in many ways. Every answer must come within a bounded time, be
a 4xx openEO error (or the documented success where the input is in fact valid), and,
for a refused request, leave every user's jobs, processes and files as they were.

Two users (made with `eoplex admin`) each own a job, a user-defined process and a file,
so that reaching the other user's things shows up as a changed snapshot.
"""

import json
from base64 import b64encode
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from eoplex.stack import LocalStack
from tests.openapi_validation import validate_error
from tests.test_e2e_files import new_user

# A hang fails the case instead of the session.
TIMEOUT = httpx.Timeout(30.0)
S2 = "SENTINEL2_L2A_DEMO"
EXTENT = {"west": 11.28, "south": 46.47, "east": 11.29, "north": 46.48}
DATES = ["2022-06-01", "2022-06-11"]
ALICE_UDP = "sweep_alice"
BOB_UDP = "sweep_bob"
BOB_FILE = "private/notes.txt"
# Sentinel for "send no body".
NO_BODY = object()


def load(**arguments: Any) -> dict[str, Any]:
    """A graph of `load_collection` (the demo collection by default) saved as GeoTIFF."""
    defaults = {"id": S2, "spatial_extent": EXTENT, "temporal_extent": DATES, "bands": ["B04"]}
    return {
        "load": {"process_id": "load_collection", "arguments": {**defaults, **arguments}},
        "save": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "load"}, "format": "GTiff"},
            "result": True,
        },
    }


def add(x: Any, y: Any = 1) -> dict[str, Any]:
    return {"sum": {"process_id": "add", "arguments": {"x": x, "y": y}, "result": True}}


VALID_GRAPH = add(1, 2)


def nested_list(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def nested_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def chain(length: int) -> dict[str, Any]:
    """`length` absolute nodes, each reading the one before."""
    graph: dict[str, Any] = {"n0": {"process_id": "absolute", "arguments": {"x": 1}}}
    for index in range(1, length):
        graph[f"n{index}"] = {
            "process_id": "absolute",
            "arguments": {"x": {"from_node": f"n{index - 1}"}},
        }
    graph[f"n{length - 1}"]["result"] = True
    return graph


def nested_children(depth: int) -> dict[str, Any]:
    """`apply` inside `apply`, `depth` child process graphs deep."""
    inner: dict[str, Any] = {
        "abs": {
            "process_id": "absolute",
            "arguments": {"x": {"from_parameter": "x"}},
            "result": True,
        }
    }
    for _ in range(depth):
        inner = {
            "apply": {
                "process_id": "apply",
                "arguments": {"data": {"from_parameter": "x"}, "process": {"process_graph": inner}},
                "result": True,
            }
        }
    return {
        "load": load()["load"],
        "apply": {
            "process_id": "apply",
            "arguments": {"data": {"from_node": "load"}, "process": {"process_graph": inner}},
            "result": True,
        },
    }


# Process graphs that no endpoint may accept: name -> graph (the `process_graph` member).
INVALID_GRAPHS: dict[str, Any] = {
    "graph-is-list": [],
    "graph-is-string": "load",
    "graph-is-null": None,
    "graph-empty": {},
    "node-is-number": {"a": 5},
    "node-without-process-id": {"a": {"arguments": {}, "result": True}},
    "process-id-number": {"a": {"process_id": 5, "arguments": {}, "result": True}},
    "process-id-empty": {"a": {"process_id": "", "arguments": {}, "result": True}},
    "arguments-is-list": {"a": {"process_id": "add", "arguments": [1, 2], "result": True}},
    "from-node-missing": {
        "a": {"process_id": "absolute", "arguments": {"x": {"from_node": "nope"}}, "result": True}
    },
    "from-node-number": {
        "a": {"process_id": "absolute", "arguments": {"x": {"from_node": 5}}, "result": True}
    },
    "cycle": {
        "a": {"process_id": "absolute", "arguments": {"x": {"from_node": "b"}}},
        "b": {"process_id": "absolute", "arguments": {"x": {"from_node": "a"}}, "result": True},
    },
    "self-reference": {
        "a": {"process_id": "absolute", "arguments": {"x": {"from_node": "a"}}, "result": True}
    },
    "two-result-nodes": {
        "a": {"process_id": "absolute", "arguments": {"x": 1}, "result": True},
        "b": {"process_id": "absolute", "arguments": {"x": 2}, "result": True},
    },
    "no-result-node": {"a": {"process_id": "absolute", "arguments": {"x": 1}}},
    "result-not-boolean": {"a": {"process_id": "absolute", "arguments": {"x": 1}, "result": "yes"}},
    "unknown-process": {"a": {"process_id": "no_such_process", "arguments": {}, "result": True}},
    "unknown-namespace": {
        "a": {"process_id": "absolute", "namespace": "vito", "arguments": {"x": 1}, "result": True}
    },
    "namespace-number": {
        "a": {"process_id": "absolute", "namespace": 5, "arguments": {"x": 1}, "result": True}
    },
    "namespace-url": {
        "a": {
            "process_id": "absolute",
            "namespace": "http://127.0.0.1:1/process.json",
            "arguments": {"x": 1},
            "result": True,
        }
    },
    "unknown-argument": {
        "a": {"process_id": "absolute", "arguments": {"x": 1, "z": 2}, "result": True}
    },
    "missing-argument": {"a": {"process_id": "absolute", "arguments": {}, "result": True}},
    "argument-wrong-type": {
        "a": {"process_id": "absolute", "arguments": {"x": "one"}, "result": True}
    },
    "too-many-nodes": chain(1001),
    "children-too-deep": nested_children(12),
    "collection-unknown": load(id="NO_SUCH_COLLECTION"),
    "collection-id-number": load(id=5),
    "collection-id-traversal": load(id="../../etc/passwd"),
    "extent-west-string": load(spatial_extent={**EXTENT, "west": "a"}),
    "extent-missing-north": load(spatial_extent={k: v for k, v in EXTENT.items() if k != "north"}),
    "extent-string": load(spatial_extent="everywhere"),
    "temporal-not-dates": load(temporal_extent=["soon", "later"]),
    "temporal-one-date": load(temporal_extent=["2022-06-01"]),
    "temporal-string": load(temporal_extent="2022-06"),
    "temporal-numbers": load(temporal_extent=[2022, 2023]),
    "bands-empty": load(bands=[]),
    "bands-string": load(bands="B04"),
    "bands-number": load(bands=[4]),
}

# Process graphs that match the processes' schemas but cannot run on the data: POST
# /validation may or may not report them (checking arguments against the data is
# optional), POST /jobs may store them, but POST /result must refuse them.
UNRUNNABLE_GRAPHS: dict[str, Any] = {
    # "The validation MUST NOT throw an error for unresolvable process parameters."
    "from-parameter-undeclared": {
        "a": {
            "process_id": "absolute",
            "arguments": {"x": {"from_parameter": "nope"}},
            "result": True,
        }
    },
    "extent-west-gt-east": load(spatial_extent={**EXTENT, "west": 11.3, "east": 11.2}),
    "extent-south-gt-north": load(spatial_extent={**EXTENT, "south": 46.5, "north": 46.4}),
    "extent-latitude-100": load(spatial_extent={**EXTENT, "south": 95, "north": 100}),
    "extent-huge": load(spatial_extent={**EXTENT, "west": -1e308, "east": 1e308}),
    "temporal-reversed": load(temporal_extent=["2022-07-01", "2022-06-01"]),
    "temporal-both-null": load(temporal_extent=[None, None]),
    "bands-unknown": load(bands=["B99"]),
    "save-format-unknown": {
        **load(),
        "save": {**load()["save"], "arguments": {"data": {"from_node": "load"}, "format": "EXE"}},
    },
}
# Process implementations belong to the executor's owners; these wait for them.
KNOWN_BUGS: dict[str, str] = {}


@dataclass(frozen=True)
class World:
    """The users, their bearer headers and the things each owns."""

    alice: dict[str, str]
    bob: dict[str, str]
    alice_job: str
    bob_job: str


def bearer(client: httpx.Client, user: tuple[str, str]) -> dict[str, str]:
    answer = client.get("credentials/basic", auth=user)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer basic//{answer.json()['access_token']}"}


def create_job(client: httpx.Client, headers: dict[str, str]) -> str:
    answer = client.post("jobs", headers=headers, json={"process": {"process_graph": load()}})
    assert answer.status_code == 201, answer.text
    return str(answer.headers["OpenEO-Identifier"])


def put_udp(client: httpx.Client, headers: dict[str, str], udp_id: str) -> None:
    process = {"process_graph": add({"from_parameter": "x"}), "parameters": [{"name": "x"}]}
    process["parameters"] = [{"name": "x", "description": "x", "schema": {"type": "number"}}]
    answer = client.put(f"process_graphs/{udp_id}", headers=headers, json=process)
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def client(local_stack: LocalStack) -> Iterator[httpx.Client]:
    assert local_stack.wait_for_demo_data(timeout_seconds=180)
    with httpx.Client(base_url=local_stack.api_url.rstrip("/") + "/", timeout=TIMEOUT) as client:
        yield client


@pytest.fixture(scope="module")
def world(local_stack: LocalStack, client: httpx.Client) -> World:
    alice = bearer(client, new_user(local_stack, quota_bytes=1_000_000))
    bob = bearer(client, new_user(local_stack, quota_bytes=1_000_000))
    put_udp(client, alice, ALICE_UDP)
    put_udp(client, bob, BOB_UDP)
    answer = client.put(f"files/{BOB_FILE}", headers=bob, content=b"bob's notes")
    assert answer.status_code == 200, answer.text
    return World(alice, bob, create_job(client, alice), create_job(client, bob))


def snapshot(client: httpx.Client, world: World) -> dict[str, Any]:
    """Everything a refused request must leave alone, as both users see it (read in
    parallel: it is read twice for most cases)."""
    reads = [
        (headers, path)
        for headers in (world.alice, world.bob)
        for path in ("jobs?limit=1000", "process_graphs?limit=1000", "files?limit=1000")
    ]
    reads += [(world.alice, f"jobs/{world.alice_job}"), (world.bob, f"jobs/{world.bob_job}")]
    reads += [
        (world.alice, f"process_graphs/{ALICE_UDP}"),
        (world.bob, f"process_graphs/{BOB_UDP}"),
    ]
    with ThreadPoolExecutor(max_workers=len(reads)) as pool:
        answers = list(pool.map(lambda read: client.get(read[1], headers=read[0]), reads))
    for answer in answers:
        assert answer.status_code == 200, answer.text
    return {
        f"{'alice' if headers is world.alice else 'bob'} {path}": answer.json()
        for (headers, path), answer in zip(reads, answers, strict=True)
    }


@dataclass(frozen=True)
class Case:
    """One request and the answers it may get.

    `path` is relative to the API root and may name `{alice_job}` or `{bob_job}`;
    `user` is whose token is sent (None: no `Authorization` unless `headers` has one).
    """

    id: str
    endpoint: str
    method: str
    path: str
    user: str | None = "alice"
    headers: dict[str, str | bytes] = field(default_factory=dict)
    body: Any = NO_BODY
    content: bytes | None = None
    expect: tuple[int, ...] = (400,)
    codes: tuple[str, ...] = ()
    # For POST /validation: a 200 that must list at least one error.
    invalid_process: bool = False
    # Why the case fails today, when the cause lies where this sweep may not fix it.
    known_bug: str = ""

    @classmethod
    def of(cls, kind: str, endpoint: str, path: str, **details: Any) -> "Case":
        """The case `<kind>-<endpoint>`, sent with the endpoint's method to `path`."""
        return cls(f"{kind}-{endpoint}", endpoint, endpoint.split()[0], path, **details)


JSON_HEADERS = {"Content-Type": "application/json"}

# (endpoint as `GET /` lists it, a concrete path, a valid JSON body or NO_BODY).
ENDPOINTS: list[tuple[str, str, Any]] = [
    ("GET /collections", "collections", NO_BODY),
    ("GET /collections/{collection_id}", f"collections/{S2}", NO_BODY),
    ("GET /collections/{collection_id}/items", f"collections/{S2}/items", NO_BODY),
    ("GET /collections/{collection_id}/queryables", f"collections/{S2}/queryables", NO_BODY),
    ("GET /conformance", "conformance", NO_BODY),
    ("GET /credentials/basic", "credentials/basic", NO_BODY),
    ("GET /credentials/oidc", "credentials/oidc", NO_BODY),
    ("GET /file_formats", "file_formats", NO_BODY),
    ("GET /files", "files", NO_BODY),
    ("GET /files/{path}", f"files/{BOB_FILE}", NO_BODY),
    ("PUT /files/{path}", "files/sweep.txt", NO_BODY),
    ("DELETE /files/{path}", "files/sweep.txt", NO_BODY),
    ("GET /health", "health", NO_BODY),
    ("GET /jobs", "jobs", NO_BODY),
    ("POST /jobs", "jobs", {"process": {"process_graph": VALID_GRAPH}}),
    ("GET /jobs/{job_id}", "jobs/{alice_job}", NO_BODY),
    ("PATCH /jobs/{job_id}", "jobs/{alice_job}", {"title": "x"}),
    ("DELETE /jobs/{job_id}", "jobs/{alice_job}", NO_BODY),
    ("GET /jobs/{job_id}/estimate", "jobs/{alice_job}/estimate", NO_BODY),
    ("GET /jobs/{job_id}/logs", "jobs/{alice_job}/logs", NO_BODY),
    ("GET /jobs/{job_id}/results", "jobs/{alice_job}/results", NO_BODY),
    ("POST /jobs/{job_id}/results", "jobs/{alice_job}/results", NO_BODY),
    ("DELETE /jobs/{job_id}/results", "jobs/{alice_job}/results", NO_BODY),
    ("GET /me", "me", NO_BODY),
    ("GET /process_graphs", "process_graphs", NO_BODY),
    ("GET /process_graphs/{process_graph_id}", f"process_graphs/{ALICE_UDP}", NO_BODY),
    (
        "PUT /process_graphs/{process_graph_id}",
        "process_graphs/sweep_new",
        {"process_graph": VALID_GRAPH},
    ),
    ("DELETE /process_graphs/{process_graph_id}", f"process_graphs/{ALICE_UDP}", NO_BODY),
    ("GET /processes", "processes", NO_BODY),
    ("POST /result", "result", {"process": {"process_graph": VALID_GRAPH}}),
    ("GET /service_types", "service_types", NO_BODY),
    ("GET /udf_runtimes", "udf_runtimes", NO_BODY),
    ("POST /validation", "validation", {"process_graph": VALID_GRAPH}),
    ("GET /", "", NO_BODY),
]
PUBLIC = {
    "GET /",
    "GET /collections",
    "GET /collections/{collection_id}",
    "GET /collections/{collection_id}/items",
    "GET /collections/{collection_id}/queryables",
    "GET /conformance",
    "GET /credentials/oidc",
    "GET /file_formats",
    "GET /health",
    "GET /processes",
    "GET /service_types",
    "GET /udf_runtimes",
}
AUTH_CODES = ("AuthenticationRequired", "AuthenticationSchemeInvalid", "TokenInvalid")
BAD_BEARERS: dict[str, str | None] = {
    "missing": None,
    "empty": "",
    "bearer-alone": "Bearer",
    "bearer-basic-empty": "Bearer basic//",
    "bearer-oidc-empty": "Bearer oidc//",
    "bearer-oidc-unknown-provider": "Bearer oidc/nope/abc",
    "bearer-garbage": "Bearer garbage",
    "bearer-basic-garbage": "Bearer basic//garbage",
    "basic-scheme": "Basic dXNlcjpwYXNz",
    "unknown-scheme": "Token abc",
    "bearer-8kib": "Bearer basic//" + "a" * 8192,
}
# Not ASCII, so sent as raw bytes (HTTP allows them in header values, as obs-text).
BAD_BEARER_BYTES = {"bearer-latin1": "Bearer basic//\u00e9\u00e9".encode("latin-1")}


def auth_cases() -> Iterator[Case]:
    for endpoint, path, body in ENDPOINTS:
        for name, header in {**BAD_BEARERS, **BAD_BEARER_BYTES}.items():
            headers = {} if header is None else {"Authorization": header}
            if endpoint == "GET /credentials/basic":
                continue
            if endpoint in PUBLIC:
                expect, codes = (200,), ()
            else:
                expect, codes = (401, 403), AUTH_CODES
            yield Case.of(
                f"auth-{name}",
                endpoint,
                path,
                user=None,
                headers=headers,
                body=body,
                content=b"data" if endpoint == "PUT /files/{path}" else None,
                expect=expect,
                codes=codes,
            )
    basic = {
        "missing": (None, 401, "AuthenticationRequired"),
        "basic-alone": ("Basic", 401, "AuthenticationRequired"),
        "basic-not-base64": ("Basic !!!", 401, "AuthenticationRequired"),
        "basic-no-colon": ("Basic dXNlcg==", 401, "AuthenticationRequired"),
        "basic-not-utf8": ("Basic //79", 401, "AuthenticationRequired"),
        "basic-unknown-user": ("Basic bm9ib2R5OnB3", 403, "CredentialsInvalid"),
        "bearer-scheme": ("Bearer abc", 403, "AuthenticationSchemeInvalid"),
        "basic-8kib": (
            "Basic " + b64encode(b"nobody:" + b"a" * 6000).decode(),
            403,
            "CredentialsInvalid",
        ),
    }
    for name, (header, status, code) in basic.items():
        headers = {} if header is None else {"Authorization": header}
        yield Case.of(
            f"auth-{name}",
            "GET /credentials/basic",
            "credentials/basic",
            user=None,
            headers=headers,
            expect=(status,),
            codes=(code,),
        )


def method_cases() -> Iterator[Case]:
    served: dict[str, tuple[str, set[str]]] = {}
    for endpoint, path, _ in ENDPOINTS:
        method, template = endpoint.split()
        served.setdefault(template, (path, set()))[1].add(method)
    for template, (path, methods) in served.items():
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - methods):
            yield Case(
                f"method-{method} {template}",
                f"{sorted(methods)[0]} {template}",
                method,
                path,
                body={} if method in ("POST", "PUT", "PATCH") else NO_BODY,
                expect=(405,),
            )


BODY_ENDPOINTS = [
    ("POST /validation", "validation"),
    ("POST /result", "result"),
    ("POST /jobs", "jobs"),
    ("PATCH /jobs/{job_id}", "jobs/{alice_job}"),
    ("PUT /process_graphs/{process_graph_id}", "process_graphs/sweep_new"),
]
RAW_BODIES: dict[str, bytes] = {
    "malformed-truncated": b'{"process": ',
    "malformed-brace": b"{",
    "malformed-empty": b"",
    "malformed-single-quotes": b"{'process': {}}",
    "malformed-trailing-comma": b'{"a": 1,}',
    "malformed-not-utf8": b'{"title": "\xff\xfe"}',
    "malformed-nan": b"NaN",
    "malformed-two-documents": b"{} {}",
    "type-list": b"[]",
    "type-string": b'"process"',
    "type-null": b"null",
    "type-number": b"42",
    "type-huge-number": b"1" + b"0" * 5000,
    "type-boolean": b"true",
    "nested-lists-10000": nested_list(10_000).encode(),
    "nested-objects-10000": nested_object(10_000).encode(),
    "nested-lists-10000-in-graph": (
        '{"process": {"process_graph": {"a": {"process_id": "absolute", "arguments": {"x": '
        + nested_list(10_000)
        + '}, "result": true}}}, "process_graph": {}}'
    ).encode(),
}


def body_cases() -> Iterator[Case]:
    for endpoint, path in BODY_ENDPOINTS:
        for name, raw in RAW_BODIES.items():
            yield Case.of(f"body-{name}", endpoint, path, headers=JSON_HEADERS, content=raw)
        valid = {"process": {"process_graph": VALID_GRAPH}, "process_graph": VALID_GRAPH}
        for content_type in (
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
        ):
            yield Case.of(
                f"content-type-{content_type.split(';')[0]}",
                endpoint,
                path,
                headers={"Content-Type": content_type},
                content=json.dumps(valid).encode(),
                expect=(400, 415),
            )


# Members of wrong types or values, per endpoint taking a JSON object.
def member_cases() -> Iterator[Case]:
    process = {"process_graph": VALID_GRAPH}
    job_fields: dict[str, dict[str, Any]] = {
        "title-number": {"title": 5},
        "title-object": {"title": {"a": 1}},
        "description-list": {"description": ["a"]},
        "plan-number": {"plan": 1},
        "budget-string": {"budget": "1"},
        "budget-negative": {"budget": -1},
        "budget-boolean": {"budget": True},
        "budget-huge-int": {"budget": 10**400},
        "log-level-unknown": {"log_level": "loud"},
        "log-level-number": {"log_level": 5},
        "job-options-string": {"job_options": "fast"},
        "process-null": {"process": None},
        "process-list": {"process": []},
        "process-without-graph": {"process": {"parameters": []}},
    }
    for name, members in job_fields.items():
        body = {"process": process, **members}
        yield Case.of(f"member-{name}", "POST /jobs", "jobs", body=body)
        yield Case.of(f"member-{name}", "PATCH /jobs/{job_id}", "jobs/{alice_job}", body=members)
        # POST /result defines `budget`, `plan` and `log_level`; other members are the
        # back-end's own (title, job_options, ...), which this one ignores.
        defined = name.split("-")[0] in ("budget", "plan", "log", "process")
        yield Case.of(
            f"member-{name}",
            "POST /result",
            "result",
            body=body,
            expect=(400,) if defined else (200,),
        )
    # Raw, because Python's json writes 1e400 as Infinity.
    for name, text in {"budget-1e400": "1e400", "budget-infinity": "Infinity"}.items():
        graph = json.dumps({"process_graph": VALID_GRAPH})
        raw = f'{{"process": {graph}, "budget": {text}}}'
        for endpoint, path in (("POST /jobs", "jobs"), ("POST /result", "result")):
            yield Case.of(
                f"member-{name}", endpoint, path, headers=JSON_HEADERS, content=raw.encode()
            )
        yield Case.of(
            f"member-{name}",
            "PATCH /jobs/{job_id}",
            "jobs/{alice_job}",
            headers=JSON_HEADERS,
            content=f'{{"budget": {text}}}'.encode(),
        )
    missing = {
        "POST /jobs": ("jobs", {"title": "no process"}),
        "POST /result": ("result", {"budget": 1}),
        "PUT /process_graphs/{process_graph_id}": ("process_graphs/sweep_new", {"summary": "x"}),
        "POST /validation": ("validation", {"summary": "x"}),
    }
    for endpoint, (path, body) in missing.items():
        if endpoint == "POST /validation":
            yield Case.of(
                "missing-process-graph",
                endpoint,
                path,
                body=body,
                expect=(200,),
                invalid_process=True,
            )
        else:
            yield Case.of(
                "missing-process-graph", endpoint, path, body=body, codes=("ProcessGraphMissing",)
            )
    udp_fields: dict[str, dict[str, Any]] = {
        "summary-number": {"summary": 5},
        "description-list": {"description": ["a"]},
        "parameters-string": {"parameters": "x"},
        "parameter-name-number": {"parameters": [{"name": 5, "description": "", "schema": {}}]},
        "parameter-not-object": {"parameters": [5]},
        "returns-string": {"returns": "x"},
        "categories-string": {"categories": "math"},
        "deprecated-string": {"deprecated": "yes"},
        "experimental-number": {"experimental": 1},
        "exceptions-list": {"exceptions": ["x"]},
        "links-string": {"links": "x"},
    }
    # "If the values don't match, the value for `id` gets replaced" by the path's.
    yield Case.of(
        "member-id-number",
        "PUT /process_graphs/{process_graph_id}",
        "process_graphs/sweep_new",
        body={"process_graph": VALID_GRAPH, "id": 5},
        expect=(200,),
    )
    for name, members in udp_fields.items():
        yield Case.of(
            f"member-{name}",
            "PUT /process_graphs/{process_graph_id}",
            "process_graphs/sweep_new",
            body={"process_graph": VALID_GRAPH, **members},
            codes=("ProcessInvalid", "BadRequest"),
        )


def graph_cases() -> Iterator[Case]:
    for name, graph in INVALID_GRAPHS.items():
        process = {"process_graph": graph}
        yield Case.of(
            f"graph-{name}",
            "POST /validation",
            "validation",
            body=process,
            expect=(200,),
            invalid_process=True,
        )
        yield Case.of(
            f"graph-{name}", "POST /result", "result", body={"process": process}, expect=(400, 404)
        )
        yield Case.of(
            f"graph-{name}", "POST /jobs", "jobs", body={"process": process}, expect=(400, 404)
        )
        yield Case.of(
            f"graph-{name}",
            "PATCH /jobs/{job_id}",
            "jobs/{alice_job}",
            body={"process": process},
            expect=(400, 404),
        )
        yield Case.of(
            f"graph-{name}",
            "PUT /process_graphs/{process_graph_id}",
            "process_graphs/sweep_new",
            body=process,
            expect=(400, 404),
        )
    for name, graph in UNRUNNABLE_GRAPHS.items():
        process = {"process_graph": graph}
        yield Case.of(
            f"graph-{name}", "POST /validation", "validation", body=process, expect=(200,)
        )
        yield Case.of(
            f"graph-{name}",
            "POST /result",
            "result",
            body={"process": process},
            expect=(400, 404),
            known_bug=KNOWN_BUGS.get(name, ""),
        )


# Ids that name nothing of the caller's, as they may appear in a URL path.
BAD_IDS = {
    "zero": "0",
    "dash": "-",
    "space": "%20",
    "long": "x" * 4000,
    "slash-escaped": "a%2Fb",
    "dotdot-escaped": "%2E%2E",
    "traversal-escaped": "..%2F..%2Fme",
    "unicode": "%C3%A9t%C3%A9",
    "emoji": "%F0%9F%9B%B0",
    "nul": "a%00b",
    "newline": "a%0Ab",
    "delete-char": "%7F",
    "invalid-utf8": "%FF%FE",
    "mongo-operator": "%24where",
    "json-object": "%7B%22%24ne%22%3A1%7D",
}

# The endpoints of one job that take no body, with what follows the job id in their path.
JOB_ENDPOINTS = [
    ("GET /jobs/{job_id}", ""),
    ("DELETE /jobs/{job_id}", ""),
    ("GET /jobs/{job_id}/results", "/results"),
    ("POST /jobs/{job_id}/results", "/results"),
    ("DELETE /jobs/{job_id}/results", "/results"),
    ("GET /jobs/{job_id}/logs", "/logs"),
    ("GET /jobs/{job_id}/estimate", "/estimate"),
]


def id_cases() -> Iterator[Case]:
    for name, bad in BAD_IDS.items():
        for endpoint, suffix in JOB_ENDPOINTS:
            yield Case.of(
                f"id-{name}",
                endpoint,
                f"jobs/{bad}{suffix}",
                expect=(400, 404),
                codes=("JobNotFound", "NotFound", "BadRequest"),
            )
        yield Case.of(
            f"id-{name}",
            "PATCH /jobs/{job_id}",
            f"jobs/{bad}",
            body={"title": "x"},
            expect=(400, 404),
            codes=("JobNotFound", "NotFound", "BadRequest"),
        )
        for endpoint in (
            "GET /process_graphs/{process_graph_id}",
            "DELETE /process_graphs/{process_graph_id}",
        ):
            yield Case.of(
                f"id-{name}",
                endpoint,
                f"process_graphs/{bad}",
                expect=(400, 404),
                codes=("ProcessGraphNotFound", "ProcessInvalid", "NotFound", "BadRequest"),
            )
        if name == "long":
            # `^\w+$` and no limit on the length: a valid id.
            yield Case.of(
                f"id-{name}",
                "PUT /process_graphs/{process_graph_id}",
                f"process_graphs/{bad}",
                body={"process_graph": VALID_GRAPH},
                expect=(200,),
            )
        elif name != "zero":
            yield Case.of(
                f"id-{name}",
                "PUT /process_graphs/{process_graph_id}",
                f"process_graphs/{bad}",
                body={"process_graph": VALID_GRAPH},
                expect=(400, 404),
                codes=("ProcessInvalid", "NotFound"),
            )
        for endpoint, suffix in (
            ("GET /collections/{collection_id}", ""),
            ("GET /collections/{collection_id}/items", "/items"),
            ("GET /collections/{collection_id}/queryables", "/queryables"),
        ):
            yield Case.of(
                f"id-{name}",
                endpoint,
                f"collections/{bad}{suffix}",
                user=None,
                expect=(400, 404),
                codes=("CollectionNotFound", "NotFound", "BadRequest"),
            )
    predefined = ("load_collection", "add")
    for process_id in predefined:
        yield Case.of(
            f"id-predefined-{process_id}",
            "PUT /process_graphs/{process_graph_id}",
            f"process_graphs/{process_id}",
            body={"process_graph": VALID_GRAPH},
            codes=("PredefinedProcessExists",),
        )


def other_user_cases() -> Iterator[Case]:
    """Alice reaching for Bob's job, process and file: as if they did not exist."""
    for endpoint, suffix in JOB_ENDPOINTS:
        yield Case.of(
            "other-user",
            endpoint,
            f"jobs/{{bob_job}}{suffix}",
            expect=(404,),
            codes=("JobNotFound",),
        )
    yield Case.of(
        "other-user",
        "PATCH /jobs/{job_id}",
        "jobs/{bob_job}",
        body={"title": "mine now"},
        expect=(404,),
        codes=("JobNotFound",),
    )
    for endpoint in (
        "GET /process_graphs/{process_graph_id}",
        "DELETE /process_graphs/{process_graph_id}",
    ):
        yield Case.of(
            "other-user",
            endpoint,
            f"process_graphs/{BOB_UDP}",
            expect=(404,),
            codes=("ProcessGraphNotFound",),
        )
    for endpoint in ("GET /files/{path}", "DELETE /files/{path}"):
        yield Case.of(
            "other-user", endpoint, f"files/{BOB_FILE}", expect=(404,), codes=("FileNotFound",)
        )
    # Bob's UDP by its id with the `user` namespace, from Alice's graph: not found.
    graph = {
        "a": {"process_id": BOB_UDP, "namespace": "user", "arguments": {"x": 1}, "result": True}
    }
    yield Case.of(
        "other-user-udp",
        "POST /result",
        "result",
        body={"process": {"process_graph": graph}},
        codes=("ProcessUnsupported",),
    )


def file_path_cases() -> Iterator[Case]:
    bad_paths = {
        "traversal": "..%2F..%2Fetc%2Fpasswd",
        "dotdot": "a/%2E%2E/%2E%2E/b",
        "absolute": "%2Fetc%2Fpasswd",
        "nul": "a%00b",
        "newline": "a%0Ab",
        "backslash": "a%5C..%5Cb",
        "long": "x" * 4000,
        "invalid-utf8": "%FF%FE",
    }
    for name, path in bad_paths.items():
        for method in ("GET", "DELETE", "PUT"):
            yield Case.of(
                f"file-path-{name}",
                f"{method} /files/{{path}}",
                f"files/{path}",
                content=b"x" if method == "PUT" else None,
                expect=(400, 404),
                codes=("FilePathInvalid", "FileNotFound", "NotFound", "BadRequest"),
            )


# `GET /processes` is not paged: it lists every process whatever the query says.
QUERY_ENDPOINTS = [
    ("GET /jobs", "jobs", None),
    ("GET /process_graphs", "process_graphs", None),
    ("GET /collections", "collections", None),
    ("GET /files", "files", None),
    ("GET /collections/{collection_id}/items", f"collections/{S2}/items", None),
    ("GET /jobs/{job_id}/logs", "jobs/{alice_job}/logs", None),
]
BAD_QUERIES = {
    "limit-negative": "limit=-1",
    "limit-zero": "limit=0",
    "limit-text": "limit=abc",
    "limit-huge": f"limit={10**30}",
    "limit-fraction": "limit=1.5",
    "limit-empty": "limit=",
    "limit-twice-bad": "limit=1&limit=x",
    "token-unknown": "token=garbage",
    "token-base64-json": "token=eyJvZmZzZXQiOiAtMX0%3D",
    "token-long": "token=" + "x" * 3000,
    "token-nul": "token=a%00b",
    "token-invalid-utf8": "token=%FF%FE",
}
ITEM_QUERIES = {
    "bbox-text": "bbox=abc",
    "bbox-three": "bbox=1,2,3",
    "bbox-nan": "bbox=nan,nan,nan,nan",
    "bbox-inf": "bbox=-inf,-90,inf,90",
    "bbox-latitude-100": "bbox=0,95,1,100",
    "bbox-south-gt-north": "bbox=0,50,1,40",
    "datetime-text": "datetime=yesterday",
    "datetime-month-13": "datetime=2022-13-01T00:00:00Z",
    "datetime-no-zone": "datetime=2022-06-01T00:00:00",
    "datetime-open-both": "datetime=../..",
    "datetime-reversed": "datetime=2022-07-01T00:00:00Z/2022-06-01T00:00:00Z",
    "datetime-year-0": "datetime=0000-01-01T00:00:00Z",
    "datetime-year-huge": "datetime=99999-01-01T00:00:00Z",
}
LOG_QUERIES = {
    "level-unknown": "level=loud",
    "level-long": "level=" + "x" * 100,
    "offset-unknown": "offset=garbage",
}


def query_cases() -> Iterator[Case]:
    for endpoint, path, _ in QUERY_ENDPOINTS:
        extra = {}
        if endpoint == "GET /collections/{collection_id}/items":
            extra = ITEM_QUERIES
        if endpoint == "GET /jobs/{job_id}/logs":
            extra = LOG_QUERIES
        for name, query in {**BAD_QUERIES, **extra}.items():
            if endpoint == "GET /jobs/{job_id}/logs" and name.startswith("token"):
                query = query.replace("token=", "offset=")
            yield Case.of(
                f"query-{name}",
                endpoint,
                f"{path}?{query}",
                user=None if endpoint in PUBLIC else "alice",
            )


# The results of a job by signed link (no authentication): the link's query as sent.
SHARED_RESULTS = [
    ("GET /jobs/{job_id}/results/signed", "/results/signed"),
    ("GET /jobs/{job_id}/results/signed/{asset}", "/results/signed/result.tif"),
]
BAD_LINK_QUERIES = {
    "link-none": "",
    "link-no-signature": "?expires=4102444800",
    "link-no-expires": "?signature=abc",
    "link-expires-text": "?expires=soon&signature=abc",
    "link-expires-negative": "?expires=-1&signature=abc",
    "link-expires-huge": "?expires=1" + "0" * 40 + "&signature=abc",
    "link-signature-long": "?expires=4102444800&signature=" + "a" * 500,
}
FORGED_LINK = "?expires=4102444800&signature=" + "0" * 64


def shared_result_cases() -> Iterator[Case]:
    for endpoint, suffix in SHARED_RESULTS:
        for name, query in BAD_LINK_QUERIES.items():
            yield Case.of(name, endpoint, f"jobs/{{alice_job}}{suffix}{query}", user=None)
        for user in ("alice", "bob", None):
            yield Case.of(
                f"link-forged-by-{user}",
                endpoint,
                f"jobs/{{alice_job}}{suffix}{FORGED_LINK}",
                user=user,
                expect=(403,),
                codes=("PermissionsInsufficient",),
            )
        for name, bad in BAD_IDS.items():
            yield Case.of(
                f"link-id-{name}",
                endpoint,
                f"jobs/{bad}{suffix}{FORGED_LINK}",
                user=None,
                expect=(400, 403, 404),
                codes=("PermissionsInsufficient", "NotFound", "BadRequest"),
            )
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            yield Case(
                f"method-{method} {endpoint}",
                endpoint,
                method,
                f"jobs/{{alice_job}}{suffix}{FORGED_LINK}",
                user=None,
                expect=(405,),
            )


def all_cases() -> list[Case]:
    cases = [
        *shared_result_cases(),
        *auth_cases(),
        *method_cases(),
        *body_cases(),
        *member_cases(),
        *graph_cases(),
        *id_cases(),
        *other_user_cases(),
        *file_path_cases(),
        *query_cases(),
    ]
    ids = [case.id for case in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases


CASES = all_cases()


def send(client: httpx.Client, world: World, case: Case) -> httpx.Response:
    headers = {"alice": world.alice, "bob": world.bob, None: {}}[case.user] | case.headers
    path = case.path.replace("{alice_job}", world.alice_job).replace("{bob_job}", world.bob_job)
    request = client.build_request(case.method, path, headers=headers)
    if case.body is not NO_BODY:
        request = client.build_request(case.method, path, headers=headers, json=case.body)
    elif case.content is not None:
        request = client.build_request(case.method, path, headers=headers, content=case.content)
    return client.send(request)


def marked(case: Case) -> Any:
    if not case.known_bug:
        return case
    return pytest.param(case, marks=pytest.mark.xfail(strict=True, reason=case.known_bug))


@pytest.mark.parametrize("case", [marked(case) for case in CASES], ids=[case.id for case in CASES])
def test_bad_input_is_refused(client: httpx.Client, world: World, case: Case) -> None:
    changes = case.method != "GET" and not case.invalid_process and case.expect != (200,)
    before = snapshot(client, world) if changes else None

    answer = send(client, world, case)

    assert answer.status_code in case.expect, f"{answer.status_code}: {answer.text[:500]}"
    if answer.status_code >= 400:
        body = answer.json()
        validate_error(body)
        if case.codes:
            assert body["code"] in case.codes, body
    if case.invalid_process:
        assert answer.json()["errors"], "POST /validation found nothing wrong"
    if before is not None:
        assert snapshot(client, world) == before, "a refused request changed something"


def test_every_served_endpoint_is_swept(client: httpx.Client) -> None:
    answer = client.get("")
    assert answer.status_code == 200
    served = {
        f"{method} {endpoint['path']}"
        for endpoint in answer.json()["endpoints"]
        for method in endpoint["methods"]
    }
    swept = {case.endpoint for case in CASES}
    assert served - {"GET /"} <= swept, sorted(served - swept)
