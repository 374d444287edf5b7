"""The executor: the process-graph engine (sync gRPC server and batch run-job)."""
