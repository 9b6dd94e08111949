"""Where the children's output goes: one terminal with `[name]` prefixes, or one file per child.

Services log JSON lines (good for machines); on a developer's terminal the runner turns each into
`12:00:01 INFO  event key=value`, so fifteen processes stay readable side by side.
"""

import contextlib
import json
import sys
from pathlib import Path
from typing import Protocol, TextIO

_COLOURS = (31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96)
_HIDDEN = frozenset({"service", "event", "level", "timestamp", "logger"})


class Sink(Protocol):
    def line(self, name: str, text: str) -> None: ...

    def close(self) -> None: ...


def pretty(text: str) -> str:
    """A JSON log record as one short human line; anything else unchanged."""
    if not text.startswith("{"):
        return text
    try:
        record = json.loads(text)
    except ValueError:
        return text
    if not isinstance(record, dict) or "event" not in record:
        return text
    clock = str(record.get("timestamp", ""))[11:19]
    level = str(record.get("level", "")).upper()
    extras = " ".join(f"{k}={v}" for k, v in record.items() if k not in _HIDDEN and k != "exception")
    out = f"{clock} {level:<5} {record['event']}" + (f"  {extras}" if extras else "")
    if record.get("exception"):
        out += "\n" + str(record["exception"])
    return out


class Console:
    """All children on one terminal, each line prefixed `[name]` (coloured when it is a terminal)."""

    def __init__(self, names: list[str], stream: TextIO = sys.stdout, raw: bool = False) -> None:
        self.stream = stream
        self.raw = raw
        self.width = max((len(n) for n in names), default=4)
        self.colour = stream.isatty()
        self._colours = {name: _COLOURS[i % len(_COLOURS)] for i, name in enumerate(names)}

    def prefix(self, name: str) -> str:
        tag = f"[{name}]".ljust(self.width + 2)
        colour = self._colours.get(name, 0)
        return f"\033[{colour}m{tag}\033[0m" if self.colour and colour else tag

    def line(self, name: str, text: str) -> None:
        body = text if self.raw else pretty(text)
        head = self.prefix(name)
        for part in body.splitlines() or [""]:
            self.stream.write(f"{head} {part}\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class Files:
    """One log file per child under `folder` (tests: quiet terminal, full logs to read on failure)."""

    def __init__(self, folder: Path, fresh: bool = False) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        if fresh:  # the runner: each run's logs start empty
            for old in folder.glob("*.log"):
                old.unlink()
        self._files: dict[str, TextIO] = {}

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def line(self, name: str, text: str) -> None:
        handle = self._files.get(name)
        if handle is None:
            handle = self._files[name] = open(self.path(name), "a", encoding="utf-8")  # noqa: SIM115
        handle.write(text + "\n")
        handle.flush()

    def tail(self, name: str, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.path(name).read_text(errors="replace").splitlines()[-lines:])
        return ""

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()


class Tee:
    """The same lines to several sinks (the runner: terminal plus `.var/logs/<name>.log`)."""

    def __init__(self, *sinks: Sink) -> None:
        self.sinks = sinks

    def line(self, name: str, text: str) -> None:
        for sink in self.sinks:
            sink.line(name, text)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
