"""What a run that did not finish (kill -9, a closed laptop lid) left behind, and how to clear it.

The services die with the runner (they get SIGTERM when it goes), but the servers are separate
sessions. The runner records their process groups in `.var/run.json`; the next run stops those it
still finds (matched by pid *and* command line, so a recycled pid is never touched).
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


def cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None


def record(var: Path, servers: list[Server]) -> None:
    groups = [{"name": s.name, "pid": s.proc.pid, "cmd": cmdline(s.proc.pid)} for s in servers if s.proc is not None]
    (var / STATE).write_text(
        json.dumps({"runner": os.getpid(), "runner_cmd": cmdline(os.getpid()), "groups": groups}, indent=2)
    )


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
    if runner and runner != os.getpid() and cmdline(runner) == state.get("runner_cmd"):
        raise SystemExit(f"another pfms-run (pid {runner}) is using {var}: stop it first (Ctrl-C in its terminal)")
    for group in state.get("groups", []):
        pid = int(group["pid"])
        if not cmdline(pid) or cmdline(pid) != group.get("cmd"):
            continue
        say(f"stopping {group['name']} left running by a run that did not finish (pid {pid})")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while cmdline(pid) and time.monotonic() < deadline:  # a zombie's cmdline is empty
            time.sleep(0.1)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    forget(var)
