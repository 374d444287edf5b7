"""Processes that reshape or combine raster data cubes (reduce, apply, merge, mask, rename...)."""
