"""`make bench` section: the maximum NDVI of a collection behind a STAC API, over HTTP.

The benchmark's 12 dates x 2 bands of 2048 x 2048 COGs (`bench.data`) are served by the
test STAC API server (`tests.stac_api_server`, Earth Search flavour, one item per date,
assets `red` and `nir` with `raster:bands` scale 0.0001, offset 0), which delays every
request by `LATENCY_MS`. A local stack of the data-discovery service alone (with its
MongoDB, NATS and S3; upstream search cache off, so every run searches upstream)
registers it with `eoplex admin collections add-stac-api`. Measured, interleaved,
`repetitions` times each:

- the floor (`bench.floor` on the items' `/vsicurl/` URLs: rasterio, one strip per
  thread);
- the executor (`bench.executor_run --data-discovery`: `load_collection` of the
  registered collection through the catalog's gRPC API, the upstream item search
  included, then NDVI and the maximum over time);

both in processes of their own with the same GDAL settings (the executor's
`REMOTE_COG_OPTIONS`, the bench's block cache) and the same number of threads. For each:
work time, and the HTTP requests and bytes the STAC API server answered
(`StacApi.stats`, the catalog's upstream searches included), with the ratios executor /
floor. Then the executor's item search of a registered collection of 10,000 upstream
items (10 upstream pages of the executor's page size), timed with the same latency.

Targets (the issue's): work time <= 1.3x the floor, requests and bytes <= 1.2x. Ratios
measured in the same run, never assertions.
"""

import json
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from pyproj import Transformer

from bench.data import BANDS, DATES, EPSG, RESOLUTION, SIZE, dates, file_name, transform
from bench.end_to_end import admin
from eoplex.servers import free_port
from eoplex.stack import LocalStack, StackConfig
from eoplex_executor.engine.environment import ItemSearch
from eoplex_executor.io.clients import GrpcCatalog
from eoplex_executor.io.gdal import REMOTE_COG_OPTIONS
from tests.stac_api_data import COG_TYPE, MANY_COUNT, SCALE, write_collection_file
from tests.stac_api_server import StacApi, serve_stac_api

LATENCY_MS = 20
API = "earth-search"
UPSTREAM_COLLECTION = "bench-s2"
MANY_COLLECTION = "bench-s2-many"
COLLECTION_ID = "BENCH_S2_STAC"
MANY_ID = "BENCH_S2_STAC_MANY"
CATALOG_TIMEOUT_SECONDS = 120.0
ASSETS = {"B04": "red", "B08": "nir"}  # file band -> asset key
TARGETS = {"work": 1.3, "requests": 1.2, "bytes": 1.2}


def gdal_settings() -> dict[str, str]:
    """The GDAL settings both sides read with (on top of the bench's own environment)."""
    return dict(REMOTE_COG_OPTIONS)


def footprint() -> tuple[list[float], dict[str, Any]]:
    """The WGS84 bbox and polygon of the data's grid."""
    west, north = transform().c, transform().f
    east, south = west + SIZE * RESOLUTION, north - SIZE * RESOLUTION
    to_wgs84 = Transformer.from_crs(EPSG, 4326, always_xy=True)
    bbox = [round(v, 7) for v in to_wgs84.transform_bounds(west, south, east, north)]
    corners = [(west, south), (east, south), (east, north), (west, north), (west, south)]
    ring = [[round(v, 7) for v in to_wgs84.transform(x, y)] for x, y in corners]
    return bbox, {"type": "Polygon", "coordinates": [ring]}


def asset_fields(key: str) -> dict[str, Any]:
    """An Earth Search reflectance asset's fields (without href and `proj:*`)."""
    return {
        "type": COG_TYPE,
        "roles": ["data", "reflectance"],
        "eo:bands": [{"name": key, "common_name": key}],
        "raster:bands": [{"nodata": 0, "data_type": "uint16", "scale": SCALE, "offset": 0.0}],
    }


def bench_items() -> list[dict[str, Any]]:
    """One Earth-Search-like item per date, its assets the data folder's files."""
    bbox, geometry = footprint()
    items = []
    for index, instant in enumerate(dates()):
        assets = {
            key: asset_fields(key)
            | {
                "href": f"files/{file_name(instant, band)}",
                "proj:shape": [SIZE, SIZE],
                "proj:transform": list(transform())[:6],
            }
            for band, key in ASSETS.items()
        }
        properties = {
            "datetime": f"{instant:%Y-%m-%d}T10:30:00Z",
            "eo:cloud_cover": float(index * 7 % 50),
            "proj:epsg": EPSG,
        }
        items.append(
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": f"S2B_32TMT_{instant:%Y%m%d}_0_L2A",
                "collection": UPSTREAM_COLLECTION,
                "bbox": bbox,
                "geometry": geometry,
                "properties": properties,
                "assets": assets,
                "links": [],
            }
        )
    return items


