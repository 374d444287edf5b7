"""Input and output: the raster reader (`cog`), the writers of raster and vector formats
(`raster_formats`, `vector_formats`), GDAL's environment (`gdal`), the outbound guard
(`outbound`), and the clients of the catalog and of the caller's workspace (`clients`)."""
