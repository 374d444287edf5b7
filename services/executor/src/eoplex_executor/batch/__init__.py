"""One batch job's `run-job`: the run (`run_job`), its events and heartbeat (`events`),
its uploaded results and usage (`assets`)."""
