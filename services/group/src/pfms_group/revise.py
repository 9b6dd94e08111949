"""Editing and deleting a group expense: the ledger lines are replaced and the running totals moved by the difference.

An edit recomputes the split only when it touches what the split depends on (amount, currency, date,
split type, participants, payers); otherwise it rewrites the text fields. Participants and payers
left out of an edit are carried over from the expense as it stands (see `carried_over`). Edits
after a confirmed settlement are allowed: balances are net, so they simply move.
"""

import uuid
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.group import GroupExpenseDeleted, GroupExpenseUpdated
from pfms_finance.currency import quantize
from pfms_group import feed, ledger, splits
from pfms_group.models import ExpenseDebt, ExpensePayer, ExpenseSplit, FinanceGroup, GroupExpense
from pfms_group.splits import Participant, SplitType, to_minor
from pfms_platform.errors import Invalid
from pfms_platform.events.outbox import emit

SPLIT_FIELDS = frozenset({"amount", "currency", "expense_date", "split_type", "participants", "payers"})


@dataclass(frozen=True)
class Lines:
    """An expense's shares and payments as stored, in minor units of the group's currency."""

    shares: dict[uuid.UUID, int]
    paid: dict[uuid.UUID, int]
    inputs: list[ExpenseSplit]


async def lines_of(session: AsyncSession, expense: GroupExpense, currency: str) -> Lines:
    splits = list(
        (
            await session.scalars(
                select(ExpenseSplit).where(ExpenseSplit.expense_id == expense.id).order_by(ExpenseSplit.user_id)
            )
        ).all()
    )
    payers = await session.scalars(select(ExpensePayer).where(ExpensePayer.expense_id == expense.id))
    return Lines(
        shares={s.user_id: to_minor(quantize(s.share_amount, currency), currency) for s in splits},
        paid={p.user_id: to_minor(quantize(p.paid_amount, currency), currency) for p in payers},
        inputs=splits,
    )


def current_draft(expense: GroupExpense) -> ledger.Draft:
    return ledger.Draft(
        description=expense.description,
        category=expense.category,
        expense_date=expense.expense_date,
        amount=quantize(expense.amount, expense.currency),
        currency=expense.currency,
        split_type=SplitType(expense.split_type),
        participants=[],
        payers={},
    )


def carried_over(
    expense: GroupExpense, group: FinanceGroup, old: Lines, new: ledger.Draft, changes: set[str]
) -> ledger.Draft:
    """Participants and payers the edit did not give, taken from the expense as it stands.

    Participants: the same members; with the same split type they keep their percentage or weight,
    and unequal/custom shares keep their exact amounts when the expense is in the group's currency
    (a new amount then has to be split again: 422 on `participants`). Payers: a single payer pays
    the new amount; several keep their amounts only while amount and currency are unchanged.
    """
    same_money = new.amount == quantize(expense.amount, expense.currency) and new.currency == expense.currency
    if "participants" not in changes:
        same_type = new.split_type.value == expense.split_type
        exact = new.split_type in (SplitType.UNEQUAL, SplitType.CUSTOM)
        if same_type and exact and expense.currency != group.currency:
            raise Invalid(
                "give the participants again: their exact amounts were in another currency", field="participants"
            )
        participants = [
            Participant(
                s.user_id,
                amount=ledger.from_minor(old.shares[s.user_id], group.currency) if same_type and exact else None,
                percentage=s.share_percentage if same_type else None,
                weight=s.weight if same_type else None,
            )
            for s in old.inputs
        ]
        new = replace(new, participants=participants)
    if "payers" not in changes:
        if len(old.paid) == 1:
            new = replace(new, payers={next(iter(old.paid)): new.amount})
        elif same_money and expense.currency == group.currency:
            new = replace(new, payers={u: ledger.from_minor(v, group.currency) for u, v in old.paid.items()})
        else:
            raise Invalid("give the payers again: their amounts do not follow a new amount", field="payers")
    return new


async def remove_lines(session: AsyncSession, expense_id: uuid.UUID) -> None:
    for table in (ExpenseSplit, ExpensePayer, ExpenseDebt):
        await session.execute(delete(table).where(table.expense_id == expense_id))


def difference(
    before: dict[uuid.UUID, tuple[int, int, int, int]], after: dict[uuid.UUID, tuple[int, int, int, int]]
) -> dict[uuid.UUID, tuple[int, int, int, int]]:
    """`after - before` per member, leaving out members whose totals do not move."""
    out: dict[uuid.UUID, tuple[int, int, int, int]] = {}
    for user_id in before.keys() | after.keys():
        a, b = after.get(user_id, (0, 0, 0, 0)), before.get(user_id, (0, 0, 0, 0))
        delta = (a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3])
        if any(delta):
            out[user_id] = delta
    return out


