"""Writing expenses into the ledger and reading balances back out of it.

An expense is split in its own currency, then the split and the payments are carried over to the
group's currency by largest remainder on the converted total, so they add up to it exactly. The
per-expense debts (splits.debts) are stored too. Running totals per member and per pair are moved in
the same transaction as every ledger write, so balances read n rows and a page of pairwise debts is
an index scan.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.group import GroupExpenseCreated, MemberAmount
from pfms_finance.currency import quantize
from pfms_group import feed, settlement, splits
from pfms_group.models import (
    ExpenseDebt,
    ExpenseKind,
    ExpensePayer,
    ExpenseSplit,
    FinanceGroup,
    GroupExpense,
    GroupMember,
    MemberBalance,
    MemberStatus,
    PairBalance,
)
from pfms_group.splits import Participant, SplitError, SplitType, from_minor, to_minor
from pfms_platform.envelope import PageParams
from pfms_platform.errors import Invalid
from pfms_platform.events.outbox import emit


@dataclass(frozen=True)
class Draft:
    """An expense as asked for, before conversion: amounts in its own currency."""

    description: str
    category: str | None
    expense_date: date
    amount: Decimal
    currency: str
    split_type: SplitType
    participants: list[Participant]
    payers: dict[uuid.UUID, Decimal]


def plan(draft: Draft, members: set[uuid.UUID], caller: uuid.UUID) -> tuple[dict[uuid.UUID, int], dict[uuid.UUID, int]]:
    """Shares and payments in minor units of the expense currency; refuses non-members by field."""
    participants = draft.participants or [Participant(m) for m in sorted(members)]
    payers = draft.payers or {caller: draft.amount}
    for i, p in enumerate(participants):
        if p.user_id not in members:
            raise Invalid("not an active member of the group", field=f"participants.{i}.user_id")
    for i, user_id in enumerate(payers):
        if user_id not in members:
            raise Invalid("not an active member of the group", field=f"payers.{i}.user_id")
    try:
        total = to_minor(draft.amount, draft.currency)
        shares = splits.split(total, draft.split_type, participants, draft.currency)
        paid = {user_id: to_minor(amount, draft.currency) for user_id, amount in payers.items()}
    except SplitError as exc:
        raise Invalid(str(exc), field=exc.field) from exc
    if sum(paid.values()) != total:
        raise Invalid("payments must add up to the expense amount", field="payers")
    return shares, paid


def convert(
    group: FinanceGroup, draft: Draft, rate: Decimal, shares: dict[uuid.UUID, int], paid: dict[uuid.UUID, int]
) -> tuple[Decimal, dict[uuid.UUID, int], dict[uuid.UUID, int]]:
    """The amount in the group's currency, and shares and payments carried over to it by largest remainder."""
    group_amount = quantize(draft.amount * rate, group.currency)
    total = to_minor(group_amount, group.currency)
    if draft.currency != group.currency:
        shares, paid = splits.rescale(shares, total), splits.rescale(paid, total)
    return group_amount, shares, paid


def add_lines(
    session: AsyncSession,
    group: FinanceGroup,
    expense_id: uuid.UUID,
    draft: Draft,
    shares: dict[uuid.UUID, int],
    paid: dict[uuid.UUID, int],
) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """The expense's splits, payments and per-expense debts (group-currency minor units); returns the debts."""
    inputs = {p.user_id: p for p in draft.participants}
    session.add_all(
        ExpenseSplit(
            expense_id=expense_id,
            group_id=group.id,
            user_id=user_id,
            share_amount=from_minor(units, group.currency),
            share_percentage=inputs[user_id].percentage if user_id in inputs else None,
            weight=inputs[user_id].weight if user_id in inputs else None,
        )
        for user_id, units in sorted(shares.items())
    )
    session.add_all(
        ExpensePayer(
            expense_id=expense_id, group_id=group.id, user_id=user_id, paid_amount=from_minor(units, group.currency)
        )
        for user_id, units in sorted(paid.items())
        if units
    )
    owed = splits.debts(shares, paid)
    session.add_all(
        ExpenseDebt(
            expense_id=expense_id,
            group_id=group.id,
            debtor_id=debtor,
            creditor_id=creditor,
            amount=from_minor(units, group.currency),
        )
        for (debtor, creditor), units in sorted(owed.items())
    )
    return owed


