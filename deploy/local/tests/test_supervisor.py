"""The supervisor relays output with a prefix, restarts crashes with backoff and stops what it started."""

import asyncio
import os
import sys
from pathlib import Path

import pytest

from pfms_local import supervisor
from pfms_local.fleet import wait_for
from pfms_local.supervisor import NotReady, Spec, Supervisor


class Lines:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def line(self, name: str, text: str) -> None:
        self.lines.append((name, text))

    def close(self) -> None:
        pass

    def of(self, name: str) -> list[str]:
        return [text for n, text in self.lines if n == name]


async def always() -> bool:
    return True


def python(code: str, name: str = "child", probe=always) -> Spec:
    return Spec(name, [sys.executable, "-c", code], dict(os.environ), probe)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "BACKOFF_FIRST", 0.05)


async def test_output_is_relayed_line_by_line_under_the_child_name() -> None:
    sink = Lines()
    sup = Supervisor(sink, autorestart=False)
    sup.start(python("print('one'); print('two', flush=True)", name="user"))
    await wait_for(lambda: "!! exited with code 0" in sink.of("user"), timeout=10)
    assert sink.of("user")[:2] == ["one", "two"]
    await sup.stop()


async def test_a_crashing_child_is_shown_and_restarted_with_growing_pauses() -> None:
    sink = Lines()
    sup = Supervisor(sink)
    sup.start(python("import sys; print('boom'); sys.exit(3)", name="expense"))
    await wait_for(lambda: sup["expense"].restarts >= 3, timeout=10)
    await sup.stop()
    crashes = [t for t in sink.of("expense") if t.startswith("!!")]
    assert crashes[0] == "!! exited with code 3; restarting in 0s (restart 1)"
    assert sink.of("expense").count("boom") >= 3


async def test_kill_keeps_a_child_down_until_restart() -> None:
    sink = Lines()
    sup = Supervisor(sink)
    sup.start(python("import time; print('up', flush=True); time.sleep(60)"))
    await wait_for(lambda: "up" in sink.of("child"), timeout=10)
    first = sup["child"].pid
    sup.kill("child")
    await wait_for(lambda: sup["child"].pid is None, timeout=10)
    await asyncio.sleep(0.3)
    assert sup["child"].pid is None and sup["child"].restarts == 0
    await sup.restart("child")
    await sup.wait_ready(["child"], timeout=10)
    assert sup["child"].pid not in (None, first)
    await sup.stop()
    assert sup["child"].pid is None


async def test_stop_escalates_to_sigkill_when_sigterm_is_ignored() -> None:
    sink = Lines()
    sup = Supervisor(sink, stop_timeout=0.5)
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    sup.start(python(code, name="stubborn"))
    await wait_for(lambda: "up" in sink.of("stubborn"), timeout=10)
    await sup.stop()
    assert "!! did not stop within 0.5s; killing" in sink.of("stubborn")
    assert sup["stubborn"].pid is None


async def test_wait_ready_names_the_children_that_are_not(tmp_path: Path) -> None:
    async def never() -> bool:
        return False

    sup = Supervisor(Lines())
    sup.start(python("import time; time.sleep(60)", name="tax", probe=never))
    with pytest.raises(NotReady, match="tax") as info:
        await sup.wait_ready(["tax"], timeout=0.5)
    assert info.value.names == ["tax"]
    await sup.stop()


async def test_children_die_with_the_runner(tmp_path: Path) -> None:
    """A runner killed with -9 leaves no service behind (PR_SET_PDEATHSIG)."""
    pidfile = tmp_path / "grandchild.pid"
    runner = f"""
import asyncio, os, sys
from pfms_local.supervisor import Spec, Supervisor
from pfms_local.logs import Files
async def main():
    sup = Supervisor(Files(__import__('pathlib').Path({str(tmp_path)!r})))
    async def ok(): return True
    code = "import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    sup.start(Spec("svc", [sys.executable, "-c", code], dict(os.environ), ok))
    await asyncio.sleep(60)
asyncio.run(main())
"""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", runner)
    await wait_for(lambda: pidfile.exists() and pidfile.read_text(), timeout=20)
    child = int(pidfile.read_text())
    proc.kill()
    await proc.wait()

    def gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        return Path(f"/proc/{child}/cmdline").read_bytes() == b""  # a zombie nobody reaps

    await wait_for(gone, timeout=10, message="orphaned child gone")
