"""The capabilities service: the discovery documents of the back-end and its health."""
