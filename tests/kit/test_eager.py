"""``eager.start``: a coroutine runs at once, and a task finishes it only if it suspended."""

from __future__ import annotations

import asyncio

import pytest

from app.kit import eager


async def test_a_coroutine_that_never_waits_is_done_on_return() -> None:
    done: list[str] = []

    async def send() -> None:
        done.append("sent")

    assert eager.start(send()) is None
    assert done == ["sent"]


async def test_an_error_before_the_first_wait_is_raised_to_the_caller() -> None:
    async def send() -> None:
        raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError):
        eager.start(send())


async def test_a_coroutine_that_waits_is_finished_by_awaiting_its_rest() -> None:
    gate = asyncio.Event()
    steps: list[str] = []

    async def send() -> None:
        steps.append("before")
        await gate.wait()
        steps.append("after")
        await asyncio.sleep(0)  # a bare yield too
        steps.append("end")

    rest = eager.start(send())
    assert rest is not None
    assert steps == ["before"]
    task = asyncio.get_running_loop().create_task(_await(rest))
    await asyncio.sleep(0.01)
    assert steps == ["before"]
    assert not task.done()
    gate.set()
    await asyncio.wait_for(task, 1)
    assert steps == ["before", "after", "end"]


async def test_cancelling_the_task_reaches_the_coroutine() -> None:
    seen: list[str] = []

    async def send() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    rest = eager.start(send())
    assert rest is not None
    task = asyncio.get_running_loop().create_task(_await(rest))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["cancelled"]


async def test_an_error_after_the_wait_reaches_the_awaiting_task() -> None:
    gate = asyncio.Event()

    async def send() -> None:
        await gate.wait()
        raise BrokenPipeError

    rest = eager.start(send())
    assert rest is not None
    task = asyncio.get_running_loop().create_task(_await(rest))
    gate.set()
    with pytest.raises(BrokenPipeError):
        await task


async def _await(rest: eager.Rest) -> None:
    await rest
