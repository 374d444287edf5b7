"""Reducers and array processes: on plain arrays and on DimensionArrays in child processes."""