def bench_collection(collection_id: str) -> dict[str, Any]:
    bbox, _ = footprint()
    first, last = dates()[0], dates()[-1]
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": collection_id,
        "description": "The benchmark's Sentinel-2-like COGs",
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [bbox]},
            "temporal": {
                "interval": [[f"{first:%Y-%m-%d}T00:00:00Z", f"{last:%Y-%m-%d}T23:59:59Z"]]
            },
        },
        "item_assets": {key: asset_fields(key) for key in ASSETS.values()},
        "links": [],
    }


def write_api_folder(data: Path, folder: Path) -> Path:
    """The server's folder: `files` (the data folder) and the collection files."""
    folder.mkdir(parents=True, exist_ok=True)
    files = folder / "files"
    if files.is_symlink() or files.exists():
        files.unlink()
    files.symlink_to(data.absolute(), target_is_directory=True)
    collection = bench_collection(UPSTREAM_COLLECTION)
    write_collection_file(folder, API, collection, bench_items())
    many = bench_collection(MANY_COLLECTION)
    write_collection_file(folder, API, many, copies_of=(UPSTREAM_COLLECTION, MANY_COUNT))
    return folder


def floor_hrefs(api: StacApi, path: Path) -> None:
    """The `/vsicurl/` URLs of every date's red and NIR assets, date by date, as the floor
    reads them (from one search, before the measured runs)."""
    parameters: dict[str, str | int] = {"collections": UPSTREAM_COLLECTION, "limit": 100}
    found = httpx.get(api.earth_search + "search", params=parameters, timeout=60).json()
    items = sorted(found["features"], key=lambda item: item["properties"]["datetime"])
    assert len(items) == DATES, f"the API found {len(items)} items, not {DATES}"
    pairs = [[f"/vsicurl/{item['assets'][k]['href']}" for k in ASSETS.values()] for item in items]
    path.write_text(json.dumps(pairs))


def graph() -> dict[str, Any]:
    """NDVI, maximum over time, GTiff of the external collection, as the client writes it."""
    from openeo.rest.datacube import DataCube

    cube = DataCube.load_collection(COLLECTION_ID, connection=None, bands=list(ASSETS.values()))
    result: DataCube = cube.ndvi(nir="nir", red="red").max_time().save_result("GTiff")
    flat: dict[str, Any] = result.flat_graph()
    return flat


@contextmanager
def catalog_stack(env: Mapping[str, str]) -> Iterator[LocalStack]:
    """The data-discovery service alone, on a stack of its own, its search cache off."""
    state_dir = Path(tempfile.mkdtemp(prefix="bench-stac-api-"))
    config = StackConfig(
        port=free_port(),
        state_dir=state_dir,
        demo_password=secrets.token_urlsafe(12),
        services=("data-discovery",),
        gateway=False,
        extra_env={**env, "OPENEO_DATA_DISCOVERY_SEARCH_CACHE_SECONDS": "0"},
    )
    stack = LocalStack(config=config)
    try:
        stack.start()
        # The demo collections are generated in the background: let them finish first.
        stack.wait_for_demo_data(timeout_seconds=300)
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


def measure_search(api: StacApi, address: str) -> dict[str, Any]:
    """The executor's item search of the registered collection of `MANY_COUNT` upstream
    items, with the latency."""
    catalog = GrpcCatalog(address, timeout_seconds=CATALOG_TIMEOUT_SECONDS)
    search = ItemSearch(
        collection_id=MANY_ID,
        bbox=None,
        bbox_crs="",
        start="",
        end="",
        bands=list(ASSETS.values()),
        property_filter={},
    )
    api.reset()
    api.set_latency(LATENCY_MS)
    start = time.perf_counter()
    items = catalog.search_items(search)
    seconds = time.perf_counter() - start
    stats = api.stats()
    return {"items": len(items), "seconds": seconds, "requests": stats["requests"]}


