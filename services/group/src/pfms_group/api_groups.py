"""Routes for groups, members and invitations."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy import func, select

from pfms_contracts.group import AbsorbedAmount, GroupBalanceWrittenOff
from pfms_finance.currency import quantize
from pfms_group import access, feed, ledger
from pfms_group.models import ExpenseKind, FinanceGroup, GroupMember, MemberStatus, Role
from pfms_group.schemas import (
    Group,
    GroupCreate,
    GroupUpdate,
    Invitation,
    Invite,
    Member,
    MemberUpdate,
    WriteOff,
)
from pfms_group.splits import Participant, SplitType, allocate, from_minor, to_minor
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, Forbidden, Invalid, NotFound
from pfms_platform.events.outbox import emit
from pfms_platform.internal import InternalClient
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/groups", tags=["groups"])

Page = Annotated[PageParams, Depends()]


def group_out(group: FinanceGroup, role: str | None) -> dict[str, Any]:
    data = Group.model_validate(group, from_attributes=True).model_dump(mode="json")
    data["role"] = role
    return data


def member_out(row: GroupMember) -> dict[str, Any]:
    return Member.model_validate(row, from_attributes=True).model_dump(mode="json")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[Group])
async def create_group(body: GroupCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    """The creator becomes the group's first admin."""
    group = FinanceGroup(
        name=body.name,
        description=body.description,
        group_type=body.group_type.value,
        currency=body.currency,
        created_by=user,
        is_active=True,
        simplify_debts=body.simplify_debts,
        chat_enabled=body.chat_enabled,
    )
    session.add(group)
    await session.flush()
    session.add(
        GroupMember(
            group_id=group.id,
            user_id=user,
            role=Role.ADMIN.value,
            status=MemberStatus.ACTIVE.value,
            display_name=body.display_name,
            joined_at=datetime.now(UTC),
        )
    )
    await feed.record(session, group.id, user, "group.created", group.id, name=group.name)
    await session.flush()
    await session.refresh(group)
    return ok(group_out(group, Role.ADMIN.value))


@router.get("", response_model=PageEnvelope[Group])
async def list_groups(user: CurrentUser, session: Session, page: Page) -> dict[str, Any]:
    """The groups the caller is an active member of, newest first."""
    mine = (GroupMember.user_id == user) & (GroupMember.status == MemberStatus.ACTIVE.value)
    total = await session.scalar(select(func.count()).select_from(GroupMember).where(mine))
    rows = (
        await session.execute(
            select(FinanceGroup, GroupMember.role)
            .join(GroupMember, GroupMember.group_id == FinanceGroup.id)
            .where(mine)
            .order_by(FinanceGroup.created_at.desc(), FinanceGroup.id)
            .offset(page.offset)
            .limit(page.limit)
        )
    ).all()
    return paged([group_out(g, role) for g, role in rows], page, int(total or 0))


@router.get("/invitations", response_model=Envelope[list[Invitation]])
async def my_invitations(user: CurrentUser, session: Session) -> dict[str, Any]:
    """Invitations waiting for the caller's answer."""
    rows = (
        await session.execute(
            select(GroupMember, FinanceGroup.name)
            .join(FinanceGroup, FinanceGroup.id == GroupMember.group_id)
            .where(GroupMember.user_id == user, GroupMember.status == MemberStatus.INVITED.value)
            .order_by(GroupMember.created_at)
        )
    ).all()
    return ok(
        [
            Invitation(
                group_id=m.group_id, group_name=name, role=m.role, invited_by=m.invited_by, invited_at=m.created_at
            ).model_dump(mode="json")
            for m, name in rows
        ]
    )


