"""Decoding a byte stream line by line without holding the file."""

import codecs
from collections.abc import Iterator
from typing import IO

from pfms_expense.imports.rows import BadFile

CHUNK = 64 * 1024


def text_lines(stream: IO[bytes], encoding: str) -> Iterator[str]:
    """Lines (with their endings) decoded incrementally; a leading byte-order mark is dropped."""
    decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8" else encoding)()
    pending = ""
    try:
        while chunk := stream.read(CHUNK):
            pending += decoder.decode(chunk)
            lines = pending.splitlines(keepends=True)
            pending = lines.pop() if lines and not lines[-1].endswith(("\n", "\r")) else ""
            yield from lines
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise BadFile(f"the file is not valid {encoding} text ({exc.reason})") from exc
    if pending:
        yield pending
