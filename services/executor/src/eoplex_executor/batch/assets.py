"""A batch job's results: each file uploaded to `<results bucket>/jobs/<job_id>/<file>`
and described as a STAC asset, and the openEO `usage` of the run."""

import resource
from pathlib import Path
from typing import Any

import rasterio
from minio import Minio
from rasterio.warp import transform_bounds

from eoplex_executor.engine.environment import ResultFile


def upload(
    s3: Minio,
    output: ResultFile,
    *,
    bucket: str,
    job_id: str,
    dates_read: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Upload one result file of `job_id`; its asset metadata."""
    key = f"jobs/{job_id}/{output.path.name}"
    s3.fput_object(bucket, key, str(output.path), content_type=output.media_type)
    return asset_metadata(output, key=key, dates_read=dates_read)


def asset_metadata(
    output: ResultFile, *, key: str, dates_read: tuple[str, str] | None = None
) -> dict[str, Any]:
    """The STAC asset fields of a result file: name, S3 key, type, roles, size, its own
    properties (e.g. `datetime`), and for a GeoTIFF projection and band metadata.

    A file without a date of its own (e.g. a cube reduced over time) covers the dates of
    the data read, `dates_read` (first, last): its `start_datetime` and `end_datetime`.
    """
    asset: dict[str, Any] = {
        "name": output.path.name,
        "key": key,
        "type": output.media_type,
        "roles": list(output.roles),
        "file:size": output.path.stat().st_size,
        **output.properties,
    }
    if dates_read is not None and "datetime" not in asset:
        asset["start_datetime"], asset["end_datetime"] = dates_read
    if output.media_type.startswith("image/tiff"):
        asset.update(_raster_metadata(output.path))
    return asset


def _raster_metadata(path: Path) -> dict[str, Any]:
    """`proj:*` and `bands` (names from the band descriptions) of a GeoTIFF."""
    with rasterio.open(path) as dataset:
        nodata = dataset.nodata
        bands = [
            {
                "name": description or f"band_{index}",
                "data_type": dtype,
                # The raster extension spells NaN as a string, since JSON has no NaN.
                **({} if nodata is None else {"nodata": "nan" if nodata != nodata else nodata}),
            }
            for index, (description, dtype) in enumerate(
                zip(dataset.descriptions, dataset.dtypes, strict=True), start=1
            )
        ]
        epsg = dataset.crs.to_epsg() if dataset.crs else None
        return {
            "proj:code": f"EPSG:{epsg}" if epsg else None,
            "proj:epsg": epsg,
            "proj:shape": [dataset.height, dataset.width],
            "proj:transform": list(dataset.transform)[:6],
            "proj:bbox": list(dataset.bounds),
            "bands": bands,
            # WGS 84, for the results Item's bbox and geometry.
            **({"bbox": _wgs84_bounds(dataset)} if dataset.crs else {}),
        }


def _wgs84_bounds(dataset: Any) -> list[float]:
    """A dataset's bounds in WGS 84 (edges densified, since they bend when reprojected)."""
    bounds = transform_bounds(dataset.crs, "EPSG:4326", *dataset.bounds, densify_pts=21)
    return [round(value, 9) for value in bounds]


def job_usage(
    *,
    duration_seconds: float,
    input_pixels: int,
    produced_pixels: int,
    input_bytes: int,
    output_bytes: int,
) -> dict[str, Any]:
    """The openEO `usage` object of this process: CPU seconds, peak memory, wall time,
    pixels read and produced (`eoplex_executor.engine.pixel_meter`, the job's costs), bytes read
    and written."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu": {"value": round(own.ru_utime + own.ru_stime, 3), "unit": "cpu-seconds"},
        # Linux reports the peak resident set size in KiB.
        "memory": {"value": round(own.ru_maxrss / 1024, 1), "unit": "mb-peak"},
        "duration": {"value": round(duration_seconds, 3), "unit": "seconds"},
        "input_pixels": {"value": input_pixels, "unit": "pixels"},
        "produced_pixels": {"value": produced_pixels, "unit": "pixels"},
        "input": {"value": input_bytes, "unit": "bytes"},
        "output": {"value": output_bytes, "unit": "bytes"},
    }
