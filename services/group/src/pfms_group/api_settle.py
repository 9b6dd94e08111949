"""Routes for balances and settlements: record, confirm by the receiver, cancel."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy import func, select

from pfms_contracts.group import GroupSettlementCompleted
from pfms_finance.currency import quantize
from pfms_group import access, feed, ledger
from pfms_group.models import Role, Settlement, SettlementStatus
from pfms_group.schemas import Balances, SettleCreate, SettlementOut
from pfms_group.splits import from_minor, to_minor
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, Forbidden, Invalid, NotFound
from pfms_platform.events.outbox import emit
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/groups", tags=["group balances"])

Page = Annotated[PageParams, Depends()]


@router.get("/{group_id}/balances", response_model=Envelope[Balances])
async def balances(
    group_id: uuid.UUID,
    user: CurrentUser,
    session: Session,
    page: Page,
    member: Annotated[uuid.UUID | None, Query(description="Only the debts this member pays or receives")] = None,
) -> dict[str, Any]:
    """Net per member and who should pay whom: simplified (at most n-1 transfers, all of them) unless
    the group turned simplification off, then one page (`page`, `limit`) of the pairwise debts, largest
    first, described by `debts_page`. Pending settlements do not count yet."""
    group, _ = await access.member(session, group_id, user)
    cur = group.currency
    rows = await ledger.member_rows(session, group_id)
    debts_page = None
    if group.simplify_debts:
        transfers = ledger.simplified(rows, cur)
        if member is not None:
            transfers = [t for t in transfers if member in (t.from_user_id, t.to_user_id)]
    else:
        transfers, total = await ledger.pairwise(session, group_id, cur, page, member)
        debts_page = paged(transfers, page, total)["pagination"]
    return ok(
        {
            "group_id": group.id,
            "currency": cur,
            "simplified": group.simplify_debts,
            "debts_page": debts_page,
            "members": [
                {
                    "user_id": r.user_id,
                    "display_name": r.display_name,
                    "status": r.status,
                    "paid": quantize(r.paid, cur),
                    "share": quantize(r.share, cur),
                    "settled_out": quantize(r.settled_out, cur),
                    "settled_in": quantize(r.settled_in, cur),
                    "net": quantize(r.net, cur),
                }
                for r in rows
            ],
            "debts": [
                {"from_user_id": t.from_user_id, "to_user_id": t.to_user_id, "amount": from_minor(t.amount, cur)}
                for t in transfers
            ],
        }
    )


def settlement_out(row: Settlement) -> dict[str, Any]:
    data = SettlementOut.model_validate(row, from_attributes=True)
    return data.model_copy(update={"amount": quantize(row.amount, row.currency)}).model_dump(mode="json")


@router.post("/{group_id}/settle", status_code=status.HTTP_201_CREATED, response_model=Envelope[SettlementOut])
async def settle(group_id: uuid.UUID, body: SettleCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Record a payment from the caller (or, by an admin, from another member) to a member. It is
    pending until the receiver confirms it; only then does it change balances."""
    group, me = await access.writer(session, group_id, user)
    payer = body.from_user_id or user
    if payer != user and me.role != Role.ADMIN.value:
        raise Forbidden("Only an admin can record another member's payment")
    if payer == body.to_user_id:
        raise Invalid("payer and receiver must differ", field="to_user_id")
    if body.currency is not None and body.currency != group.currency:
        raise Invalid(f"settlements are in the group's currency ({group.currency})", field="currency")
    members = {m.user_id for m in await access.active_members(session, group_id)}
    for field, who in (("from_user_id", payer), ("to_user_id", body.to_user_id)):
        if who not in members:
            raise Invalid("not an active member of the group", field=field)
    amount = quantize(body.amount, group.currency)
    if amount != body.amount:
        raise Invalid(f"more decimals than {group.currency} allows", field="amount")
    row = Settlement(
        group_id=group.id,
        from_user_id=payer,
        to_user_id=body.to_user_id,
        amount=amount,
        currency=group.currency,
        status=SettlementStatus.PENDING.value,
        settlement_date=body.settlement_date or datetime.now(UTC).date(),
        notes=body.notes,
        recorded_by=user,
    )
    session.add(row)
    await session.flush()
    await feed.record(
        session, group.id, user, "settlement.recorded", row.id, amount=str(amount), to=str(row.to_user_id)
    )
    await feed.notify(
        session,
        group,
        [row.to_user_id],
        title=f"Confirm a payment in {group.name}",
        message=f"A member says they paid you {amount} {group.currency}",
        reference_type="group_settlement",
        reference_id=row.id,
        data={"amount": str(amount), "currency": group.currency, "from_user_id": str(payer)},
    )
    await session.refresh(row)
    return ok(settlement_out(row))


