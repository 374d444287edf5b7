"""Input and output: raster reading and writing, vector formats, GDAL's environment, the
outbound guard, and the clients of the catalog and of the caller's workspace."""
