"""One batch job's `run-job`: fetch its spec, run it, upload its results, report events."""
