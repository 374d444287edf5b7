"""Every implemented openEO process; importing this package registers them all.

A module named without `_` holds processes; one named with `_` (`_checks`, `_children`,
`_elementwise`, `_labels`, `_periods`) holds what several of them share, under public
names."""

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
