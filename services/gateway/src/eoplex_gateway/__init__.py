"""The gateway: the openEO HTTP API (FastAPI), the only HTTP surface of the back-end."""