def measure_stac_api(
    data: Path,
    work: Path,
    *,
    repetitions: int,
    threads: int,
    run_child: Callable[[list[str], Mapping[str, str]], Any],
    check: Callable[[Path], dict[str, Any]],
    env: Mapping[str, str],
) -> dict[str, Any]:
    """The section's figures (see the module). `run_child(argv, env)` runs and measures a
    child; `check(output)` compares a result with the bench's reference; `env` is the
    stack's environment."""
    folder = write_api_folder(data, work.parent / "stac_api")
    graph_path = work / "stac_api_graph.json"
    graph_path.write_text(json.dumps(graph(), indent=1))
    hrefs = work / "stac_api_hrefs.json"
    settings = gdal_settings()
    sides: dict[str, list[Any]] = {"floor": [], "executor": []}
    traffic: dict[str, list[dict[str, Any]]] = {"floor": [], "executor": []}
    with serve_stac_api(folder) as api, catalog_stack(env) as stack:
        admin(stack, "collections", "add-stac-api", api.earth_search, UPSTREAM_COLLECTION,
              "--id", COLLECTION_ID)  # fmt: skip
        admin(stack, "collections", "add-stac-api", api.earth_search, MANY_COLLECTION,
              "--id", MANY_ID)  # fmt: skip
        address = stack.env["OPENEO_DATA_DISCOVERY_ADDRESS"]
        floor_hrefs(api, hrefs)
        argv = {
            "floor": ["bench.floor", str(hrefs), str(work / "stac_api_floor.tif")],
            "executor": [
                "bench.executor_run",
                str(data),
                str(graph_path),
                str(work / "stac_api_executor.tif"),
                "--data-discovery",
                address,
            ],
        }
        for _ in range(repetitions):
            for side in ("floor", "executor"):
                api.reset()
                api.set_latency(LATENCY_MS)
                sides[side].append(run_child([*argv[side], "--threads", str(threads)], settings))
                traffic[side].append(api.stats())
        search = measure_search(api, address)
    return summary(sides, traffic, search, check, work)


def summary(
    sides: dict[str, list[Any]],
    traffic: dict[str, list[dict[str, Any]]],
    search: dict[str, Any],
    check: Callable[[Path], dict[str, Any]],
    work: Path,
) -> dict[str, Any]:
    figures: dict[str, Any] = {"latency_ms": LATENCY_MS, "dates": DATES, "bands": len(BANDS)}
    for side in ("floor", "executor"):
        figures[side] = {
            "seconds": statistics.median(run.seconds for run in sides[side]),
            "requests": statistics.median(stats["requests"] for stats in traffic[side]),
            "bytes": statistics.median(stats["bytes"] for stats in traffic[side]),
            "runs_seconds": [run.seconds for run in sides[side]],
            "by_path": traffic[side][-1]["by_path"],
        }
    floor, executor = figures["floor"], figures["executor"]
    figures["ratios"] = {
        "work": executor["seconds"] / floor["seconds"],
        "requests": executor["requests"] / floor["requests"],
        "bytes": executor["bytes"] / floor["bytes"],
    }
    figures["search"] = search
    figures["correctness"] = {
        side: check(work / f"stac_api_{side}.tif") for side in ("floor", "executor")
    }
    return figures


def lines(figures: dict[str, Any]) -> list[str]:
    """The section's rows of the bench table."""
    floor, executor, ratios = figures["floor"], figures["executor"], figures["ratios"]
    verdicts = {
        name: "ok" if ratios[name] <= target else "MISSED" for name, target in TARGETS.items()
    }
    search = figures["search"]
    rows = [
        f"STAC API over HTTP ({figures['latency_ms']} ms per request, {figures['dates']} dates "
        f"x {figures['bands']} bands of {SIZE}x{SIZE}):",
        f"{'  work time, median (s)':34}{floor['seconds']:12.2f}{executor['seconds']:12.2f}"
        f"{ratios['work']:9.2f}  <= {TARGETS['work']} {verdicts['work']}",
        f"{'  HTTP requests':34}{floor['requests']:12.0f}{executor['requests']:12.0f}"
        f"{ratios['requests']:9.2f}  <= {TARGETS['requests']} {verdicts['requests']}",
        f"{'  HTTP bytes (MiB)':34}{floor['bytes'] / 2**20:12.1f}"
        f"{executor['bytes'] / 2**20:12.1f}{ratios['bytes']:9.2f}  <= {TARGETS['bytes']} "
        f"{verdicts['bytes']}",
        f"  item search of {search['items']} upstream items: {search['seconds']:.2f} s in "
        f"{search['requests']} requests",
    ]
    for side, check in figures["correctness"].items():
        rows.append(
            f"  correctness {side + ':':10} max |diff| vs float64 = {check['max_abs_diff']!s:<24}"
            f"masks identical: {check['masks_identical']}, grid identical: {check['same_grid']}"
        )
    return rows
