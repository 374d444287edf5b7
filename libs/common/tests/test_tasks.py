"""`stop_task` ends a background loop even when a cancellation is swallowed, as nats-py's
`fetch` does on Python 3.11 when a message arrives with the cancel."""

import asyncio
import logging

import pytest

from eoplex_common.tasks import stop_task


async def test_a_swallowed_cancellation_is_repeated_until_the_task_ends() -> None:
    swallowed = 0

    async def loop() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed < 2:
                    swallowed += 1  # what a lost cancellation looks like to the loop
                    continue
                raise

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    await asyncio.wait_for(stop_task(task, retry_seconds=0.05), timeout=5)
    assert task.cancelled()
    assert swallowed == 2


async def test_an_ended_task_is_left_alone_and_its_error_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails() -> None:
        raise RuntimeError("broken")

    task = asyncio.create_task(fails(), name="broken-loop")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="eoplex_common.tasks"):
        await stop_task(task)
    assert "broken-loop" in caplog.text


async def test_the_caller_being_cancelled_is_not_swallowed() -> None:
    released = False

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if released:
                    raise

    task = asyncio.create_task(stubborn())
    stopper = asyncio.create_task(stop_task(task, retry_seconds=0.05))
    await asyncio.sleep(0.2)
    stopper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopper
    assert not task.done()
    released = True
    await stop_task(task)
    assert task.cancelled()
