"""OFX and QFX statements (1.x SGML and 2.x XML) read with ofxtools; FITID is the dedupe key.

ofxtools parses the document structure; each STMTTRN is then converted on its own, so one bad
transaction is a row error instead of failing the whole statement.
"""

from collections.abc import Iterator
from typing import IO, Any

from ofxtools.header import OFXHeaderError
from ofxtools.models.bank.stmt import STMTTRN
from ofxtools.Parser import OFXTree, ParseError

from pfms_expense.imports.rows import BadFile, Parsed, Row, RowError, Skip

STATEMENTS = ("STMTRS", "CCSTMTRS")


def _text(element: Any, path: str) -> str:
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _describe(trn: Any) -> str:
    parts = [trn.name or (trn.payee.name if trn.payee is not None else None), trn.memo]
    return " ".join(p.strip() for p in parts if p and p.strip())


def _row(number: int, element: Any, account: str, currency: str) -> Parsed:
    try:
        trn = STMTTRN.from_etree(element)
    except Exception as exc:  # ofxtools raises a variety of conversion errors for one bad element
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


def parse(stream: IO[bytes]) -> Iterator[Parsed]:
    """Transactions of every bank or card statement in the file, numbered from 1 in file order."""
    tree = OFXTree()
    try:
        tree.parse(stream)
    except (OFXHeaderError, ParseError, ValueError, UnicodeDecodeError) as exc:
        raise BadFile(f"the file is not OFX: {exc}"[:300]) from exc
    root = tree.getroot()
    statements = [s for s in root.iter() if s.tag in STATEMENTS] if root is not None else []
    if not statements:
        raise BadFile("the OFX file holds no bank or credit-card statement")
    number = 0
    for statement in statements:
        account = _text(statement, "BANKACCTFROM/ACCTID") or _text(statement, "CCACCTFROM/ACCTID")
        currency = _text(statement, "CURDEF")
        for element in statement.iter("STMTTRN"):
            number += 1
            yield _row(number, element, account, currency)
