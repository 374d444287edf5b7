"""The executor: the process-graph engine (synchronous gRPC server and batch run-job).

Its rooms, each importing only the rooms below it (`make lint` checks the layers):

- `serve/`, `batch/`: the two ways it runs. `serve` is the gRPC server with its pool
  of worker processes (synchronous requests, estimates); `batch` is one batch job's
  `run-job`, from the spec its launcher hands it to its results (`run_job`, with its
  events and heartbeat in `events`, its uploads, asset metadata and usage in `assets`).
- `processes/`: the openEO processes, one module per family, and the helpers several
  families share in `_`-named modules (`_checks`, `_children`, `_elementwise`, `_labels`,
  `_periods`).
- `io/`: the outside world: reading rasters (`cog`), writing files (`raster_formats`,
  `vector_formats`), GDAL's environment, the outbound guard and the gRPC clients of the
  catalog and the caller's workspace.
- `udf/`: UDF processes: their sandbox, their runtime, their scratch directories.
- `geo/`: geometries, vector cubes from GeoJSON, zonal statistics, band names.
- `engine/`: the data cubes, the execution environment, the graph evaluator, the process
  registry, the pixel meter and the settings.

`python -m eoplex_executor [serve | run-job JOB_ID SPEC]` starts either way (`__main__`).
"""
