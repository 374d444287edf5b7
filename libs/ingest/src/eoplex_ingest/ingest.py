"""Ingest of a folder of GeoTIFFs: plan (read-only), store the files, build the STAC documents.

`prepare_folder` does all the reading and checking first, so every `IngestError`
comes before any file is converted, uploaded or staged.
"""

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry import box, shape
from shapely.ops import unary_union

from eoplex_ingest.errors import IngestError
from eoplex_ingest.folder import BandSource, ItemPlan, NamingRules, plan_folder
from eoplex_ingest.stac import (
    COG_MEDIA_TYPE,
    GEOTIFF_MEDIA_TYPE,
    Asset,
    Band,
    CollectionMetadata,
    build_collection,
    build_item,
    grid_bounds,
)
from eoplex_ingest.storage import AssetStore, write_cog

# A tag a file may carry with its item's cloud cover in percent (the demo data does).
CLOUD_COVER_TAG = "CLOUD_COVER"


@dataclass(frozen=True)
class FolderOptions:
    """How to ingest a folder: naming rules, and whether to convert to COG first."""

    rules: NamingRules = field(default_factory=NamingRules)
    cog: bool = True
    reference: bool = False


@dataclass(frozen=True)
class CollectionDocuments:
    """A collection and its items, ready for `register_collection`."""

    collection: dict[str, Any]
    items: list[dict[str, Any]]


def band_of(source: BandSource) -> Band:
    """The collection band described by one band of a file."""
    info = source.raster.bands[source.index - 1]
    return Band(
        name=source.name,
        data_type=info.data_type,
        nodata=info.nodata,
        scale=info.scale,
        offset=info.offset,
        resolution=source.raster.resolution[0],
    )


def prepare_folder(folder: Path, options: FolderOptions) -> list[ItemPlan]:
    """Read and check every file; `IngestError` for anything that cannot be registered."""
    plans = plan_folder(folder, options.rules)
    if options.reference or not options.cog:
        for plan in plans:
            for source in plan.bands.values():
                if len(source.raster.bands) > 1:
                    raise IngestError(
                        "a multi-band file must be split into one COG per band: use --cog "
                        "without --reference",
                        path=source.raster.path,
                    )
    return plans


def store_assets(
    plan: ItemPlan,
    *,
    item_id: str,
    collection_id: str,
    store: AssetStore,
    options: FolderOptions,
    workdir: Path,
) -> list[Asset]:
    """Convert (if asked) and store each band of one item; its assets."""
    assets = []
    for name, source in plan.bands.items():
        raster, local = source.raster, source.raster.path
        converted = options.cog and not options.reference
        if converted:
            local = write_cog(source, workdir / item_id / f"{name}.tif")
        href = store.put(local, f"{collection_id}/{item_id}/{name}.tif")
        media_type = COG_MEDIA_TYPE if converted or raster.cloud_optimized else GEOTIFF_MEDIA_TYPE
        assets.append(
            Asset(band_of(source), href, raster.epsg, raster.transform, raster.shape, media_type)
        )
    return assets


def item_properties(plan: ItemPlan, metadata: CollectionMetadata) -> dict[str, Any]:
    """Optional item properties: cloud cover from a file tag, platform and constellation."""
    properties: dict[str, Any] = {}
    for source in plan.bands.values():
        if CLOUD_COVER_TAG in source.raster.tags:
            properties["eo:cloud_cover"] = float(source.raster.tags[CLOUD_COVER_TAG])
    if metadata.platform:
        properties["platform"] = metadata.platform
    if metadata.constellation:
        properties["constellation"] = metadata.constellation
    return properties


def collection_for_items(
    metadata: CollectionMetadata, items: Sequence[dict[str, Any]], plans: Sequence[ItemPlan]
) -> dict[str, Any]:
    """The collection document summarising `items` (grid of the first band, union of extents)."""
    bands: dict[str, Band] = {}
    for plan in plans:
        for source in plan.bands.values():
            bands.setdefault(source.name, band_of(source))
    first_band = next(iter(bands))
    grids = [p.bands[first_band].raster for p in plans if first_band in p.bands]
    epsg = grids[0].epsg
    native = unary_union([box(*grid_bounds(r.transform, r.shape)) for r in grids]).bounds
    wgs84 = unary_union([shape(item["geometry"]) for item in items]).bounds
    instants = [plan.instant for plan in plans]
    return build_collection(
        metadata=metadata,
        bands=list(bands.values()),
        epsg=epsg,
        native_bounds=native,
        step=min(r.resolution[0] for r in grids),
        wgs84_bbox=wgs84,
        interval=(min(instants), max(instants)),
    )


def ingest_folder(
    folder: Path, *, metadata: CollectionMetadata, options: FolderOptions, store: AssetStore
) -> CollectionDocuments:
    """Check the folder, store its files and build the collection and item documents."""
    plans = prepare_folder(folder, options)
    items = []
    with tempfile.TemporaryDirectory(prefix="eoplex-ingest-") as workdir:
        for plan in plans:
            item_id = plan.item_id(metadata.collection_id)
            assets = store_assets(
                plan,
                item_id=item_id,
                collection_id=metadata.collection_id,
                store=store,
                options=options,
                workdir=Path(workdir),
            )
            items.append(
                build_item(
                    collection_id=metadata.collection_id,
                    item_id=item_id,
                    instant=plan.instant,
                    assets=assets,
                    properties=item_properties(plan, metadata),
                )
            )
    return CollectionDocuments(collection_for_items(metadata, items, plans), items)
