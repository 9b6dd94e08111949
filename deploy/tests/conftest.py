"""Fixtures for the deployment-file tests: the parsed files, read once per run."""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "compose.yaml").read_text()))


@pytest.fixture(scope="session")
def uvx_tool() -> Any:
    """Run a pinned PyPI validator with uvx (an isolated env, never the workspace's); skip if it cannot be fetched."""

    def run(requirement: str, *args: str) -> subprocess.CompletedProcess[str]:
        uvx = shutil.which("uvx")
        if uvx is None:
            pytest.skip("uvx is not installed")
        done = subprocess.run(
            [uvx, "--from", requirement, *args], capture_output=True, text=True, timeout=300, cwd=REPO
        )
        uv_failed = done.returncode != 0 and done.stderr.lstrip().startswith("error:")  # uv's own, not the tool's
        if uv_failed and any(word in done.stderr for word in ("fetch", "network", "download", "No solution found")):
            pytest.skip(f"{requirement} could not be installed: {done.stderr.strip()[:200]}")
        return done

    return run
