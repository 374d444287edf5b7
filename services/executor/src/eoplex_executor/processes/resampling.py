"""Spatial resampling: resample_spatial, resample_cube_spatial."""
