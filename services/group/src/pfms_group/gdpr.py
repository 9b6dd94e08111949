"""What the GDPR export holds of a person in the group service: their own rows (memberships, shares,
payments, balances, messages) and the groups, expenses and settlements they take part in, which
hang off the group rather than the person."""

import uuid

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_group.models import ExpensePayer, ExpenseSplit, FinanceGroup, GroupExpense, GroupMember, Settlement
from pfms_platform.export import Rows, rows, user_rows


async def export(session: AsyncSession, user_id: uuid.UUID) -> Rows:
    out = await user_rows(session, user_id, "pfms_group")
    groups = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
    shared = select(ExpenseSplit.expense_id).where(ExpenseSplit.user_id == user_id)
    paid = select(ExpensePayer.expense_id).where(ExpensePayer.user_id == user_id)
    group_table, expense_table, settlement_table = (
        FinanceGroup.__table__,
        GroupExpense.__table__,
        Settlement.__table__,
    )
    out[FinanceGroup.__tablename__] = await rows(
        session, select(group_table).where(group_table.c.id.in_(groups)).order_by(group_table.c.id)
    )
    out[GroupExpense.__tablename__] = await rows(
        session,
        select(expense_table)
        .where(
            or_(
                expense_table.c.created_by == user_id,
                expense_table.c.id.in_(shared),
                expense_table.c.id.in_(paid),
            )
        )
        .order_by(expense_table.c.id),
    )
    out[Settlement.__tablename__] = await rows(
        session,
        select(settlement_table)
        .where(or_(settlement_table.c.from_user_id == user_id, settlement_table.c.to_user_id == user_id))
        .order_by(settlement_table.c.id),
    )
    return out
