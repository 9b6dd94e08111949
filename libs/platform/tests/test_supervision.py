"""A background loop that crashes is started again, not left dead behind a serving process."""

import asyncio

import pytest

from pfms_platform import app


async def test_a_crashing_loop_is_restarted_until_it_ends_by_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def no_wait(seconds: float) -> None:
        pauses.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(app.asyncio, "sleep", no_wait)
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs < 4:
            raise ConnectionError("database went away between batches")

    await asyncio.wait_for(app._supervised("relay", flaky), 5)
    assert runs == 4 and pauses == [1.0, 2.0, 4.0]  # growing pauses, then the loop ran to its end


async def test_cancelling_a_supervised_loop_stops_it() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(app._supervised("consumer", forever))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
