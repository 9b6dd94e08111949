"""A run killed with -9 leaves its servers running; the next run stops exactly those."""

import os
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pfms_local import leftovers


def test_the_next_run_stops_the_servers_a_dead_run_left(tmp_path: Path) -> None:
    server = subprocess.Popen(["sleep", "60"], start_new_session=True)
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    fake: Any = SimpleNamespace(name="postgres", proc=server)
    leftovers.record(tmp_path, [fake])
    state = (tmp_path / leftovers.STATE).read_text().replace(f'"runner": {os.getpid()}', '"runner": 999999999')
    (tmp_path / leftovers.STATE).write_text(state)
    said: list[str] = []
    try:
        leftovers.clear(tmp_path, said.append)
        deadline = time.monotonic() + 10
        while server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.poll() is not None
        assert bystander.poll() is None
        assert said and "postgres" in said[0]
        assert not (tmp_path / leftovers.STATE).exists()
    finally:
        bystander.kill()
        server.kill()
        bystander.wait()
        server.wait()


def test_nothing_recorded_means_nothing_to_do(tmp_path: Path) -> None:
    leftovers.clear(tmp_path, lambda text: None)
