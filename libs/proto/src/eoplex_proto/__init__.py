"""Generated stubs for proto/openeo/<service>/v1/*.proto.

Regenerate with `make proto`; never edit.
"""
