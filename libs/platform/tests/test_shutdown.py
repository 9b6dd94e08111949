"""Shutdown steps are bounded: a close that never answers cannot keep a service from exiting."""

import asyncio
import time

import pytest

from pfms_platform import app


async def test_a_step_that_never_finishes_is_abandoned_after_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "SHUTDOWN_STEP_SECONDS", 0.2)
    began = time.perf_counter()
    await app._bounded(asyncio.Event().wait(), "a close that hangs")
    assert 0.15 < time.perf_counter() - began < 2


async def test_a_step_that_finishes_runs_to_its_end() -> None:
    done: list[str] = []

    async def close() -> None:
        await asyncio.sleep(0.01)
        done.append("closed")

    await app._bounded(close(), "a close that answers")
    assert done == ["closed"]
