"""Stopping background tasks reliably.

On Python 3.11 a cancellation can be lost: `asyncio.wait_for` returns the result when
the awaited future completes in the same loop iteration as the cancel, and libraries
(nats-py's `next_msg`, for one) await such a call inside their own task. A loop like
`while True: await subscription.fetch(...)` then simply goes on, and a plain
`task.cancel(); await task` waits for ever. `stop_task` cancels again until the task
has ended.
"""

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


async def stop_task(task: asyncio.Task[object], *, retry_seconds: float = 0.5) -> None:
    """Cancel `task` and wait until it has ended, cancelling again every `retry_seconds`
    if a cancellation was swallowed. An exception the task ended with is logged, not
    raised: the caller is shutting it down either way."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=retry_seconds)
    if task.cancelled():
        return
    with contextlib.suppress(asyncio.CancelledError):
        error = task.exception()
        if error is not None:
            log.warning("background task %s ended with an error", task.get_name(), exc_info=error)