@router.get("/{group_id}/settlements", response_model=PageEnvelope[SettlementOut])
async def list_settlements(
    group_id: uuid.UUID, user: CurrentUser, session: Session, page: Page, status: SettlementStatus | None = None
) -> dict[str, Any]:
    await access.member(session, group_id, user)
    where = [Settlement.group_id == group_id]
    if status is not None:
        where.append(Settlement.status == status.value)
    total = await session.scalar(select(func.count()).select_from(Settlement).where(*where))
    rows = await session.scalars(
        select(Settlement)
        .where(*where)
        .order_by(Settlement.created_at.desc(), Settlement.id)
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([settlement_out(r) for r in rows], page, int(total or 0))


async def _pending(session: Session, group_id: uuid.UUID, settlement_id: uuid.UUID) -> Settlement:
    row = await session.scalar(
        select(Settlement).where(Settlement.id == settlement_id, Settlement.group_id == group_id).with_for_update()
    )
    if row is None:
        raise NotFound("Settlement not found")
    if row.status != SettlementStatus.PENDING.value:
        raise Conflict(f"The settlement is already {row.status}")
    return row


@router.post("/{group_id}/settlements/{settlement_id}/confirm", response_model=Envelope[SettlementOut])
async def confirm(group_id: uuid.UUID, settlement_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Only the receiver confirms; from then on the payment counts in balances."""
    group, _ = await access.member(session, group_id, user)
    row = await _pending(session, group_id, settlement_id)
    if row.to_user_id != user:
        raise Forbidden("Only the receiver can confirm a payment")
    row.status, row.confirmed_at = SettlementStatus.COMPLETED.value, datetime.now(UTC)
    units = to_minor(row.amount, row.currency)
    await ledger.bump(
        session, group.id, row.currency, {row.from_user_id: (0, 0, units, 0), row.to_user_id: (0, 0, 0, units)}
    )
    await ledger.bump_pairs(session, group.id, row.currency, {(row.to_user_id, row.from_user_id): units})
    await emit(
        session,
        GroupSettlementCompleted(
            user_id=row.from_user_id,
            group_id=group.id,
            settlement_id=row.id,
            from_user_id=row.from_user_id,
            to_user_id=row.to_user_id,
            amount=row.amount,
            currency=row.currency,
            settlement_date=row.settlement_date,
        ),
    )
    await feed.record(session, group.id, user, "settlement.confirmed", row.id, amount=str(row.amount))
    await feed.notify(
        session,
        group,
        [row.from_user_id],
        title=f"Payment confirmed in {group.name}",
        message=f"Your payment of {quantize(row.amount, row.currency)} {row.currency} was confirmed",
        reference_type="group_settlement",
        reference_id=row.id,
    )
    await session.flush()
    await session.refresh(row)
    return ok(settlement_out(row))


@router.post("/{group_id}/settlements/{settlement_id}/cancel", response_model=Envelope[SettlementOut])
async def cancel(group_id: uuid.UUID, settlement_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Either party (or an admin) cancels a pending settlement."""
    group, me = await access.member(session, group_id, user)
    row = await _pending(session, group_id, settlement_id)
    if user not in (row.from_user_id, row.to_user_id) and me.role != Role.ADMIN.value:
        raise Forbidden("Only the payer, the receiver or an admin can cancel a payment")
    row.status, row.cancelled_at = SettlementStatus.CANCELLED.value, datetime.now(UTC)
    await feed.record(session, group.id, user, "settlement.cancelled", row.id)
    await session.flush()
    await session.refresh(row)
    return ok(settlement_out(row))
