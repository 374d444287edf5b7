"""Validation of a process graph against the metadata of the collections it loads.

`POST /validation` would otherwise accept what only execution refuses: a band the
collection does not have (in `load_collection`'s `bands`, and in the `ndvi` or
`filter_bands` its cube reaches), a property filter on a property no item of the
collection has, and extents outside the collection's. These checks read only literal
arguments of the top-level graph, and follow a cube's bands only through processes
that keep them; whatever they cannot determine they accept, so the executor stays the
judge of the rest. Like `eoplex_common.process_graph`, they never raise for bad input.

The problems are the executor's own errors for the same arguments: ProcessParameterInvalid
naming the band or property, `ndvi`'s NirBandAmbiguous and RedBandAmbiguous naming its band,
and `load_collection`'s NoDataAvailable for extents outside the collection's.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeGuard

from eoplex_common.errors import (
    NirBandAmbiguous,
    NoDataAvailable,
    OpenEOError,
    ProcessParameterInvalid,
    RedBandAmbiguous,
)

Graph = Mapping[str, Any]

# The common names of STAC's `eo` extension: `ndvi` and `filter_bands` also resolve these
# through the executor's own table of sensors, which a collection's metadata may not
# mention, so validation accepts them.
COMMON_NAMES = frozenset(
    {
        "coastal",
        "blue",
        "green",
        "red",
        "yellow",
        "pan",
        "rededge",
        "rededge071",
        "rededge075",
        "rededge078",
        "nir",
        "nir08",
        "nir09",
        "cirrus",
        "swir16",
        "swir22",
        "lwir",
        "lwir11",
        "lwir12",
    }
)
# Processes whose `data` cube keeps the bands of its input (a `reduce_dimension` only when
# it reduces another dimension).
KEEPS_BANDS = frozenset(
    {
        "aggregate_temporal",
        "aggregate_temporal_period",
        "apply",
        "filter_bbox",
        "filter_spatial",
        "filter_temporal",
        "mask",
        "reduce_dimension",
        "resample_cube_spatial",
        "resample_spatial",
    }
)


@dataclass(frozen=True)
class CollectionMetadata:
    """What validation reads of a collection: its document (`GET /collections/{id}`) and
    the names of the properties its items have (`GET /collections/{id}/queryables`)."""

    document: Mapping[str, Any]
    properties: frozenset[str] = field(default_factory=frozenset)

    @property
    def bands(self) -> dict[str, str | None]:
        """Band name -> common name, in the collection's order (as the executor reads them)."""
        summaries = _mapping(self.document.get("summaries"))
        eo_bands = [band for band in _list(summaries.get("eo:bands")) if isinstance(band, Mapping)]
        common = {band.get("name"): band.get("common_name") for band in eo_bands}
        dimension = _mapping(_mapping(self.document.get("cube:dimensions")).get("bands"))
        names = _list(dimension.get("values")) or list(common)
        return {name: common.get(name) for name in names if isinstance(name, str)}


CollectionLookup = Callable[[str], CollectionMetadata | None]


def collection_problems(graph: Graph, collections: CollectionLookup) -> list[OpenEOError]:
    """The problems of the top-level graph's `load_collection`, `ndvi` and `filter_bands`
    nodes against the metadata `collections` gives (None: not found, which the caller
    reports as CollectionNotFound)."""
    bands = _Bands(graph, collections)
    errors: list[OpenEOError] = []
    for node in graph.values():
        if not isinstance(node, Mapping):
            continue
        arguments = _mapping(node.get("arguments"))
        process_id = node.get("process_id")
        if process_id == "load_collection" and isinstance(arguments.get("id"), str):
            metadata = collections(arguments["id"])
            if metadata is not None:
                errors += _load_problems(arguments["id"], arguments, metadata)
        elif process_id in ("ndvi", "filter_bands"):
            available = bands.of(_source(arguments))
            if available is not None:
                errors += _band_name_problems(process_id, arguments, available)
    return errors


def _load_problems(
    collection_id: str, arguments: Mapping[str, Any], metadata: CollectionMetadata
) -> Iterator[OpenEOError]:
    requested = arguments.get("bands")
    if isinstance(requested, list) and metadata.bands:
        for band in requested:
            if isinstance(band, str) and _resolved_band(band, metadata.bands) is None:
                yield _invalid(
                    "load_collection",
                    "bands",
                    f"band '{band}' does not exist in collection '{collection_id}'; "
                    f"available: {', '.join(metadata.bands)}",
                )
    properties = arguments.get("properties")
    if isinstance(properties, Mapping) and metadata.properties:
        for name in properties:
            if name not in metadata.properties:
                yield _invalid(
                    "load_collection",
                    "properties",
                    f"no item of collection '{collection_id}' has the property '{name}'; "
                    f"its items have: {', '.join(sorted(metadata.properties))}",
                )
    yield from _extent_problems(collection_id, arguments, metadata.document)


def _extent_problems(
    collection_id: str, arguments: Mapping[str, Any], document: Mapping[str, Any]
) -> Iterator[OpenEOError]:
    extent = _mapping(document.get("extent"))
    requested_box = _wgs84_bounds(arguments.get("spatial_extent"))
    collection_box = _first(_mapping(extent.get("spatial")).get("bbox"))
    if requested_box is not None and _is_box(collection_box):
        west, south, east, north = (float(value) for value in collection_box)
        if (
            requested_box[0] > east
            or requested_box[2] < west
            or requested_box[1] > north
            or requested_box[3] < south
        ):
            yield NoDataAvailable(
                reason="The spatial extent does not overlap the extent of collection "
                f"'{collection_id}', west {west}, south {south}, east {east}, north {north}.",
            )
    requested_interval = arguments.get("temporal_extent")
    collection_interval = _first(_mapping(extent.get("temporal")).get("interval"))
    if not (_is_pair(requested_interval) and _is_pair(collection_interval)):
        return
    start, end = (_instant(value) for value in requested_interval)
    first, last = (_instant(value) for value in collection_interval)
    # The end of a temporal_extent is excluded; the collection's interval holds its last date.
    if (end is not None and first is not None and end <= first) or (
        start is not None and last is not None and start > last
    ):
        since = collection_interval[0] or "open start"
        until = collection_interval[1] or "open end"
        yield NoDataAvailable(
            reason="The temporal extent lies outside that of collection "
            f"'{collection_id}', {since} to {until}.",
        )