async def update(
    session: AsyncSession,
    group: FinanceGroup,
    expense: GroupExpense,
    draft: ledger.Draft,
    old: Lines,
    new: tuple[dict[uuid.UUID, int], dict[uuid.UUID, int]] | None,
    *,
    actor: uuid.UUID,
    rate: Decimal,
    fx_source: str | None,
    changes: dict[str, Any],
) -> None:
    """Rewrite the expense; `new` (shares, payments in the expense currency) replaces its lines if given."""
    shares, paid = old.shares, old.paid
    if new is not None:
        group_amount, shares, paid = ledger.convert(group, draft, rate, *new)
        await remove_lines(session, expense.id)
        owed = ledger.add_lines(session, group, expense.id, draft, shares, paid)
        await ledger.bump(
            session,
            group.id,
            group.currency,
            difference(ledger.deltas(old.shares, old.paid), ledger.deltas(shares, paid)),
        )
        was = splits.debts(old.shares, old.paid)
        await ledger.bump_pairs(
            session, group.id, group.currency, {k: owed.get(k, 0) - was.get(k, 0) for k in owed.keys() | was.keys()}
        )
        expense.amount, expense.currency, expense.fx_rate, expense.fx_source = (
            draft.amount,
            draft.currency,
            rate,
            fx_source,
        )
        expense.group_amount, expense.split_type = group_amount, draft.split_type.value
    expense.description, expense.category, expense.expense_date = draft.description, draft.category, draft.expense_date
    await session.flush()
    await emit(
        session,
        GroupExpenseUpdated(
            user_id=actor,
            group_id=group.id,
            expense_id=expense.id,
            description=expense.description,
            category=expense.category,
            expense_date=expense.expense_date,
            amount=quantize(expense.amount, expense.currency),
            currency=expense.currency,
            group_currency=group.currency,
            fx_rate=expense.fx_rate,
            group_amount=quantize(expense.group_amount, group.currency),
            split_type=expense.split_type,
            shares=ledger.amounts(shares, group.currency),
            payers=ledger.amounts({u: v for u, v in paid.items() if v}, group.currency),
            recurring_id=expense.recurring_id,
        ),
    )
    total = quantize(expense.group_amount, group.currency)
    await feed.record(
        session,
        group.id,
        actor,
        "expense.updated",
        expense.id,
        description=expense.description,
        amount=str(total),
        currency=group.currency,
        changes=sorted(changes),
    )
    affected = {u for u in old.shares.keys() | shares.keys() if old.shares.get(u) or shares.get(u)} - {actor}
    await feed.notify(
        session,
        group,
        affected,
        title=f"Expense changed in {group.name}",
        message=f"{expense.description}: {total} {group.currency}",
        reference_type="group_expense",
        reference_id=expense.id,
        key=f"updated:{uuid.uuid4()}",
        data={"share": {str(u): str(ledger.from_minor(shares.get(u, 0), group.currency)) for u in affected}},
    )


async def delete_expense(session: AsyncSession, group: FinanceGroup, expense: GroupExpense, actor: uuid.UUID) -> None:
    """Take the expense out of the ledger and the running totals; the feed keeps a line about it."""
    old = await lines_of(session, expense, group.currency)
    await ledger.bump(session, group.id, group.currency, ledger.deltas(old.shares, old.paid, sign=-1))
    was = splits.debts(old.shares, old.paid)
    await ledger.bump_pairs(session, group.id, group.currency, {k: -v for k, v in was.items()})
    total = quantize(expense.group_amount, group.currency)
    await emit(
        session,
        GroupExpenseDeleted(
            user_id=actor,
            group_id=group.id,
            expense_id=expense.id,
            description=expense.description,
            expense_date=expense.expense_date,
            group_currency=group.currency,
            group_amount=total,
            shares=ledger.amounts(old.shares, group.currency),
            payers=ledger.amounts(old.paid, group.currency),
            recurring_id=expense.recurring_id,
        ),
    )
    await feed.record(
        session,
        group.id,
        actor,
        "expense.deleted",
        expense.id,
        description=expense.description,
        amount=str(total),
        currency=group.currency,
    )
    affected = {u for u, v in old.shares.items() if v} - {actor}
    await feed.notify(
        session,
        group,
        affected,
        title=f"Expense deleted in {group.name}",
        message=f"{expense.description}: {total} {group.currency} was deleted",
        reference_type="group_expense",
        reference_id=expense.id,
        key="deleted",
    )
    await session.delete(expense)
    await session.flush()
