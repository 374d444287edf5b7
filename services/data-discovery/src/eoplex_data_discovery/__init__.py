"""The data-discovery service: the STAC collection catalog."""
