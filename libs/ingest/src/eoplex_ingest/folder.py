"""A folder of GeoTIFFs as a plan of items: which file is which band of which date.

Everything here only reads; every problem is an `IngestError` naming the file, raised
before anything is converted, uploaded or staged.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from eoplex_ingest.errors import IngestError
from eoplex_ingest.raster import RasterInfo, read_raster_info

RASTER_SUFFIXES = (".tif", ".tiff")
DATETIME_FORMATS = ("%Y%m%d", "%Y-%m-%d", "%Y%m%dT%H%M%S", "%Y-%m-%dT%H:%M:%S", "%Y%m%d%H%M%S")
# The TIFF DateTime tag is "YYYY:MM:DD HH:MM:SS" (TIFF 6.0).
TIFF_DATETIME_FORMAT = "%Y:%m:%d %H:%M:%S"


@dataclass(frozen=True)
class NamingRules:
    """How file names tell dates, bands and tiles: regexes with named groups.

    `datetime_pattern` has a group `datetime` (e.g. `(?P<datetime>\\d{8})`) or the
    groups `year`, `month`, `day` (optionally `hour`, `minute`, `second`);
    `band_pattern` has a group `band` (e.g. `_(?P<band>B\\d\\d|SCL)\\.tif$`); either
    may have a group `tile`, which keeps files of one date on different tiles apart.
    """

    datetime_pattern: str | None = None
    band_pattern: str | None = None


@dataclass(frozen=True)
class BandSource:
    """One band of an item: the file, and which of its bands (1-based)."""

    name: str
    raster: RasterInfo
    index: int = 1


@dataclass
class ItemPlan:
    """The files of one item (one date, maybe one tile), by band name."""

    instant: datetime
    tile: str | None
    bands: dict[str, BandSource] = field(default_factory=dict)

    def item_id(self, collection_id: str) -> str:
        """`<collection>_<YYYYMMDD>` (with the time if not midnight, and the tile if any)."""
        stamp = self.instant.strftime(
            "%Y%m%d" if self.instant.time().isoformat() == "00:00:00" else "%Y%m%dT%H%M%S"
        )
        return "_".join(part for part in (collection_id, stamp, self.tile) if part)


def find_rasters(folder: Path) -> list[Path]:
    """The `*.tif`/`*.tiff` files under `folder`, sorted; `IngestError` if there is none."""
    if not folder.is_dir():
        raise IngestError("not a folder", path=folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in RASTER_SUFFIXES)
    if not files:
        raise IngestError("no GeoTIFF files (*.tif, *.tiff) in the folder", path=folder)
    return files


def _match(pattern: str | None, path: Path) -> dict[str, str]:
    if pattern is None:
        return {}
    found = re.search(pattern, path.name)
    return {k: v for k, v in found.groupdict().items() if v is not None} if found else {}


def _parse_instant(text: str, formats: tuple[str, ...], path: Path) -> datetime:
    for form in formats:
        try:
            return datetime.strptime(text, form).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise IngestError(f"cannot read a date from {text!r}", path=path) from error
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def file_datetime(path: Path, groups: dict[str, str], tags: dict[str, str]) -> datetime:
    """The file's date: from the name's groups, else the TIFF DateTime or `datetime` tag."""
    if "datetime" in groups:
        return _parse_instant(groups["datetime"], DATETIME_FORMATS, path)
    if {"year", "month", "day"} <= groups.keys():
        names = ("year", "month", "day", "hour", "minute", "second")
        parts = {name: int(groups.get(name, 0)) for name in names}
        try:
            return datetime(**parts, tzinfo=UTC)
        except ValueError as error:
            raise IngestError(f"not a date: {parts}", path=path) from error
    if "TIFFTAG_DATETIME" in tags:
        return _parse_instant(tags["TIFFTAG_DATETIME"], (TIFF_DATETIME_FORMAT,), path)
    if "datetime" in tags:
        return _parse_instant(tags["datetime"], DATETIME_FORMATS, path)
    raise IngestError(
        "no date: the name does not match --datetime-pattern and the file has no "
        "TIFFTAG_DATETIME or datetime tag",
        path=path,
    )


def file_bands(raster: RasterInfo, groups: dict[str, str]) -> list[BandSource]:
    """The band names of a file: the name's `band` group, the band descriptions, or band1..N."""
    if "band" in groups:
        if len(raster.bands) != 1:
            raise IngestError(
                "--band-pattern names one band, but the file has several", path=raster.path
            )
        return [BandSource(groups["band"], raster)]
    descriptions = [band.description for band in raster.bands]
    if all(descriptions) and len(set(descriptions)) == len(descriptions):
        return [BandSource(str(name), raster, i) for i, name in enumerate(descriptions, 1)]
    return [BandSource(f"band{i}", raster, i) for i in range(1, len(raster.bands) + 1)]


def plan_items(files: list[Path], rules: NamingRules) -> list[ItemPlan]:
    """Group the files into items by (datetime, tile), sorted by date; checks bands and CRSs."""
    items: dict[tuple[datetime, str | None], ItemPlan] = {}
    band_crs: dict[str, tuple[int, Path]] = {}
    for path in files:
        raster = read_raster_info(path)
        groups = _match(rules.datetime_pattern, path) | _match(rules.band_pattern, path)
        instant = file_datetime(path, groups, raster.tags)
        tile = groups.get("tile")
        item = items.setdefault((instant, tile), ItemPlan(instant=instant, tile=tile))
        for source in file_bands(raster, groups):
            first = band_crs.setdefault(source.name, (raster.epsg, path))
            if first[0] != raster.epsg:
                raise IngestError(
                    f"band {source.name} is in EPSG:{raster.epsg} here but in "
                    f"EPSG:{first[0]} in {first[1]}: one band must have one CRS",
                    path=path,
                )
            if source.name in item.bands:
                raise IngestError(
                    f"band {source.name} of {instant.isoformat()} is also in "
                    f"{item.bands[source.name].raster.path}; "
                    "use --band-pattern to tell bands apart",
                    path=path,
                )
            item.bands[source.name] = source
    return sorted(items.values(), key=lambda item: (item.instant, item.tile or ""))


def plan_folder(folder: Path, rules: NamingRules) -> list[ItemPlan]:
    """The items of a folder of GeoTIFFs (see `plan_items`)."""
    return plan_items(find_rasters(folder), rules)
