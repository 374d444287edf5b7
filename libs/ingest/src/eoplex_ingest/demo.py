"""The demo collections: synthetic, deterministic (seeded) rasters generated in seconds.

SENTINEL2_L2A_DEMO imitates Sentinel-2 L2A over a 10 km square in EPSG:32632: B02,
B03, B04, B08 at 10 m (uint16, scale 0.0001, nodata 0) and SCL at 20 m (uint8 scene
classes), every 5 days from 2022-05-01 to 2022-08-31. The land cover is fields with
seasonal NDVI curves (an early and a late crop), a lake, a forest and a town; some
dates have clouds with their shadows, consistent between SCL and the reflectances.
DEM_DEMO is a 30 m elevation model of about the same area in EPSG:32633, so that
loading both exercises reprojection and resampling.
"""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from pyproj import Transformer
from rasterio.transform import Affine

from eoplex_ingest.folder import NamingRules
from eoplex_ingest.stac import CollectionMetadata

SEED = 20220501
S2_ID = "SENTINEL2_L2A_DEMO"
DEM_ID = "DEM_DEMO"
S2_EPSG, DEM_EPSG = 32632, 32633
S2_ORIGIN = (675000.0, 5155000.0)  # west, north
S2_SIZE_M = 10000.0
S2_FIRST_DATE = datetime(2022, 5, 1, tzinfo=UTC)
S2_DATES = 25  # 2022-05-01 .. 2022-08-29, every 5 days
CLOUDY_DATES = {2: 0.25, 6: 0.6, 7: 0.15, 12: 0.35, 17: 0.9, 21: 0.2}  # index -> cloudiness
REFLECTANCE_BANDS = ("B02", "B03", "B04", "B08")
SCALE = 0.0001
COG_OPTIONS = {"compress": "deflate", "predictor": 2, "blocksize": 512}

# Land-cover classes of the 10 m map.
EARLY_CROP, LATE_CROP, GRASS, FOREST, WATER, TOWN = range(6)
# SCL scene classes (Sentinel-2 L2A).
SCL_SHADOW, SCL_VEGETATION, SCL_NOT_VEGETATED, SCL_WATER = 3, 4, 5, 6
SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH = 8, 9

S2_RULES = NamingRules(
    datetime_pattern=r"_(?P<datetime>\d{8})_", band_pattern=r"_(?P<band>B\d\d|SCL)\.tif$"
)
S2_METADATA = CollectionMetadata(
    collection_id=S2_ID,
    title="Synthetic Sentinel-2 L2A-like demo data (not real observations)",
    description=(
        "Synthetic, deterministic data shaped like Sentinel-2 L2A surface reflectance for "
        "trying the API: a 10 km square in EPSG:32632 with fields (seasonal NDVI), a lake, "
        "a forest and a town, every 5 days from 2022-05-01 to 2022-08-31, some dates cloudy. "
        "B02, B03, B04, B08 at 10 m; SCL scene classification at 20 m."
    ),
    license="CC0-1.0",
    keywords=("demo", "synthetic", "sentinel-2", "l2a"),
    providers=({"name": "eoplex (synthetic data)", "roles": ["producer", "host"]},),
    platform="sentinel-2-synthetic",
    constellation="sentinel-2",
)
DEM_RULES = NamingRules(datetime_pattern=r"_(?P<datetime>\d{8})\.tif$")
DEM_METADATA = CollectionMetadata(
    collection_id=DEM_ID,
    title="Synthetic 30 m elevation model (demo, not real terrain)",
    description=(
        "A synthetic, deterministic elevation model (metres) at 30 m in EPSG:32633 covering "
        "the SENTINEL2_L2A_DEMO area, on another grid and CRS so that combining both "
        "exercises reprojection and resampling."
    ),
    license="CC0-1.0",
    keywords=("demo", "synthetic", "elevation", "dem"),
    providers=({"name": "eoplex (synthetic data)", "roles": ["producer", "host"]},),
)


@dataclass(frozen=True)
class Scene:
    """The fixed part of the demo scene: land cover at 10 m and a static texture."""

    landcover: np.ndarray  # uint8 classes, 1000 x 1000
    texture: np.ndarray  # float32, multiplicative noise around 1
    seed: int


def north_up(west: float, north: float, xres: float, yres: float) -> Affine:
    """The transform of a north-up grid whose top-left corner is (west, north)."""
    return Affine(xres, 0.0, west, 0.0, -yres, north)


def s2_dates() -> list[datetime]:
    """The 25 acquisition dates."""
    return [S2_FIRST_DATE + timedelta(days=5 * i) for i in range(S2_DATES)]


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:size, 0:size]
    return rows.astype(np.float32), cols.astype(np.float32)


