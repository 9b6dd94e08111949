"""What a run that did not finish (kill -9, a closed laptop lid) left behind, and how to clear it.

The services die with the runner (they get SIGTERM when it goes), but the servers are separate
sessions. The runner records their process groups in `.var/run.json`; the next run stops those it
still finds (matched by pid *and* start time, so a recycled pid is never touched; not by command
line, which redis-server rewrites).
"""

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from pfms_devservers.servers import Server

STATE = "run.json"


def started(pid: int) -> str | None:
    """The process's start time (clock ticks after boot): with the pid, it names one process for good."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else fields[19]  # a zombie is as good as gone


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def record(var: Path, servers: list[Server]) -> None:
    groups = [{"name": s.name, "pid": s.proc.pid, "started": started(s.proc.pid)} for s in servers if s.proc]
    runner = {"runner": os.getpid(), "runner_started": started(os.getpid())}
    (var / STATE).write_text(json.dumps({**runner, "groups": groups}, indent=2))


def forget(var: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (var / STATE).unlink()


def clear(var: Path, say: Callable[[str], None]) -> None:
    """Stop the servers of a previous run that died; refuse if that run is in fact still going."""
    try:
        state = json.loads((var / STATE).read_text())
    except (OSError, ValueError):
        return
    runner = int(state.get("runner", 0))
    if runner and runner != os.getpid() and started(runner) == state.get("runner_started"):
        raise SystemExit(f"another pfms-run (pid {runner}) is using {var}: stop it first (Ctrl-C in its terminal)")
    for group in state.get("groups", []):
        pid = int(group["pid"])
        leader = started(pid)
        # The leader alive: it must be the very process we started. The leader gone but its group
        # not (beam.smp after its rabbitmq-server script): the pid stays reserved while the group lives.
        if (leader is not None and leader != group.get("started")) or (leader is None and not group_alive(pid)):
            continue
        say(f"stopping {group['name']} left running by a run that did not finish (pid {pid})")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while group_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    forget(var)
