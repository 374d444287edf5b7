"""Registering rasters and static STAC catalogs in the catalog (`eoplex admin collections`)."""
