"""Filters on raster data cubes: bbox, temporal, bands, spatial, labels."""
