"""Geometry: CRSs, GeoJSON, vector cubes from GeoJSON, zonal statistics, band names."""
