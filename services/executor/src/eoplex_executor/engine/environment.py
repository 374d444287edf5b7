"""What a running process graph may use beyond its arguments: catalog, scratch space, limits.

One `Environment` per execution. Processes that need it are registered with
`environment=True` (see `eoplex_executor.engine.registry`).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from eoplex_common.errors import FileNotFound, JobNotFound
from eoplex_common.process_graph import GraphLimits

if TYPE_CHECKING:
    # Only a type here: the serving and batch rooms build the sandbox, the udf room runs it.
    from eoplex_executor.udf.sandbox import UdfSandbox


class Catalog(Protocol):
    """The part of the data-discovery service the executor reads."""

    def collection(self, collection_id: str) -> dict[str, Any]:
        """The STAC Collection; CollectionNotFound if there is none."""
        ...

    def search_items(self, search: "ItemSearch") -> list[dict[str, Any]]:
        """Every STAC Item the search finds."""
        ...

    def access(self, collection_id: str) -> "CollectionAccess":
        """How the collection's assets are read; CollectionNotFound if there is none."""
        ...

    def upstreams(self) -> list[str]:
        """The landing-page URLs of the STAC APIs an operator registered collections of."""
        ...


# Mosaic orders of the items of one date (`CollectionAccess.mosaic`).
LEAST_CLOUDY_FIRST = "least-cloudy-first"
NEWEST_FIRST = "newest-first"


@dataclass(frozen=True)
class CollectionAccess:
    """How a collection's assets are read (the catalog's `GetCollectionAccess`).

    `kind` is "ingest" (files the back-end ingested, read as the items name them) or
    "stac-api" (a provider's archive behind a registered STAC API). For the latter:
    `gdal_options` to open its assets with (the provider's S3 endpoint, credentials,
    anonymous or requester-pays access; never in the process environment, so UDF
    processes never see them), `signing` ("" or "planetary-computer") with its
    `signing_url`, and the `mosaic` order of the items of one date.
    """

    kind: str = "ingest"
    gdal_options: Mapping[str, str] = field(default_factory=dict)
    signing: str = ""
    signing_url: str = ""
    mosaic: str = LEAST_CLOUDY_FIRST

    @property
    def external(self) -> bool:
        """Whether the assets are a provider's (a registered STAC API's collection)."""
        return self.kind == "stac-api"


@dataclass(frozen=True)
class ItemSearch:
    """A search of a collection's STAC Items: those intersecting `bbox` (in `bbox_crs`;
    None: anywhere) and the half-open interval [start, end), with an asset of one of
    `bands`, whose properties meet `property_filter` (`{"eo:cloud_cover": {"lte": 20}}`)."""

    collection_id: str
    bbox: list[float] | None
    bbox_crs: str
    start: str
    end: str
    bands: list[str]
    property_filter: Mapping[str, Mapping[str, float]]


@dataclass(frozen=True)
class ResultFile:
    """One file written by `save_result`."""

    path: Path
    media_type: str
    # The STAC asset roles and extra asset fields (e.g. datetime of a per-date GTiff).
    roles: tuple[str, ...] = ("data",)
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Limits:
    """What one execution may do. Zero means no limit."""

    # The most pixels the execution may read and produce (`eoplex_executor.engine.pixel_meter`):
    # the tenant's quota of a synchronous request or of a batch job.
    max_pixels: int = 0
    # The most pixels a batch job's budget pays for.
    paid_pixels: int = 0
    # A synchronous request writes one file; a batch job may write one per date.
    single_file: bool = True
    # Node and depth limits of the process (ProcessGraphComplexity), as /validation has them.
    graph: GraphLimits = field(default_factory=GraphLimits)
    # How the execution's UDF processes are confined and what each may use (None: the
    # default sandbox, `UdfSandbox()`).
    udf: "UdfSandbox | None" = None


@dataclass
class Estimate:
    """What an execution would write, tallied by `save_result` in estimate mode instead of
    writing (pixels and bytes in the output's data type, uncompressed)."""

    pixels_written: int = 0
    bytes_written: int = 0
    files_written: int = 0


