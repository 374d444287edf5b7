"""resample_cube_temporal: a cube's temporal labels replaced by a target cube's, each
taking the values of the nearest source label.

Nearest is decided on the labels alone (ties go to the earlier label), so the result is a
lazy selection by index. With `valid_within`, every pixel takes the nearest *valid*
value within that many days of the target label: the candidate labels are put in order
of distance once, and each pixel keeps the first finite value among them, which xarray
does lazily with one `where` per candidate.
"""

import numpy as np
import xarray as xr

from eoplex_common.errors import DimensionMismatch, DimensionNotAvailable, ProcessParameterInvalid
from eoplex_executor.engine.cube import TEMPORAL, RasterCube
from eoplex_executor.engine.registry import process
from eoplex_executor.processes._checks import require_cube

DAY_NS = 86_400 * 10**9


@process()
def resample_cube_temporal(
    data: RasterCube,
    target: RasterCube,
    dimension: str | None = None,
    valid_within: float | None = None,
) -> RasterCube:
    """openEO `resample_cube_temporal`: for every temporal dimension both cubes have (or
    only `dimension`), the target's labels, each with the values of the nearest source
    label (the earlier one on a tie). With `valid_within` (days), a pixel takes the
    nearest finite value within that distance, or no-data when there is none. Raises
    DimensionNotAvailable for a `dimension` missing from a cube, DimensionMismatch for one
    that is not temporal in both or no shared temporal dimension, and
    ProcessParameterInvalid for labels that are not instants or a negative
    `valid_within`."""
    cube = require_cube(data, "resample_cube_temporal", "data")
    reference = require_cube(target, "resample_cube_temporal", "target")
    if valid_within is not None and (
        isinstance(valid_within, bool)
        or not isinstance(valid_within, int | float)
        or not valid_within >= 0
    ):
        raise _invalid("valid_within", "a number of days >= 0 or null is required")
    result = cube.data
    for dim in _resampled_dimensions(cube, reference, dimension):
        source = _instants(cube, dim, "data")
        targets = _instants(reference, dim, "target")
        if valid_within is None:
            result = result.isel({dim: _nearest(source, targets)})
        else:
            result = _nearest_valid(result, dim, source, targets, valid_within)
        result = result.assign_coords({dim: targets})
    return cube.with_data(result.transpose(*cube.dims))


def _resampled_dimensions(
    cube: RasterCube, reference: RasterCube, dimension: str | None
) -> list[str]:
    if dimension is not None:
        cubes = {"data": cube, "target": reference}
        missing = [name for name, each in cubes.items() if dimension not in each.dims]
        if missing:
            where = " and ".join(missing)
            raise DimensionNotAvailable(
                process="resample_cube_temporal",
                parameter="dimension",
                reason=f"{dimension!r} is not a dimension of {where}.",
            )
        if any(each.dimension_types.get(dimension) != TEMPORAL for each in cubes.values()):
            raise DimensionMismatch(
                process="resample_cube_temporal",
                parameter="dimension",
                reason=f"{dimension!r} is not temporal in both cubes.",
            )
        return [dimension]
    shared = [
        dim
        for dim in cube.dimensions_of_type(TEMPORAL)
        if reference.dimension_types.get(dim) == TEMPORAL
    ]
    if not shared:
        raise DimensionMismatch(
            process="resample_cube_temporal",
            parameter="dimension",
            reason="the cubes have no temporal dimension of the same name.",
        )
    return shared


def _instants(cube: RasterCube, dim: str, parameter: str) -> np.ndarray:
    values = cube.data[dim].values
    if not np.issubdtype(values.dtype, np.datetime64):
        raise _invalid(parameter, f"the labels of {dim!r} are not instants (aggregated already?)")
    return values.astype("datetime64[ns]")


def _nearest(source: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The position of the nearest source label of every target; the earlier on a tie."""
    distance = np.abs(targets[:, np.newaxis] - source[np.newaxis, :])
    # argmin picks the first minimum; source labels are sorted in time below, so the
    # first one is the earlier.
    order = np.argsort(source, kind="stable")
    return order[np.argmin(distance[:, order], axis=1)]


def _nearest_valid(
    values: xr.DataArray, dim: str, source: np.ndarray, targets: np.ndarray, days: float
) -> xr.DataArray:
    # Nanosecond instants lie less than 2**63 ns apart: a longer limit is no limit.
    limit = np.timedelta64(round(min(days, (2**63 - 1) // DAY_NS) * DAY_NS), "ns")
    planes = []
    for instant in targets:
        distance = np.abs(source - instant)
        # Nearest first, then earlier first; only labels within the limit (inclusive).
        candidates = [
            int(position)
            for position in np.lexsort((source, distance))
            if distance[position] <= limit
        ]
        plane = xr.full_like(values.isel({dim: 0}, drop=True), np.nan, dtype=_float(values))
        for position in reversed(candidates):
            candidate = values.isel({dim: position}, drop=True)
            # Later (farther) candidates are overwritten by nearer valid ones.
            plane = xr.where(np.isfinite(candidate), candidate, plane)
        planes.append(plane)
    return xr.concat(planes, dim=dim, coords="minimal", compat="override")


def _float(values: xr.DataArray) -> np.dtype:
    return np.result_type(values.dtype, np.float32)


def _invalid(parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(
        process="resample_cube_temporal", parameter=parameter, reason=reason
    )
