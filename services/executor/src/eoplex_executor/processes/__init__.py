"""Every implemented openEO process; importing this package registers them all."""

from eoplex_executor.processes import (  # noqa: F401
    arithmetic,
    arrays,
    climatology,
    cubes,
    dates,
    filters,
    inspection,
    loading,
    logic,
    math,
    neighborhood,
    reducers,
    resampling,
    reshaping,
    saving,
    stac,
    temporal_resampling,
    text,
    udf,
    vector,
)