def deltas(
    shares: dict[uuid.UUID, int], paid: dict[uuid.UUID, int], sign: int = 1
) -> dict[uuid.UUID, tuple[int, int, int, int]]:
    """What an expense adds to (sign 1) or takes from (sign -1) the members' running totals."""
    return {u: (sign * paid.get(u, 0), sign * shares.get(u, 0), 0, 0) for u in shares.keys() | paid.keys()}


def amounts(units: dict[uuid.UUID, int], currency: str) -> list[MemberAmount]:
    """Amounts per member, by member id, for event payloads."""
    return [MemberAmount(user_id=u, amount=from_minor(v, currency)) for u, v in sorted(units.items())]


async def add_expense(
    session: AsyncSession,
    group: FinanceGroup,
    draft: Draft,
    shares: dict[uuid.UUID, int],
    paid: dict[uuid.UUID, int],
    *,
    created_by: uuid.UUID,
    rate: Decimal,
    fx_source: str | None,
    kind: ExpenseKind = ExpenseKind.EXPENSE,
    recurring_id: uuid.UUID | None = None,
) -> GroupExpense | None:
    """Insert the expense with its splits, payments and debts; None if this occurrence already exists."""
    group_amount, shares, paid = convert(group, draft, rate, shares, paid)
    expense_id = uuid.uuid4()
    values: dict[str, Any] = {
        "id": expense_id,
        "group_id": group.id,
        "created_by": created_by,
        "kind": kind.value,
        "description": draft.description,
        "category": draft.category,
        "expense_date": draft.expense_date,
        "amount": draft.amount,
        "currency": draft.currency,
        "fx_rate": rate,
        "fx_source": fx_source,
        "group_amount": group_amount,
        "split_type": draft.split_type.value,
        "recurring_id": recurring_id,
        "occurrence_date": draft.expense_date if recurring_id else None,
    }
    inserted = await session.scalar(
        insert(GroupExpense)
        .values(values)
        .on_conflict_do_nothing(
            index_elements=[GroupExpense.recurring_id, GroupExpense.occurrence_date],
            index_where=GroupExpense.recurring_id.is_not(None),
        )
        .returning(GroupExpense.id)
    )
    if inserted is None:
        return None
    owed = add_lines(session, group, expense_id, draft, shares, paid)
    await bump(session, group.id, group.currency, deltas(shares, paid))
    await bump_pairs(session, group.id, group.currency, owed)
    await session.flush()
    expense = GroupExpense(**values)
    if kind is ExpenseKind.EXPENSE:
        await emit(
            session,
            GroupExpenseCreated(
                user_id=created_by,
                group_id=group.id,
                expense_id=expense_id,
                description=draft.description,
                category=draft.category,
                expense_date=draft.expense_date,
                amount=draft.amount,
                currency=draft.currency,
                group_currency=group.currency,
                fx_rate=rate,
                group_amount=group_amount,
                split_type=draft.split_type.value,
                shares=amounts(shares, group.currency),
                payers=amounts({u: v for u, v in paid.items() if v}, group.currency),
                recurring_id=recurring_id,
            ),
        )
    await feed.record(
        session,
        group.id,
        created_by,
        f"{kind.value}.created",
        expense_id,
        description=draft.description,
        amount=str(group_amount),
        currency=group.currency,
    )
    owing = {u for u, v in shares.items() if v} - {created_by}
    await feed.notify(
        session,
        group,
        owing,
        title=f"New expense in {group.name}",
        message=f"{draft.description}: {group_amount} {group.currency}",
        reference_type="group_expense",
        reference_id=expense_id,
        data={"share": {str(u): str(from_minor(v, group.currency)) for u, v in shares.items() if u in owing}},
    )
    return expense


BALANCE_COLUMNS = ("paid", "share", "settled_out", "settled_in")


@dataclass(frozen=True)
class Row:
    user_id: uuid.UUID
    display_name: str | None
    status: str
    paid: Decimal
    share: Decimal
    settled_out: Decimal
    settled_in: Decimal

    @property
    def net(self) -> Decimal:
        return self.paid - self.share + self.settled_out - self.settled_in


