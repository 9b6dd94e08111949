"""OFX and QFX statements (1.x SGML and 2.x XML), streamed; ofxtools reads the header and each
transaction; FITID is the dedupe key.

ofxtools parses whole documents, so the file is not handed to it: the header (validated by
`ofxtools.header.parse_header`) is read from the first `HEAD_BYTES`, then the body is decoded in
`CHUNK_BYTES` steps with the header's codec and scanned for statement boundaries, each statement's
`CURDEF` and `ACCTID`, and each `<STMTTRN>…</STMTTRN>` aggregate. Every transaction is parsed on
its own by ofxtools' `TreeBuilder` (which handles SGML's unclosed elements) and converted by its
`STMTTRN` model, so one bad transaction is a row error, and memory holds one chunk plus one
transaction whatever the file's size.
"""

import codecs
import io
import re
from collections.abc import Iterator
from typing import IO, Any

from ofxtools.header import OFXHeaderError, parse_header
from ofxtools.models.bank.stmt import STMTTRN
from ofxtools.Parser import TreeBuilder

from pfms_expense.imports.rows import BadFile, Parsed, Row, RowError, Skip

HEAD_BYTES = 64 * 1024
CHUNK_BYTES = 64 * 1024
MAX_TRANSACTION_CHARS = 64 * 1024
"""A single STMTTRN longer than this is not a bank transaction: the file is refused."""

_BODY = re.compile(rb"<OFX>", re.IGNORECASE)
# What the scan looks for; an element's value runs to the next tag.
_MARK = re.compile(r"<(/?)(STMTRS|CCSTMTRS|CURDEF|ACCTID|STMTTRN)>")
_LONGEST_MARK = len("</CCSTMTRS>")


def _describe(trn: Any) -> str:
    parts = [trn.name or (trn.payee.name if trn.payee is not None else None), trn.memo]
    return " ".join(p.strip() for p in parts if p and p.strip())


def _row(number: int, markup: str, account: str, currency: str) -> Parsed:
    try:
        builder = TreeBuilder()
        builder.feed(markup)
        trn = STMTTRN.from_etree(builder.close())
    except Exception as exc:  # ofxtools raises a variety of parse and conversion errors for one bad element
        return RowError(number, f"transaction is not valid OFX: {exc}"[:300])
    if trn.trnamt is None or trn.trnamt >= 0:
        return Skip(number, "money in or zero, not an expense")
    own_currency = trn.currency.cursym if trn.currency is not None else currency
    return Row(
        number=number,
        expense_date=trn.dtposted.date(),
        amount=-trn.trnamt,
        description=_describe(trn),
        currency=own_currency or None,
        account=account,
        external_id=trn.fitid,
    )


def _codec(stream: IO[bytes]) -> tuple[str, bytes]:
    """The body's codec from the validated header, and the body's first bytes (from `<OFX>` on)."""
    head = stream.read(HEAD_BYTES)
    found = _BODY.search(head)
    if found is None:
        raise BadFile("the file is not OFX: no <OFX> element after a header")
    try:
        header, _ = parse_header(io.BytesIO(head[: found.start()]))
    except (OFXHeaderError, ValueError, UnicodeDecodeError) as exc:
        raise BadFile(f"the file is not OFX: {exc}"[:300]) from exc
    return str(header.codec), head[found.start() :]


class _Body:
    """The decoded body as a sliding window: `text[pos:]` is what is left to scan."""

    def __init__(self, stream: IO[bytes], codec: str, first: bytes) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder(codec)(errors="strict")
        self.text = self._decode(first, final=False)
        self.pos = 0
        self.ended = False

    def _decode(self, data: bytes, *, final: bool) -> str:
        try:
            return self.decoder.decode(data, final=final)
        except UnicodeDecodeError as exc:
            raise BadFile(f"the OFX file is not in the encoding its header declares: {exc}"[:300]) from exc

    def more(self) -> bool:
        """Read the next chunk, dropping what was scanned; False at the end of the file."""
        if self.ended:
            return False
        data = self.stream.read(CHUNK_BYTES)
        self.ended = not data
        self.text = self.text[self.pos :] + self._decode(data, final=self.ended)
        self.pos = 0
        return not self.ended

    def until(self, end: str, start: int) -> int:
        """Index of `end` at or after `start`, reading on as needed; -1 if the file ends first."""
        while (found := self.text.find(end, start)) < 0:
            if len(self.text) - self.pos > MAX_TRANSACTION_CHARS:
                raise BadFile(f"the OFX file has an element longer than {MAX_TRANSACTION_CHARS} characters")
            offset = self.pos
            if not self.more():
                return -1
            start -= offset
        return found


def parse(stream: IO[bytes]) -> Iterator[Parsed]:
    """Transactions of every bank or card statement in the file, numbered from 1 in file order."""
    body = _Body(stream, *_codec(stream))
    number = statements = 0
    inside = False
    account = currency = ""
    while True:
        mark = _MARK.search(body.text, body.pos)
        if mark is None:
            body.pos = max(body.pos, len(body.text) - _LONGEST_MARK)  # a mark may straddle two chunks
            if body.more():
                continue
            break
        closing, tag, width = mark.group(1), mark.group(2), mark.end() - mark.start()
        body.pos = mark.start()  # kept while reading on: the mark stays at body.pos
        if tag in ("STMTRS", "CCSTMTRS"):
            inside = not closing
            if inside:
                statements += 1
                account = currency = ""
            body.pos += width
        elif closing:
            body.pos += width
        elif tag == "STMTTRN":
            end = body.until("</STMTTRN>", body.pos + width)
            if end < 0:
                raise BadFile("the OFX file ends inside a transaction")
            end += len("</STMTTRN>")
            if inside:
                number += 1
                yield _row(number, body.text[body.pos : end], account, currency)
            body.pos = end
        else:  # CURDEF or ACCTID (of the statement's account): the value runs to the next tag
            end = body.until("<", body.pos + width)
            end = len(body.text) if end < 0 else end
            value = body.text[body.pos + width : end].strip()
            if inside and tag == "CURDEF" and not currency:
                currency = value
            elif inside and tag == "ACCTID" and not account:
                account = value
            body.pos = end
    if statements == 0:
        raise BadFile("the OFX file holds no bank or credit-card statement")
