"""Importing this module makes the importing process undumpable (`sandbox.make_undumpable`).

The executor's forkserver imports it first (`worker.PRELOADED_MODULES`): the forkserver
starts from a fresh `exec`, which makes a process dumpable again, and it and every worker
forked from it hold the executor's environment, which UDF processes must not read.
"""

from eoplex_executor.udf.sandbox import make_undumpable

make_undumpable()
