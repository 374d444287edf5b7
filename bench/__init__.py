"""`make bench`: the executor measured against a hand-written rasterio+numpy floor.

`bench.data` writes the input COGs, `bench.floor` and `bench.executor_run` each
compute max-over-time NDVI in a process of their own, `bench.run` runs them both
on the same data and reports ratios (see `python -m bench.run --help`).
"""
