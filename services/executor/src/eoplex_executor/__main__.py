"""`python -m eoplex_executor [serve]` serves synchronous processing and estimates;
`python -m eoplex_executor run-job JOB_ID SPEC` runs one batch job (started by the jobs
service's launcher, which hands it the job's spec: a file, or `-` for standard input)."""

import sys


def _dispatch(arguments: list[str]) -> None:
    from eoplex_executor.udf.sandbox import make_undumpable

    # Before anything else: UDF processes must not read this process's environment.
    make_undumpable()
    match arguments:
        case [] | ["serve"]:
            from eoplex_executor.serve.server import main

            main()
        case ["run-job", job_id, spec]:
            from eoplex_executor.batch.run_job import main as run_job

            run_job(job_id, spec)
        case _:
            sys.exit("usage: python -m eoplex_executor [serve | run-job JOB_ID SPEC_FILE|-]")


# Only when run as a program: multiprocessing may import this module in its children.
if __name__ == "__main__":
    _dispatch(sys.argv[1:])