def make_scene(seed: int = SEED, size: int = 1000) -> Scene:
    """Fields in 1 km parcels (early or late crop, some grass), a lake, a forest, a town."""
    rng = np.random.default_rng(seed)
    rows, cols = _grid(size)
    unit = size / 10  # pixels per km
    parcels = rng.choice([EARLY_CROP, LATE_CROP, GRASS], size=(10, 10), p=[0.4, 0.4, 0.2])
    landcover = np.kron(parcels, np.ones((int(unit), int(unit)), dtype=np.int64)).astype(np.uint8)
    edge = 0.3 * unit * np.sin(rows / (0.7 * unit))  # a wavy forest edge
    landcover[(cols < 2.5 * unit + edge) & (rows < 4.5 * unit)] = FOREST
    lake = ((rows - 6.5 * unit) / (0.9 * unit)) ** 2 + ((cols - 3.0 * unit) / (1.3 * unit)) ** 2
    landcover[lake < 1] = WATER
    town = (np.abs(rows - 2.5 * unit) < unit) & (np.abs(cols - 7.0 * unit) < 0.9 * unit)
    landcover[town] = TOWN
    # Texture in 40 m patches: visible within fields, yet it compresses well.
    patches = 1 + 0.04 * rng.standard_normal((size // 4, size // 4), dtype=np.float32)
    texture = np.repeat(np.repeat(patches, 4, axis=0), 4, axis=1).astype(np.float32)
    return Scene(landcover=landcover, texture=texture, seed=seed)


def class_ndvi(day_of_year: int) -> np.ndarray:
    """NDVI of each land-cover class on a day: crops green up, peak and are harvested."""
    early = 0.2 + 0.65 * np.exp(-(((day_of_year - 165) / 28) ** 2))
    late = 0.2 + 0.65 * np.exp(-(((day_of_year - 215) / 30) ** 2))
    if day_of_year > 200:  # the early crop is harvested in July
        early = 0.12
    grass = 0.55 + 0.15 * np.sin((day_of_year - 100) / 365 * 2 * np.pi)
    return np.array([early, late, grass, 0.82, -0.4, 0.12], dtype=np.float32)


def class_reflectances(day_of_year: int) -> np.ndarray:
    """Reflectance (4 bands x 6 classes): red from NDVI, NIR so that NDVI holds, blue/green."""
    ndvi = class_ndvi(day_of_year)
    red = 0.12 - 0.1 * np.clip(ndvi, 0, 1)
    nir = red * (1 + ndvi) / (1 - ndvi)
    blue, green = 0.6 * red + 0.01, 0.9 * red + 0.02
    table = np.stack([blue, green, red, nir])
    table[:, WATER] = (0.05, 0.045, 0.03, 0.0129)  # NDVI -0.4 as in class_ndvi
    table[:, TOWN] = (0.11, 0.13, 0.15, 0.1909)
    return table.astype(np.float32)


def cloud_masks(scene: Scene, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thick cloud, thin cloud and cloud shadow masks of one date (all False if clear)."""
    size = scene.landcover.shape[0]
    cloudiness = CLOUDY_DATES.get(index, 0.0)
    if not cloudiness:
        empty = np.zeros((size, size), dtype=bool)
        return empty, empty, empty
    rng = np.random.default_rng([scene.seed, index])
    rows, cols = _grid(size)
    density = np.zeros((size, size), dtype=np.float32)
    for _ in range(int(2 + 10 * cloudiness)):
        row, col = rng.uniform(0, size, 2)
        radius = size * rng.uniform(0.05, 0.12 + 0.2 * cloudiness)
        density += np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / radius**2)
    cloud = density > 0.5
    thick = density > 0.9
    # The sun stands in the south-west: shadows fall to the north-east of the clouds.
    offset = size // 25
    shadow = np.zeros_like(cloud)
    shadow[:-offset, offset:] = cloud[offset:, :-offset]
    return thick, cloud & ~thick, shadow & ~cloud


def render_date(scene: Scene, index: int) -> dict[str, np.ndarray]:
    """The five bands of one date: reflectances (uint16 DN) at 10 m and SCL at 20 m."""
    day = s2_dates()[index].timetuple().tm_yday
    reflectance = class_reflectances(day)[:, scene.landcover] * scene.texture
    thick, thin, shadow = cloud_masks(scene, index)
    reflectance[:, shadow] *= 0.35
    reflectance[:, thin] = 0.5 * reflectance[:, thin] + 0.2
    reflectance[:, thick] = np.array([[0.45], [0.46], [0.47], [0.5]], dtype=np.float32)
    digital = np.clip(np.rint(reflectance / SCALE), 1, 10000).astype(np.uint16)
    bands = dict(zip(REFLECTANCE_BANDS, digital, strict=True))
    bands["SCL"] = scene_classes(scene, day, thick, thin, shadow)[::2, ::2]
    return bands


def scene_classes(
    scene: Scene, day: int, thick: np.ndarray, thin: np.ndarray, shadow: np.ndarray
) -> np.ndarray:
    """SCL at 10 m: vegetation, not vegetated, water, then shadow and clouds on top."""
    vegetated = class_ndvi(day)[scene.landcover] > 0.3
    scl = np.where(vegetated, SCL_VEGETATION, SCL_NOT_VEGETATED).astype(np.uint8)
    scl[scene.landcover == WATER] = SCL_WATER
    scl[shadow] = SCL_SHADOW
    scl[thin] = SCL_CLOUD_MEDIUM
    scl[thick] = SCL_CLOUD_HIGH
    return scl


def cloud_cover(scl: np.ndarray) -> float:
    """Percentage of cloudy SCL pixels (medium and high probability), as eo:cloud_cover."""
    return round(100 * float(np.isin(scl, (SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH)).mean()), 2)


def write_cog(path: Path, data: np.ndarray, *, epsg: int, transform: Any, **profile: Any) -> None:
    """A one-band deflate-compressed COG with the given tags, scale and nodata."""
    tags = profile.pop("tags", {})
    scale = profile.pop("scale", 1.0)
    description = profile.pop("description", None)
    height, width = data.shape
    creation = {"driver": "GTiff", "count": 1, "height": height, "width": width}
    with (
        rasterio.MemoryFile() as memory,
        memory.open(
            **creation, dtype=data.dtype, crs=f"EPSG:{epsg}", transform=transform, **profile
        ) as dataset,
    ):
        dataset.write(data, 1)
        dataset.scales = (scale,)
        dataset.update_tags(**tags)
        if description:
            dataset.set_band_description(1, description)
        rasterio.shutil.copy(dataset, path, driver="COG", **COG_OPTIONS)


def write_sentinel2_date(folder: Path, scene: Scene, index: int) -> None:
    """The five COGs of date number `index`, tagged with its date and cloud cover."""
    folder.mkdir(parents=True, exist_ok=True)
    instant = s2_dates()[index]
    bands = render_date(scene, index)
    tags = {
        "TIFFTAG_DATETIME": instant.strftime("%Y:%m:%d %H:%M:%S"),
        "CLOUD_COVER": str(cloud_cover(bands["SCL"])),
    }
    west, north = S2_ORIGIN
    for name, data in bands.items():
        resolution = S2_SIZE_M / data.shape[0]
        is_scl = name == "SCL"
        write_cog(
            folder / f"S2_{instant:%Y%m%d}_{name}.tif",
            data,
            epsg=S2_EPSG,
            transform=north_up(west, north, resolution, resolution),
            nodata=0,
            scale=1.0 if is_scl else SCALE,
            description=name,
            tags=tags,
        )


def write_sentinel2_demo(folder: Path, *, seed: int = SEED, workers: int = 4) -> Path:
    """Write the SENTINEL2_L2A_DEMO COGs (S2_<YYYYMMDD>_<band>.tif) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    scene = make_scene(seed)
    # GDAL compresses without the GIL, so dates are written in parallel.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda index: write_sentinel2_date(folder, scene, index), range(S2_DATES)))
    return folder


def dem_grid() -> tuple[Any, int, int]:
    """The DEM's transform and size: the S2 square in EPSG:32633, snapped to 30 m, plus margin."""
    to_dem = Transformer.from_crs(S2_EPSG, DEM_EPSG, always_xy=True)
    west, north = S2_ORIGIN
    xs, ys = to_dem.transform(
        [west, west + S2_SIZE_M, west, west + S2_SIZE_M],
        [north, north, north - S2_SIZE_M, north - S2_SIZE_M],
    )
    left, top = np.floor(min(xs) / 30) * 30 - 300, np.ceil(max(ys) / 30) * 30 + 300
    width = int(np.ceil((max(xs) + 300 - left) / 30))
    height = int(np.ceil((top - (min(ys) - 300)) / 30))
    return north_up(left, top, 30.0, 30.0), width, height


def render_dem(seed: int = SEED) -> tuple[np.ndarray, Any]:
    """Elevation in metres (float32): a valley sloping to the south-west between hills."""
    transform, width, height = dem_grid()
    rng = np.random.default_rng([seed, 1])
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    elevation = 450 + 0.4 * rows + 0.3 * cols
    for _ in range(8):
        row, col = rng.uniform(0, height), rng.uniform(0, width)
        radius, peak = rng.uniform(30, 90), rng.uniform(150, 700)
        elevation += peak * np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / radius**2)
    return elevation.astype(np.float32), transform


def write_dem_demo(folder: Path, *, seed: int = SEED) -> Path:
    """Write the DEM_DEMO COG (DEM_20220101.tif) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    elevation, transform = render_dem(seed)
    write_cog(
        folder / "DEM_20220101.tif",
        elevation,
        epsg=DEM_EPSG,
        transform=transform,
        nodata=-9999.0,
        description="elevation",
    )
    return folder


def demo_sources(root: Path) -> Iterator[tuple[CollectionMetadata, NamingRules, Path]]:
    """Each demo collection: its metadata, naming rules and (generated) folder under `root`."""
    yield S2_METADATA, S2_RULES, root / S2_ID
    yield DEM_METADATA, DEM_RULES, root / DEM_ID
