"""ISO 20022 CAMT.053 bank-to-customer statements, streamed with lxml's iterparse.

Any camt.053.001.xx version: elements are matched by local name. Each `Ntry` is read when its end
tag arrives and then cleared, so memory stays flat however long the statement. Entity expansion
and network access are off (no XXE, no billion laughs).
"""

from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from lxml import etree

from pfms_expense.imports.rows import BadFile, Parsed, Row, RowError, Skip


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element: Any, *path: str) -> Any:
    for name in path:
        element = next((c for c in element if _local(c.tag) == name), None)
        if element is None:
            return None
    return element


def _text(element: Any, *path: str) -> str:
    found = _child(element, *path)
    return (found.text or "").strip() if found is not None else ""


def _all_text(element: Any, name: str) -> list[str]:
    return [(e.text or "").strip() for e in element.iter() if _local(e.tag) == name and (e.text or "").strip()]


def _booking_date(entry: Any) -> date:
    raw = _text(entry, "BookgDt", "Dt") or _text(entry, "BookgDt", "DtTm")[:10]
    raw = raw or _text(entry, "ValDt", "Dt") or _text(entry, "ValDt", "DtTm")[:10]
    if not raw:
        raise ValueError("the entry has no booking or value date")
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise ValueError(f"date {raw!r} is not an ISO date") from None


def _entry(number: int, entry: Any, account: str) -> Parsed:
    try:
        amount_element = _child(entry, "Amt")
        if amount_element is None:
            raise ValueError("the entry has no Amt")
        try:
            amount = Decimal((amount_element.text or "").strip())
        except InvalidOperation:
            raise ValueError(f"amount {amount_element.text!r} is not a number") from None
        if _text(entry, "CdtDbtInd") != "DBIT" or amount <= 0:
            return Skip(number, "money in or zero, not an expense")
        if _text(entry, "RvslInd").lower() == "true":
            return Skip(number, "a reversal, not an expense")
        description = " ".join(
            dict.fromkeys(_all_text(entry, "Ustrd") + _all_text(entry, "AddtlNtryInf") + _creditor(entry))
        )
        reference = _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef") or None
        return Row(
            number=number,
            expense_date=_booking_date(entry),
            amount=amount,
            description=description,
            currency=amount_element.get("Ccy"),
            account=account,
            external_id=reference,
        )
    except ValueError as exc:
        return RowError(number, str(exc))


def _creditor(entry: Any) -> list[str]:
    names = []
    for element in entry.iter():
        if _local(element.tag) == "Cdtr":
            name = _text(element, "Nm") or _text(element, "Pty", "Nm")
            if name:
                names.append(name)
    return names


def parse(stream: IO[bytes]) -> Iterator[Parsed]:
    """Debit entries of every statement in the file, numbered from 1 in file order."""
    account = ""
    number = 0
    seen_statement = False
    events = etree.iterparse(
        stream, events=("end",), resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
    )
    try:
        for _, element in events:
            name = _local(element.tag)
            if name == "Acct" and _local(element.getparent().tag) == "Stmt":
                account = _text(element, "Id", "IBAN") or _text(element, "Id", "Othr", "Id")
            elif name == "Ntry":
                number += 1
                yield _entry(number, element, account)
                element.clear(keep_tail=False)
                parent = element.getparent()
                while parent is not None and element.getprevious() is not None:
                    del parent[0]
            elif name == "Stmt":
                seen_statement = True
                element.clear(keep_tail=False)
    except etree.XMLSyntaxError as exc:
        raise BadFile(f"the file is not well-formed XML: {exc}"[:300]) from exc
    if not seen_statement:
        raise BadFile("the file holds no CAMT.053 statement (BkToCstmrStmt/Stmt)")
