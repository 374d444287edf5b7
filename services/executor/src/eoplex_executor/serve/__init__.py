"""Synchronous processing: the gRPC server, its pool of worker processes, estimates."""
