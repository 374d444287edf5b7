"""The grid of a cube made of STAC items that lie on grids of their own (load_stac, and
load_collection of a collection backed by an external STAC API): the grid the collection
declares, else the first item's CRS at the finest resolution of the first item's
requested bands, on that asset's pixel grid, extended over every item (items in other
CRSs are reprojected onto it by `eoplex_executor.io.cog`)."""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyproj import CRS, Transformer
from rasterio.transform import Affine

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Footprint:
    """An asset's pixel grid: EPSG code, transform and size."""

    epsg: int
    transform: Affine
    width: int
    height: int

    @property
    def resolution(self) -> float:
        return abs(self.transform.a)

    def bounds(self) -> Box:
        west, north = self.transform.c, self.transform.f
        east = west + self.transform.a * self.width
        south = north + self.transform.e * self.height
        return min(west, east), min(south, north), max(west, east), max(south, north)


def declared_grid(dimensions: Mapping[str, Any]) -> dict[str, Any] | None:
    """The x/y `cube:dimensions` of a collection that declares a regular grid (CRS, step,
    extent in that CRS); None for one that does not (a WGS84 extent without step)."""
    x, y = dimensions.get("x", {}), dimensions.get("y", {})
    if x.get("step") and x.get("extent") and y.get("extent") and x.get("reference_system"):
        return {"x": x, "y": y}
    return None


def projection_footprint(
    asset: Mapping[str, Any], properties: Mapping[str, Any]
) -> Footprint | None:
    """The asset's grid from the STAC projection extension (`proj:epsg` or an EPSG
    `proj:code`, `proj:transform`, `proj:shape`; the asset's, else the item's); None when
    it does not tell."""

    def field_of(name: str) -> Any:
        return asset.get(name, properties.get(name))

    epsg = field_of("proj:epsg")
    code = field_of("proj:code")
    if epsg is None and isinstance(code, str) and code.upper().startswith("EPSG:"):
        epsg = code.split(":", 1)[1]
    transform, shape = field_of("proj:transform"), field_of("proj:shape")
    if not (epsg and transform and shape):
        return None
    return Footprint(int(epsg), Affine(*transform[:6]), int(shape[1]), int(shape[0]))


def items_grid(
    first: Sequence[Footprint], others: Sequence[Footprint]
) -> dict[str, dict[str, Any]]:
    """x/y `cube:dimensions` on the grid of the finest of `first` (the first item's assets
    of the requested bands), extended over `others` (an asset of every item) and snapped
    outwards onto that grid, so that the assets on it are read directly."""
    finest = min(first, key=lambda footprint: footprint.resolution)
    crs = CRS.from_epsg(finest.epsg)
    resolution = finest.resolution
    west, south, east, north = finest.bounds()
    transformers: dict[int, Callable[..., Box]] = {}
    for footprint in [*first, *others]:
        bounds = footprint.bounds()
        if footprint.epsg != finest.epsg:
            if footprint.epsg not in transformers:
                transformers[footprint.epsg] = Transformer.from_crs(
                    CRS.from_epsg(footprint.epsg), crs, always_xy=True
                ).transform_bounds
            bounds = transformers[footprint.epsg](*bounds, densify_pts=21)
        west, south = min(west, bounds[0]), min(south, bounds[1])
        east, north = max(east, bounds[2]), max(north, bounds[3])
    origin_x, origin_y = finest.transform.c, finest.transform.f
    x0 = origin_x + math.floor((west - origin_x) / resolution + 1e-9) * resolution
    y0 = origin_y + math.ceil((north - origin_y) / resolution - 1e-9) * resolution
    return {
        "x": {"reference_system": finest.epsg, "step": resolution, "extent": [x0, east]},
        "y": {"reference_system": finest.epsg, "step": resolution, "extent": [south, y0]},
    }
