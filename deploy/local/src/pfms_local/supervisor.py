"""Child processes under one parent: output relayed line by line, crashes shown and restarted with backoff.

Each child runs in its own session (process group): a Ctrl-C on the terminal reaches only the
runner, which then stops the children in the order it chooses, and a stop or kill reaches a child's
own children too. Children also get SIGTERM if the runner itself dies, so none is left behind.
"""

import asyncio
import contextlib
import ctypes
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from pfms_local.logs import Sink

Probe = Callable[[], Awaitable[bool]]

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 30.0
"""A child that ran this long before crashing starts again from the first backoff step."""


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM it when the runner goes away."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Spec:
    """What to run: the command, its environment and how to tell it is ready to serve."""

    name: str
    argv: list[str]
    env: dict[str, str]
    probe: Probe
    cwd: Path | None = None


@dataclass
class Child:
    spec: Spec
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0
    held: bool = False
    """Killed on purpose (a fault test): stays down until `restart`."""
    stopping: bool = False
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.running and self.proc else None


class NotReady(TimeoutError):
    def __init__(self, names: list[str], timeout: float, detail: str = "") -> None:
        super().__init__(f"not ready after {timeout:.0f}s: {', '.join(names)}{detail}")
        self.names = names


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    """Starts, watches, restarts and stops a set of named children."""

    def __init__(self, sink: Sink, *, autorestart: bool = True, stop_timeout: float = 20.0) -> None:
        self.sink = sink
        self.autorestart = autorestart
        self.stop_timeout = stop_timeout
        self.children: dict[str, Child] = {}

    def __getitem__(self, name: str) -> Child:
        return self.children[name]

    def start(self, spec: Spec) -> Child:
        """Start (or start again) a child; returns at once, see `wait_ready`."""
        child = self.children.get(spec.name)
        if child is not None and child.task is not None and not child.task.done():
            raise RuntimeError(f"{spec.name} is already supervised")
        child = self.children[spec.name] = Child(spec, restarts=child.restarts if child else 0)
        child.task = asyncio.create_task(self._watch(child), name=f"watch-{spec.name}")
        return child

    async def _spawn(self, child: Child) -> asyncio.subprocess.Process:
        spec = child.spec
        proc = await asyncio.create_subprocess_exec(
            *spec.argv,
            env=spec.env,
            cwd=spec.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            limit=1 << 20,
        )
        child.proc = proc
        return proc

    async def _relay(self, child: Child, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            try:
                raw = await proc.stdout.readline()
            except ValueError:  # a line longer than the buffer: pass on what there is
                raw = await proc.stdout.read(1 << 20)
            if not raw:
                return
            self.sink.line(child.name, raw.decode(errors="replace").rstrip("\r\n"))

    async def _watch(self, child: Child) -> None:
        """Run the child until it is stopped; restart it with growing pauses when it dies by itself."""
        loop = asyncio.get_running_loop()
        backoff = BACKOFF_FIRST
        while not (child.stopping or child.held):
            started = loop.time()
            try:
                proc = await self._spawn(child)
            except OSError as exc:
                self.sink.line(child.name, f"!! cannot start {child.spec.argv[0]}: {exc}")
                return
            await self._relay(child, proc)
            code = await proc.wait()
            if child.stopping or child.held or not self.autorestart:
                if not child.stopping:
                    self.sink.line(child.name, f"!! {describe_exit(code)}")
                return
            if loop.time() - started > STABLE_AFTER:
                backoff = BACKOFF_FIRST
            child.restarts += 1
            self.sink.line(
                child.name, f"!! {describe_exit(code)}; restarting in {backoff:.0f}s (restart {child.restarts})"
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def wait_ready(self, names: list[str], timeout: float) -> None:
        """Until every named child's probe says ready; NotReady names the ones that are not."""
        pending = set(names)
        deadline = asyncio.get_running_loop().time() + timeout

        async def check(name: str) -> None:
            child = self.children[name]
            if child.running and await child.spec.probe():
                pending.discard(name)

        while pending:
            await asyncio.gather(*(check(n) for n in list(pending)))
            if not pending:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise NotReady(sorted(pending), timeout)
            await asyncio.sleep(0.2)

    def kill(self, name: str) -> None:
        """SIGKILL the child's whole process group, as a crash would; it stays down until `restart`."""
        child = self.children[name]
        child.held = True
        if child.proc is not None and child.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.proc.pid, signal.SIGKILL)

    async def stop(self, names: list[str] | None = None) -> None:
        """SIGTERM the named children (all by default) together; SIGKILL what is left after the timeout."""
        children = [self.children[n] for n in (names if names is not None else list(self.children))]
        for child in children:
            child.stopping = True
            if child.proc is not None and child.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signal.SIGTERM)
        await asyncio.gather(*(self._reap(c) for c in children))

    async def _reap(self, child: Child) -> None:
        if child.proc is not None and child.proc.returncode is None:
            try:
                await asyncio.wait_for(child.proc.wait(), self.stop_timeout)
            except TimeoutError:
                self.sink.line(child.name, f"!! did not stop within {self.stop_timeout:g}s; killing")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signal.SIGKILL)
                await child.proc.wait()
        if child.task is not None:
            if not child.task.done():
                child.task.cancel()  # it may be sleeping before a restart
            with contextlib.suppress(asyncio.CancelledError):
                await child.task

    async def restart(self, name: str) -> Child:
        """Stop the child if it runs (or was killed) and start it again; see `wait_ready`."""
        await self.stop([name])
        return self.start(self.children[name].spec)
