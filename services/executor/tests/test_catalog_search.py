"""load_collection over the real data-discovery service (gRPC, MongoDB): the property
conditions the catalog can apply go with the search, so it returns only matching items,
and the cube is the one the executor's own filter gives."""

import asyncio
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eoplex_executor.engine.cube import RasterCube
from eoplex_executor.engine.environment import ItemSearch
from eoplex_executor.engine.graph import Callback, Scope
from eoplex_executor.io.clients import GrpcCatalog
from eoplex_executor.processes.loading import catalog_property_filter
from services.executor.tests.catalog import S2_RULES, CatalogInFront, LocalCatalog, write_geotiff
from services.executor.tests.cubes import child_graph, make_environment, run_graph
from tests.data_discovery_server import RunningDataDiscovery, register

# Twenty dates, cloud cover 0, 5, ..., 95 %.
DATES = [f"202206{day:02d}" for day in range(1, 21)]
VALUE = {"from_parameter": "value"}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> LocalCatalog:
    folder = tmp_path_factory.mktemp("s2")
    rng = np.random.default_rng(3)
    for index, date in enumerate(DATES):
        values = rng.integers(1, 10000, size=(16, 16), dtype=np.uint16)
        cloud_cover = {"CLOUD_COVER": str(5.0 * index)}
        write_geotiff(folder / f"S2_{date}_B04.tif", values, tags=cloud_cover)
    return LocalCatalog.from_folder(folder, collection_id="S2", rules=S2_RULES)


@dataclass
class CountingCatalog(CatalogInFront):
    """The executor's gRPC catalog client, keeping the ids of the items searches returned."""

    returned: list[str] = field(default_factory=list)

    def search_items(self, search: ItemSearch) -> list[dict[str, Any]]:
        items = super().search_items(search)
        self.returned += [item["id"] for item in items]
        return items


def _load(catalog: Any, tmp_path: Path, properties: dict[str, Any]) -> RasterCube:
    env = make_environment(tmp_path, catalog=catalog)
    arguments = {"id": "S2", "spatial_extent": None, "temporal_extent": None}
    node = {"process_id": "load_collection", "arguments": {**arguments, "properties": properties}}
    cube = run_graph({"load": {**node, "result": True}}, env)
    assert isinstance(cube, RasterCube)
    return cube


def _day(label: str) -> int:
    return int(label[8:10])


@pytest.mark.parametrize(
    ("condition", "days", "fetched"),
    [
        (child_graph("lte", x=VALUE, y=20), [1, 2, 3, 4, 5], 5),
        (child_graph("gt", x=20, y=VALUE), [1, 2, 3, 4], 4),
        (child_graph("between", x=VALUE, min=10, max=20, exclude_max=True), [3, 4], 2),
        (child_graph("eq", x=VALUE, y=45), [10], 1),
        (child_graph("neq", x=VALUE, y=45), [d for d in range(1, 21) if d != 10], 19),
        # Not a single comparison with a number: the executor filters all twenty alone.
        (
            {
                "process_graph": {
                    "low": {"process_id": "lte", "arguments": {"x": VALUE, "y": 10}},
                    "and": {
                        "process_id": "and",
                        "arguments": {"x": {"from_node": "low"}, "y": True},
                        "result": True,
                    },
                }
            },
            [1, 2, 3],
            20,
        ),
        (child_graph("eq", x=VALUE, y=45, delta=5), [9, 10, 11], 20),
    ],
)
async def test_cloud_cover_conditions_go_to_the_catalog_and_the_cube_is_unchanged(
    data_discovery: RunningDataDiscovery,
    local: LocalCatalog,
    tmp_path: Path,
    condition: dict[str, Any],
    days: list[int],
    fetched: int,
) -> None:
    await register(data_discovery.stub, local.collections["S2"], local.items["S2"])
    client = GrpcCatalog(data_discovery.address, timeout_seconds=10)
    counting = CountingCatalog(client)
    properties = {"eo:cloud_cover": condition}
    try:
        cube = await asyncio.to_thread(_load, counting, tmp_path, properties)
        values = await asyncio.to_thread(lambda: cube.data.values)
    finally:
        client.close()
    assert len(counting.returned) == fetched
    assert [_day(label) for label in cube.labels("t")] == days
    # The same cube as the executor's own filter over every item gives.
    everything = _load(_Unfiltered(local), tmp_path, properties)
    assert everything.labels("t") == cube.labels("t")
    np.testing.assert_array_equal(everything.data.values, values)


class _Unfiltered(CatalogInFront):
    """A catalog that ignores property filters, as the search did before they were sent."""

    def search_items(self, search: ItemSearch) -> list[dict[str, Any]]:
        return super().search_items(replace(search, property_filter={}))


def _callback(process_id: str, **arguments: Any) -> Callback:
    graph = child_graph(process_id, **arguments)["process_graph"]
    return Callback(graph, Scope({}), None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "condition", "expected"),
    [
        ("eo:cloud_cover", _callback("gte", x=VALUE, y=0.5), {"gte": 0.5}),
        ("eo:cloud_cover", _callback("lt", x=3, y=VALUE), {"gt": 3}),
        ("eo:cloud_cover", _callback("between", x=VALUE, min=1, max=2), {"gte": 1, "lte": 2}),
        ("eo:cloud_cover", _callback("eq", x=VALUE, y=1, case_sensitive=False), {"eq": 1}),
        # Left to the executor: strings, booleans, null, other parameters, two properties,
        # arguments the process rejects, names the catalog cannot filter on, plain callables.
        ("platform", _callback("eq", x=VALUE, y="sentinel-2a"), None),
        ("flag", _callback("eq", x=VALUE, y=True), None),
        ("eo:cloud_cover", _callback("lte", x=VALUE, y=None), None),
        ("eo:cloud_cover", _callback("lte", x=VALUE, y={"from_parameter": "max"}), None),
        ("eo:cloud_cover", _callback("lte", x=VALUE, y=VALUE), None),
        ("eo:cloud_cover", _callback("lte", x=VALUE, y=1, z=2), None),
        ("eo:cloud_cover", _callback("between", x=VALUE, min=1, max=2, exclude_max=1), None),
        ("view.sun", _callback("lte", x=VALUE, y=1), None),
        ("$where", _callback("lte", x=VALUE, y=1), None),
        ("eo:cloud_cover", lambda value: value <= 20, None),
    ],
)
def test_which_conditions_the_catalog_applies(name: str, condition: Any, expected: Any) -> None:
    pushed = catalog_property_filter({name: condition})
    assert pushed == ({name: expected} if expected is not None else {})
