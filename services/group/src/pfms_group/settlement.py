"""Who should pay whom to settle a group (seed §7.2), on net balances in minor units (no I/O).

`simplify` is the greedy largest-debtor ↔ largest-creditor match. Each transfer zeroes at least one
of the two, so n members with a non-zero balance need at most n - 1 transfers. Ties are broken by
amount (largest first) and then by member id, never by insertion order, so a payment between two
members leaves the suggestions of everyone else where they were.
"""

import heapq
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Transfer:
    from_user_id: uuid.UUID
    to_user_id: uuid.UUID
    amount: int


def simplify(balances: Mapping[uuid.UUID, int]) -> list[Transfer]:
    """Transfers that bring every balance to zero (positive = is owed, negative = owes)."""
    if sum(balances.values()) != 0:
        raise ValueError("balances must add up to zero")
    creditors = [(-amount, member) for member, amount in balances.items() if amount > 0]
    debtors = [(amount, member) for member, amount in balances.items() if amount < 0]
    heapq.heapify(creditors)
    heapq.heapify(debtors)
    transfers: list[Transfer] = []
    while creditors and debtors:
        credit, creditor = heapq.heappop(creditors)
        debt, debtor = heapq.heappop(debtors)
        amount = min(-credit, -debt)
        transfers.append(Transfer(debtor, creditor, amount))
        if -credit > amount:
            heapq.heappush(creditors, (credit + amount, creditor))
        if -debt > amount:
            heapq.heappush(debtors, (debt + amount, debtor))
    return transfers


def balances_of(transfers: Iterable[Transfer]) -> dict[uuid.UUID, int]:
    """Net balances that a list of transfers settles (the inverse of `simplify`, for checks)."""
    out: dict[uuid.UUID, int] = {}
    for t in transfers:
        out[t.from_user_id] = out.get(t.from_user_id, 0) - t.amount
        out[t.to_user_id] = out.get(t.to_user_id, 0) + t.amount
    return out
