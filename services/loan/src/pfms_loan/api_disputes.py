"""Routes of disputes between a loan's two parties: open (either), answer (the other), resolve (the owner).

Each step is logged on the loan and tells the other party with `notification.requested` (none when the
loan's contact is not an app user: there is nobody to tell).
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.notification import NotificationRequested
from pfms_loan import access, store
from pfms_loan.access import Access
from pfms_loan.domain import DisputeStatus, Role, after_answer, dispute_can
from pfms_loan.models import LoanDispute
from pfms_loan.schemas_extras import Dispute, DisputeCreate, DisputeResolve, DisputeResponse
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, Forbidden
from pfms_platform.events.outbox import emit
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/loans", tags=["loans"])

DISPUTE_FIELDS = tuple(Dispute.model_fields)


def dispute_view(row: LoanDispute) -> dict[str, Any]:
    return Dispute(**{f: getattr(row, f) for f in DISPUTE_FIELDS}).model_dump(mode="json")


async def _tell_other_party(
    session: AsyncSession, seen: Access, by: uuid.UUID, row: LoanDispute, step: str, title: str, message: str
) -> None:
    to = seen.other_party(by)
    if to is None:
        return
    await emit(
        session,
        NotificationRequested(
            user_id=to,
            category="loan",
            title=title,
            message=message[:2000],
            priority="high" if step == "opened" else "normal",
            reference_type="loan_dispute",
            reference_id=row.id,
            action_url=f"/loans/{seen.loan.id}/disputes/{row.id}",
            dedupe_key=f"loan-dispute:{row.id}:{step}:{len(row.responses)}",
            data={"loan_id": str(seen.loan.id), "dispute_id": str(row.id), "step": step, "status": row.status},
        ),
    )


@router.post("/{loan_id}/disputes", status_code=status.HTTP_201_CREATED, response_model=Envelope[Dispute])
async def open_dispute(loan_id: uuid.UUID, body: DisputeCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Either party opens a dispute; `raised_by` is the caller."""
    seen = await access.readable(session, loan_id, user)
    row = LoanDispute(
        id=uuid.uuid4(),
        loan_id=seen.loan.id,
        raised_by=user,
        status=DisputeStatus.OPEN.value,
        responses=[],
        **body.model_dump(mode="json"),
    )
    session.add(row)
    await session.flush()
    store.log(
        session,
        seen.loan,
        "dispute_opened",
        f"Dispute opened by the {seen.role.value}: {body.dispute_type}",
        new={"dispute_id": str(row.id), "raised_by": str(user)},
    )
    await _tell_other_party(
        session, seen, user, row, "opened", "A loan is disputed", f"{body.dispute_type}: {body.description}"
    )
    await session.refresh(row)
    return ok(dispute_view(row))


@router.get("/{loan_id}/disputes", response_model=PageEnvelope[Dispute])
async def list_disputes(
    loan_id: uuid.UUID, params: Annotated[PageParams, Query()], user: CurrentUser, session: Session
) -> dict[str, Any]:
    seen = await access.readable(session, loan_id, user)
    where = LoanDispute.loan_id == seen.loan.id
    total = await session.scalar(select(func.count()).select_from(LoanDispute).where(where))
    rows = await session.scalars(
        select(LoanDispute)
        .where(where)
        .order_by(LoanDispute.created_at.desc())
        .offset(params.offset)
        .limit(params.limit)
    )
    return paged([dispute_view(r) for r in rows.all()], params, total or 0)


@router.post("/{loan_id}/disputes/{dispute_id}/respond", response_model=Envelope[Dispute])
async def respond(
    loan_id: uuid.UUID, dispute_id: uuid.UUID, body: DisputeResponse, user: CurrentUser, session: Session
) -> dict[str, Any]:
    """An answer from either party is kept; the other party's answer makes the dispute `responded`."""
    seen = await access.readable(session, loan_id, user)
    row = await store.dispute(session, seen.loan, dispute_id)
    if not dispute_can(DisputeStatus(row.status), "respond"):
        raise Conflict(f"The dispute is {row.status}")
    answer = {"by": str(user), "role": seen.role.value, "at": datetime.now(UTC).isoformat(), "message": body.message}
    row.responses = [*row.responses, answer]
    old_status = row.status
    row.status = after_answer(DisputeStatus(row.status), row.raised_by, user).value
    store.log(
        session,
        seen.loan,
        "dispute_responded",
        f"Dispute answered by the {seen.role.value}",
        old={"status": old_status},
        new={"status": row.status, "by": str(user)},
    )
    await _tell_other_party(session, seen, user, row, "answered", "A loan dispute was answered", body.message)
    await session.flush()
    await session.refresh(row)
    return ok(dispute_view(row))


@router.post("/{loan_id}/disputes/{dispute_id}/resolve", response_model=Envelope[Dispute])
async def resolve(
    loan_id: uuid.UUID, dispute_id: uuid.UUID, body: DisputeResolve, user: CurrentUser, session: Session
) -> dict[str, Any]:
    """The owner resolves (the loan is their record); the counterparty gets 403 and is told the resolution."""
    seen = await access.readable(session, loan_id, user)
    if seen.role is not Role.OWNER:
        raise Forbidden("Only the loan's owner resolves a dispute")
    row = await store.dispute(session, seen.loan, dispute_id)
    if not dispute_can(DisputeStatus(row.status), "resolve"):
        raise Conflict(f"The dispute is {row.status}")
    old_status = row.status
    row.status = DisputeStatus.RESOLVED.value
    row.resolution = body.resolution
    row.resolved_by = user
    row.resolved_at = datetime.now(UTC)
    store.log(
        session,
        seen.loan,
        "dispute_resolved",
        "Dispute resolved",
        old={"status": old_status},
        new={"status": row.status, "by": str(user)},
    )
    await _tell_other_party(session, seen, user, row, "resolved", "A loan dispute was resolved", body.resolution)
    await session.flush()
    await session.refresh(row)
    return ok(dispute_view(row))