@dataclass
class Production:
    """The values the processes of an execution produced beyond their arguments, as
    `eoplex_executor.engine.pixel_meter` counts them while the graph is evaluated."""

    pixels: int = 0
    # Per process being evaluated, innermost last: what its child processes produced.
    open_calls: list[int] = field(default_factory=list)
    # The thread evaluating the graph; processes dask calls from its threads are not counted.
    thread: int | None = None


# The calling user's process (as GET /process_graphs/{id} shows it) by id, or None.
UserProcesses = Callable[[str], dict[str, Any] | None]


def no_user_processes(process_id: str) -> dict[str, Any] | None:
    """The user-process lookup of an execution that has none."""
    return None


class UserFiles(Protocol):
    """The calling user's workspace (`/files`), read-only; nobody else's files are reachable."""

    def download(self, path: str, target: Path) -> Path:
        """Copy the user's file `path` (as the user names it under /files) to `target`;
        return `target`. Raises FileNotFound (also for what is not the user's) or
        FilePathInvalid."""
        ...


class NoUserFiles:
    """The workspace of an execution that has none: every file is missing."""

    def download(self, path: str, target: Path) -> Path:
        raise FileNotFound(file=path)


class JobResults(Protocol):
    """The calling user's finished batch jobs' results, read-only; nobody else's jobs are
    reachable."""

    def results(self, job_id: str) -> dict[str, Any]:
        """The results STAC Item of the user's job (as `GET /jobs/{job_id}/results` shows
        it). Raises JobNotFound (also for another user's job), JobNotFinished, JobFailed."""
        ...


class NoJobResults:
    """The job results of an execution that has none: every job is missing."""

    def results(self, job_id: str) -> dict[str, Any]:
        raise JobNotFound(identifier=job_id)


@dataclass
class Environment:
    """The catalog, scratch directory, limits and outputs of one execution."""

    catalog: Catalog
    scratch_dir: Path
    limits: Limits = field(default_factory=Limits)
    user_processes: UserProcesses = no_user_processes
    user_files: UserFiles = field(default_factory=NoUserFiles)
    job_results: JobResults = field(default_factory=NoJobResults)
    outputs: list[ResultFile] = field(default_factory=list)
    # Pixels read so far (load_collection, load_stac, load_uploaded_files).
    pixels: int = 0
    # Values produced beyond what processes were given; with `pixels` checked against the
    # limits (see `eoplex_executor.engine.pixel_meter`).
    produced: Production = field(default_factory=Production)
    # Bytes those pixels take in their source data types.
    bytes_read: int = 0
    # Estimate mode (`GET /jobs/{job_id}/estimate`): load_collection reads no pixel anyway,
    # and save_result tallies what it would write here instead of writing.
    estimate: Estimate | None = None
    # What the execution started and `close()` stops, by name (e.g. its UDF processes).
    resources: dict[str, Any] = field(default_factory=dict)
    # The first and last date of the data read (load_collection, load_stac), RFC 3339 in
    # UTC: the time range of results whose files carry no date of their own.
    dates_read: tuple[str, str] | None = None

    def note_dates_read(self, first: str, last: str) -> None:
        """Widen `dates_read` to [first, last] (instants written alike, so they compare as
        text)."""
        if self.dates_read is not None:
            first, last = min(first, self.dates_read[0]), max(last, self.dates_read[1])
        self.dates_read = (first, last)

    def close(self) -> None:
        """Stop what the execution started: call once its results are computed."""
        resources, self.resources = self.resources, {}
        for resource in resources.values():
            resource.close()

    @property
    def pixel_count(self) -> int:
        """The pixels read and produced: what the limits and the costs count."""
        return self.pixels + self.produced.pixels

    @property
    def saved(self) -> bool:
        """Whether a `save_result` ran (wrote, or in estimate mode would have written)."""
        return bool(self.outputs) or (self.estimate is not None and self.estimate.files_written > 0)
