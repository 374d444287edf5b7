"""load_collection of a collection backed by an external STAC API (`CollectionAccess.kind`
"stac-api"): the catalog's translated items (band assets under the band names, each with
`raster:bands` and the `proj:*` fields) as `Source`s, and the grid they are read on.

- Dates: items are grouped by UTC day; the label is the day (`T00:00:00Z`).
- Mosaic: the items of a day in the collection's `mosaic` order, the first valid pixel
  winning: `least-cloudy-first` (ascending `eo:cloud_cover`, items without it last, ties
  by time) or `newest-first`.
- Grid: the target grid the collection declares (`cube:dimensions` x/y with `step`),
  else the first item's (in time) CRS at the finest resolution of its requested bands,
  extended over every item (`_item_grid`); items in other CRSs (another UTM zone) are
  reprojected onto it.
- Values: each asset's `raster:bands[0]` `scale` and `offset` are applied per item before
  mosaicking (Sentinel-2 baseline 04.00 items carry an offset older ones do not), with
  the asset's `nodata`.
- Access: the collection's GDAL options (`eoplex_executor.io.gdal.provider_options`) and
  URL signing at read time (`eoplex_executor.io.signing`).
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
from rasterio.errors import RasterioError
from rasterio.transform import Affine

from eoplex_common.errors import NoDataAvailable, UpstreamUnavailable
from eoplex_executor.engine.cube import parse_datetime
from eoplex_executor.engine.environment import NEWEST_FIRST, CollectionAccess
from eoplex_executor.io.cog import Source, gdal_path, open_source, provider_of
from eoplex_executor.io.gdal import provider_options
from eoplex_executor.io.signing import url_signer
from eoplex_executor.processes._item_grid import Footprint, items_grid, projection_footprint

Item = Mapping[str, Any]
AnItem = TypeVar("AnItem", bound=Item)


class ExternalCollection:
    """How one load_collection call reads the assets of an external collection."""

    def __init__(self, collection_id: str, access: CollectionAccess) -> None:
        self.collection_id = collection_id
        self.access = access
        self.gdal_options = provider_options(access.gdal_options)
        self.signer = url_signer(access.signing, access.signing_url, collection=collection_id)

    def grid_dimensions(self, items: Sequence[Item], bands: list[str]) -> dict[str, Any]:
        """x/y `cube:dimensions` of the first item's grid, extended over every item."""
        held = [
            (item, [band for band in bands if band in item.get("assets", {})])
            for item in sorted(items, key=instant)
        ]
        held = [(item, names) for item, names in held if names]
        if not held:
            raise NoDataAvailable(
                reason=f"Collection '{self.collection_id}' has no item with the requested bands."
            )
        (first, first_bands), others = held[0], held[1:]
        return items_grid(
            [self.footprint(first, band) for band in first_bands],
            # One asset per other item tells its extent.
            [self.footprint(item, names[0]) for item, names in others],
        )

    def footprint(self, item: Item, band: str) -> Footprint:
        """The grid of the item's asset of `band`: from its `proj:*` fields, else from the
        file's header."""
        asset = item["assets"][band]
        found = projection_footprint(asset, item.get("properties", {}))
        if found is not None:
            return found
        href = gdal_path(str(asset.get("href", "")))
        path = gdal_path(self.signer(str(asset["href"]))) if self.signer is not None else href
        try:
            with open_source(path, self.gdal_options) as dataset:
                epsg = dataset.crs.to_epsg() if dataset.crs else None
                if epsg is not None:
                    return Footprint(epsg, dataset.transform, dataset.width, dataset.height)
                reason = "it has no CRS with an EPSG code"
        except RasterioError as error:
            reason = str(error).replace(path, href)
        raise UpstreamUnavailable(
            upstream=provider_of(href),
            collection=self.collection_id,
            reason=f"cannot read the grid of the asset {href.removeprefix('/vsicurl/')}: {reason}",
        )

    @staticmethod
    def dated(items: Sequence[AnItem]) -> list[AnItem]:
        """The items with a valid time (`datetime`, else `start_datetime`): one without is
        no STAC Item, and is left out."""
        found = []
        for item in items:
            try:
                instant(item)
            except ValueError:
                continue
            found.append(item)
        return found

    def sources_by_day(
        self, items: Sequence[Item], bands: list[str], info: Mapping[str, Mapping[str, Any]]
    ) -> tuple[np.ndarray, list[list[list[Source]]]]:
        """Sorted day labels and, per day and band, the assets to mosaic, in mosaic order."""
        by_day: dict[np.datetime64, list[Item]] = {}
        for item in items:
            by_day.setdefault(instant(item).astype("datetime64[D]"), []).append(item)
        days = sorted(by_day)
        order = self.mosaic_order()
        sources = [
            [
                [
                    source
                    for item in sorted(by_day[day], key=order)
                    if (source := self.source(item, band, info[band])) is not None
                ]
                for band in bands
            ]
            for day in days
        ]
        return np.array(days, dtype="datetime64[ns]"), sources

    def mosaic_order(self) -> Callable[[Item], tuple[float, float]]:
        """The sort key of a day's items, first on top."""
        if self.access.mosaic == NEWEST_FIRST:
            return lambda item: (-_seconds(item), 0.0)

        def least_cloudy_first(item: Item) -> tuple[float, float]:
            cloud_cover = item.get("properties", {}).get("eo:cloud_cover")
            known = isinstance(cloud_cover, int | float) and not isinstance(cloud_cover, bool)
            return (float(cloud_cover) if known else float("inf"), _seconds(item))

        return least_cloudy_first

    def source(self, item: Item, band: str, info: Mapping[str, Any]) -> Source | None:
        """The item's asset of `band` as a `Source`, or None if it has none."""
        asset = item.get("assets", {}).get(band)
        if asset is None:
            return None
        raster = (asset.get("raster:bands") or [{}])[0]
        nodata = raster.get("nodata", info.get("nodata"))
        footprint = projection_footprint(asset, item.get("properties", {}))
        href = str(asset["href"])
        return Source(
            href=gdal_path(href),
            crs=f"EPSG:{footprint.epsg}" if footprint is not None else "",
            transform=footprint.transform if footprint is not None else Affine.identity(),
            nodata=float("nan") if nodata == "nan" else nodata,
            gdal_options=self.gdal_options,
            scale=_number(raster.get("scale"), 1.0),
            offset=_number(raster.get("offset"), 0.0),
            signer=self.signer if href.startswith(("http://", "https://")) else None,
            collection=self.collection_id,
        )


def instant(item: Item) -> np.datetime64:
    """The item's time: `datetime`, else `start_datetime`."""
    properties = item.get("properties", {})
    return parse_datetime(str(properties.get("datetime") or properties.get("start_datetime")))


def _seconds(item: Item) -> float:
    return float(instant(item).astype("datetime64[s]").astype(np.int64))


def _number(value: Any, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return default