def _band_name_problems(
    process_id: str, arguments: Mapping[str, Any], available: Mapping[str, str | None]
) -> Iterator[OpenEOError]:
    if process_id == "ndvi":
        named = [(name, arguments.get(name, name)) for name in ("nir", "red")]
    else:
        requested = arguments.get("bands")
        named = [("bands", band) for band in requested] if isinstance(requested, list) else []
    for parameter, band in named:
        if isinstance(band, str) and band not in COMMON_NAMES:
            if _resolved_band(band, available) is None:
                reason = f"the cube has no band '{band}'; available bands: {', '.join(available)}"
                if process_id == "ndvi":
                    ambiguous = NirBandAmbiguous if parameter == "nir" else RedBandAmbiguous
                    yield ambiguous(process=process_id, parameter=parameter, reason=reason)
                else:
                    yield _invalid(process_id, parameter, reason)


class _Bands:
    """The bands (name -> common name) of each node's cube, where the graph determines them."""

    def __init__(self, graph: Graph, collections: CollectionLookup) -> None:
        self.graph = graph
        self.collections = collections
        self.known: dict[str, dict[str, str | None] | None] = {}

    def of(self, node_id: str | None) -> dict[str, str | None] | None:
        """The bands of `node_id`'s result; None when they are not known here."""
        if node_id is None or node_id not in self.graph:
            return None
        if node_id not in self.known:
            # Marked first: a cycle (reported by the graph checks) ends here.
            self.known[node_id] = None
            self.known[node_id] = self._bands(self.graph[node_id])
        return self.known[node_id]

    def _bands(self, node: Any) -> dict[str, str | None] | None:
        if not isinstance(node, Mapping) or node.get("namespace") not in (None, "backend"):
            return None
        process_id, arguments = node.get("process_id"), _mapping(node.get("arguments"))
        if process_id == "load_collection":
            return self._loaded(arguments)
        if process_id == "filter_bands":
            return self._filtered(arguments)
        if process_id == "reduce_dimension" and arguments.get("dimension") in (None, "bands"):
            return None
        if process_id in KEEPS_BANDS:
            return self.of(_source(arguments))
        return None

    def _loaded(self, arguments: Mapping[str, Any]) -> dict[str, str | None] | None:
        collection_id = arguments.get("id")
        metadata = self.collections(collection_id) if isinstance(collection_id, str) else None
        if metadata is None or not metadata.bands:
            return None
        return _selected(arguments.get("bands"), metadata.bands)

    def _filtered(self, arguments: Mapping[str, Any]) -> dict[str, str | None] | None:
        if arguments.get("wavelengths") is not None:
            return None
        available = self.of(_source(arguments))
        return None if available is None else _selected(arguments.get("bands"), available)


def _selected(requested: Any, available: Mapping[str, str | None]) -> dict[str, str | None] | None:
    """The bands `requested` (names or common names) select of `available`; all of them for
    null; None when a request is not a literal list of known names."""
    if requested is None:
        return dict(available)
    if not isinstance(requested, list):
        return None
    selected: dict[str, str | None] = {}
    for band in requested:
        name = _resolved_band(band, available) if isinstance(band, str) else None
        if name is None:
            return None
        selected[name] = available[name]
    return selected


def _resolved_band(band: str, available: Mapping[str, str | None]) -> str | None:
    """The band `band` names: a band name, or the common name of exactly one band."""
    if band in available:
        return band
    matches = [name for name, common in available.items() if common == band]
    return matches[0] if len(matches) == 1 else None


def _source(arguments: Mapping[str, Any]) -> str | None:
    """The node whose result the `data` argument is."""
    data = arguments.get("data")
    if isinstance(data, Mapping) and set(data) == {"from_node"}:
        target = data["from_node"]
        return target if isinstance(target, str) else None
    return None


def _wgs84_bounds(extent: Any) -> tuple[float, float, float, float] | None:
    """west, south, east, north of a literal bounding box in WGS84 (no `crs`, or 4326);
    None for anything else, e.g. a box in another CRS, GeoJSON or a reference."""
    if not isinstance(extent, Mapping) or extent.get("crs") not in (None, 4326, "EPSG:4326"):
        return None
    values = [extent.get(side) for side in ("west", "south", "east", "north")]
    if not _is_box(values):
        return None
    west, south, east, north = (float(value) for value in values)
    return west, south, east, north


def _instant(value: Any) -> datetime | None:
    """A date or RFC 3339 date-time as an aware instant; None for null or anything else."""
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def _is_box(values: Any) -> TypeGuard[Sequence[float]]:
    return (
        isinstance(values, Sequence)
        and len(values) == 4
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    )


def _is_pair(values: Any) -> TypeGuard[list[Any]]:
    return isinstance(values, list) and len(values) == 2


def _first(values: Any) -> Any:
    return values[0] if isinstance(values, list) and values else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _invalid(process_id: str, parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=process_id, parameter=parameter, reason=reason)
