"""The openEO routes, one module per owning service."""