@router.get("/{group_id}", response_model=Envelope[Group])
async def get_group(group_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    group, me = await access.member(session, group_id, user)
    return ok(group_out(group, me.role))


@router.patch("/{group_id}", response_model=Envelope[Group])
async def update_group(group_id: uuid.UUID, body: GroupUpdate, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Admins only; `simplify_debts: false` shows pairwise debts in the balances."""
    group, me = await access.admin(session, group_id, user, lock=True)
    changes = body.model_dump(exclude_unset=True, mode="json")
    for field in ("name", "group_type", "simplify_debts", "chat_enabled", "is_active"):
        if field in changes and changes[field] is None:
            raise Invalid("may not be null", field=field)
    for field, value in changes.items():
        setattr(group, field, value)
    if changes:
        await feed.record(session, group.id, user, "group.updated", group.id, changes=changes)
    await session.flush()
    await session.refresh(group)
    return ok(group_out(group, me.role))


@router.get("/{group_id}/members", response_model=Envelope[list[Member]])
async def list_members(group_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Every member row, invited and former members included (their status says which)."""
    await access.member(session, group_id, user)
    rows = await session.scalars(
        select(GroupMember).where(GroupMember.group_id == group_id).order_by(GroupMember.created_at, GroupMember.id)
    )
    return ok([member_out(r) for r in rows])


async def _resolve(request: Request, body: Invite) -> uuid.UUID:
    if body.user_id is not None:
        return body.user_id
    users: InternalClient = request.app.state.users
    try:
        found = await users.get("/internal/v1/users/lookup", {"email": str(body.email)})
    except NotFound as exc:
        raise Invalid("No PFMS user has this email address", field="email") from exc
    return uuid.UUID(str(found["user_id"]))


@router.post("/{group_id}/members", status_code=status.HTTP_201_CREATED, response_model=Envelope[Member])
async def invite(
    group_id: uuid.UUID, body: Invite, user: CurrentUser, session: Session, request: Request
) -> dict[str, Any]:
    """Invite someone by user id or email; they join when they accept. Only admins invite admins."""
    group, me = await access.writer(session, group_id, user)
    if body.role is Role.ADMIN and me.role != Role.ADMIN.value:
        raise Forbidden("Only an admin can invite an admin")
    invitee = await _resolve(request, body)
    row = await session.scalar(
        select(GroupMember).where(GroupMember.group_id == group_id, GroupMember.user_id == invitee).with_for_update()
    )
    if row is not None and row.status in (MemberStatus.ACTIVE.value, MemberStatus.INVITED.value):
        raise Conflict(f"Already {row.status}", field="user_id")
    if row is None:
        row = GroupMember(group_id=group_id, user_id=invitee)
        session.add(row)
    row.role, row.status, row.invited_by = body.role.value, MemberStatus.INVITED.value, user
    row.display_name, row.left_at = body.display_name, None
    await feed.record(session, group_id, user, "member.invited", invitee, role=body.role.value)
    await feed.notify(
        session,
        group,
        [invitee],
        title=f"Invitation to {group.name}",
        message="You were invited to share expenses in a group",
        reference_type="group_invitation",
        reference_id=group.id,
    )
    await session.flush()
    await session.refresh(row)
    return ok(member_out(row))


async def _invitation(session: Session, group_id: uuid.UUID, user: uuid.UUID) -> GroupMember:
    row = await session.scalar(
        select(GroupMember)
        .where(
            GroupMember.group_id == group_id,
            GroupMember.user_id == user,
            GroupMember.status == MemberStatus.INVITED.value,
        )
        .with_for_update()
    )
    if row is None:
        raise NotFound("Invitation not found")
    return row


@router.post("/{group_id}/invitations/accept", response_model=Envelope[Member])
async def accept(group_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    row = await _invitation(session, group_id, user)
    row.status, row.joined_at = MemberStatus.ACTIVE.value, datetime.now(UTC)
    await feed.record(session, group_id, user, "member.joined", user)
    await session.flush()
    await session.refresh(row)
    return ok(member_out(row))


@router.post("/{group_id}/invitations/decline", status_code=status.HTTP_204_NO_CONTENT)
async def decline(group_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    row = await _invitation(session, group_id, user)
    await session.delete(row)
    await feed.record(session, group_id, user, "member.declined", user)


@router.patch("/{group_id}/members/{member_id}", response_model=Envelope[Member])
async def update_member(
    group_id: uuid.UUID, member_id: uuid.UUID, body: MemberUpdate, user: CurrentUser, session: Session
) -> dict[str, Any]:
    """Admins change roles; anyone may change their own display name."""
    group, me = await access.member(session, group_id, user)
    changes = body.model_dump(exclude_unset=True)
    if "role" in changes and me.role != Role.ADMIN.value:
        raise Forbidden("Only an admin can change roles")
    if member_id != user and me.role != Role.ADMIN.value:
        raise Forbidden("Only an admin can change another member")
    row = await access.membership_row(session, group_id, member_id)
    if changes.get("role") is None:
        changes.pop("role", None)
    elif row.role == Role.ADMIN.value and changes["role"] is not Role.ADMIN:
        await _keep_an_admin(session, group_id, member_id)
    for field, value in changes.items():
        setattr(row, field, value.value if isinstance(value, Role) else value)
    await feed.record(session, group.id, user, "member.updated", member_id, changes=body.model_dump(mode="json"))
    await session.flush()
    await session.refresh(row)
    return ok(member_out(row))


async def _keep_an_admin(session: Session, group_id: uuid.UUID, leaving: uuid.UUID) -> None:
    """Refuse to leave a group with active members but no admin."""
    others = [m for m in await access.active_members(session, group_id) if m.user_id != leaving]
    if others and not any(m.role == Role.ADMIN.value for m in others):
        raise Conflict("Make another member an admin first")


async def _part(session: Session, group_id: uuid.UUID, row: GroupMember, actor: uuid.UUID, new: MemberStatus) -> None:
    """Leave or removal: only with a zero balance (an admin can write it off first)."""
    if row.status != MemberStatus.ACTIVE.value:
        raise NotFound("Member not found", field="user_id")
    net = await ledger.net_of(session, group_id, row.user_id)
    if net != 0:
        raise Conflict(
            f"The member's balance is {net.normalize():f}; settle up or have an admin write it off first",
            field="user_id",
        )
    if row.role == Role.ADMIN.value:
        await _keep_an_admin(session, group_id, row.user_id)
    row.status, row.left_at = new.value, datetime.now(UTC)
    await feed.record(session, group_id, actor, f"member.{new.value}", row.user_id)


@router.post("/{group_id}/leave", status_code=status.HTTP_204_NO_CONTENT)
async def leave(group_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    _, me = await access.member(session, group_id, user, lock=True)
    await _part(session, group_id, me, user, MemberStatus.LEFT)


@router.delete("/{group_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(group_id: uuid.UUID, member_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    """Admins remove a member (or cancel a pending invitation)."""
    await access.admin(session, group_id, user, lock=True)
    row = await access.membership_row(session, group_id, member_id)
    if row.status == MemberStatus.INVITED.value:
        await session.delete(row)
        await feed.record(session, group_id, user, "member.uninvited", member_id)
        return
    await _part(session, group_id, row, user, MemberStatus.REMOVED)


@router.post("/{group_id}/members/{member_id}/write-off", response_model=Envelope[Member])
async def write_off(
    group_id: uuid.UUID, member_id: uuid.UUID, body: WriteOff, user: CurrentUser, session: Session
) -> dict[str, Any]:
    """Admins zero a member's balance: the other active members absorb it equally (a ledger entry)."""
    group, _ = await access.admin(session, group_id, user, lock=True)
    if body.user_id != member_id:
        raise Invalid("must match the member in the path", field="user_id")
    row = await access.membership_row(session, group_id, member_id)
    others = sorted(m.user_id for m in await access.active_members(session, group_id) if m.user_id != member_id)
    net = await ledger.net_of(session, group_id, member_id)
    if net == 0:
        raise Conflict("The member's balance is already zero", field="user_id")
    if not others:
        raise Conflict("Nobody else is left to absorb the balance", field="user_id")
    amount = abs(net)
    units = to_minor(amount, group.currency)
    spread = allocate(units, dict.fromkeys(others, 1))
    if net < 0:  # the member owes: they are credited as if they paid, the others share it
        shares, paid = spread, {member_id: units}
        participants = [Participant(u) for u in others]
        split_type = SplitType.EQUAL
    else:  # the member is owed: they forgo it, as if the others paid them
        shares, paid = {member_id: units}, spread
        participants = [Participant(member_id, amount=amount)]
        split_type = SplitType.UNEQUAL
    draft = ledger.Draft(
        description=body.notes or "Balance written off",
        category="write_off",
        expense_date=datetime.now(UTC).date(),
        amount=amount,
        currency=group.currency,
        split_type=split_type,
        participants=participants,
        payers={u: from_minor(v, group.currency) for u, v in paid.items()},
    )
    await ledger.add_expense(
        session,
        group,
        draft,
        shares,
        paid,
        created_by=user,
        rate=Decimal(1),
        fx_source=None,
        kind=ExpenseKind.WRITE_OFF,
    )
    await emit(
        session,
        GroupBalanceWrittenOff(
            user_id=user,
            group_id=group.id,
            member_id=member_id,
            amount=quantize(amount, group.currency),
            currency=group.currency,
            direction="debt" if net < 0 else "credit",
            absorbed_by=[AbsorbedAmount(member_id=u, amount=from_minor(v, group.currency)) for u, v in spread.items()],
        ),
    )
    await feed.notify(
        session,
        group,
        [member_id],
        title=f"Balance written off in {group.name}",
        message=f"An admin wrote off your balance of {quantize(net, group.currency)} {group.currency}",
        reference_type="group_write_off",
        reference_id=group.id,
        key=str(uuid.uuid4()),
        data={"balance": str(quantize(net, group.currency)), "currency": group.currency},
    )
    return ok(member_out(row))
