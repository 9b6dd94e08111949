"""Gateway test fixtures; the helpers live in gwkit.py (conftest modules are not importable by name)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

# The repo runs pytest with --import-mode=importlib, which puts no test folder on sys.path.
sys.path.insert(0, str(Path(__file__).parent))

from gwkit import EchoUpstream, Key, RunningGateway, claims, make_key, start_gateway, token


@pytest.fixture(scope="session")
def key1() -> Key:
    return make_key("key-2024-01")


@pytest.fixture(scope="session")
def key2() -> Key:
    return make_key("key-2024-02")


@pytest.fixture(scope="session")
async def upstream(key1: Key) -> AsyncIterator[EchoUpstream]:
    up = EchoUpstream()
    up.jwks = {"keys": [key1.jwk]}
    await up.start()
    yield up
    await up.close()


@pytest.fixture(scope="session")
async def gw(upstream: EchoUpstream) -> AsyncIterator[RunningGateway]:
    running = await start_gateway(upstream)
    yield running
    await running.close()


@pytest.fixture
def bearer(key1: Key) -> Callable[..., dict[str, str]]:
    def make(**overrides: Any) -> dict[str, str]:
        return {"Authorization": "Bearer " + token(key1, claims(**overrides))}

    return make