async def bump(
    session: AsyncSession, group_id: uuid.UUID, currency: str, deltas: dict[uuid.UUID, tuple[int, int, int, int]]
) -> None:
    """Add (paid, share, settled_out, settled_in) minor units to members' running totals.

    One multi-row upsert in member-id order, so concurrent writers lock rows in the same order.
    """
    if not deltas:
        return
    rows = [
        {
            "group_id": group_id,
            "user_id": user_id,
            **{col: from_minor(units, currency) for col, units in zip(BALANCE_COLUMNS, delta, strict=True)},
        }
        for user_id, delta in sorted(deltas.items())
    ]
    stmt = insert(MemberBalance).values(rows)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[MemberBalance.group_id, MemberBalance.user_id],
            set_={col: getattr(MemberBalance, col) + getattr(stmt.excluded, col) for col in BALANCE_COLUMNS},
        )
    )


async def bump_pairs(
    session: AsyncSession, group_id: uuid.UUID, currency: str, owed: dict[tuple[uuid.UUID, uuid.UUID], int]
) -> None:
    """Add what debtors owe creditors ({(debtor, creditor): minor units}, negative to take back) to
    the per-pair running nets: one upsert in pair order, like `bump`."""
    net: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    for (debtor, creditor), units in owed.items():
        if debtor != creditor:
            key, sign = ((debtor, creditor), 1) if debtor < creditor else ((creditor, debtor), -1)
            net[key] = net.get(key, 0) + sign * units
    rows = [
        {"group_id": group_id, "low_id": low, "high_id": high, "net": from_minor(units, currency)}
        for (low, high), units in sorted(net.items())
        if units
    ]
    if not rows:
        return
    stmt = insert(PairBalance).values(rows)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[PairBalance.group_id, PairBalance.low_id, PairBalance.high_id],
            set_={"net": PairBalance.net + stmt.excluded.net},
        )
    )


async def member_rows(session: AsyncSession, group_id: uuid.UUID) -> list[Row]:
    """Every member who ever joined, with their running totals: n rows, whatever the ledger's size."""
    rows = (
        await session.execute(
            select(
                GroupMember.user_id,
                GroupMember.display_name,
                GroupMember.status,
                *(func.coalesce(getattr(MemberBalance, col), 0) for col in BALANCE_COLUMNS),
            )
            .outerjoin(
                MemberBalance,
                (MemberBalance.group_id == GroupMember.group_id) & (MemberBalance.user_id == GroupMember.user_id),
            )
            .where(GroupMember.group_id == group_id, GroupMember.status != MemberStatus.INVITED.value)
            .order_by(GroupMember.user_id)
        )
    ).all()
    return [Row(*row) for row in rows]


async def net_of(session: AsyncSession, group_id: uuid.UUID, user_id: uuid.UUID) -> Decimal:
    for row in await member_rows(session, group_id):
        if row.user_id == user_id:
            return row.net
    return Decimal(0)


async def pairwise(
    session: AsyncSession, group_id: uuid.UUID, currency: str, page: PageParams, member: uuid.UUID | None = None
) -> tuple[list[settlement.Transfer], int]:
    """One page of who owes whom expense by expense, netted per pair, and how many pairs owe anything.

    Read from the per-pair running nets (a confirmed payment A→B counted as B owing A), largest
    first then by the two ids: an index scan on `abs(net)`, whatever the ledger's size. With
    `member`, only the pairs that member is in.
    """
    where = [PairBalance.group_id == group_id, PairBalance.net != literal_column("0")]
    if member is not None:
        where.append(or_(PairBalance.low_id == member, PairBalance.high_id == member))
    payer = case((PairBalance.net > 0, PairBalance.low_id), else_=PairBalance.high_id)
    payee = case((PairBalance.net > 0, PairBalance.high_id), else_=PairBalance.low_id)
    amount = func.abs(PairBalance.net)
    rows = (
        await session.execute(
            select(payer, payee, amount)
            .where(*where)
            .order_by(amount.desc(), payer, payee)
            .offset(page.offset)
            .limit(page.limit)
        )
    ).all()
    total = await session.scalar(select(func.count()).select_from(PairBalance).where(*where))
    transfers = [settlement.Transfer(d, c, to_minor(quantize(v, currency), currency)) for d, c, v in rows]
    return transfers, int(total or 0)


def simplified(rows: list[Row], currency: str) -> list[settlement.Transfer]:
    return settlement.simplify({r.user_id: to_minor(quantize(r.net, currency), currency) for r in rows})
