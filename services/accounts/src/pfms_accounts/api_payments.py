"""HTTP routes of P2P payments: send, request, pay a request, accept, decline or cancel, and both sides' lists.

A payment is seen by its payer and its payee alike (anyone else gets a 404); each action belongs to
one side (the wrong side gets a 403). Every POST takes an `Idempotency-Key`. The ledger work is the
saga's (`payments`): a route books at most the step it starts and hands on by an event. A try that
PostgreSQL aborts for lock contention is run again (`contention.retried`), never answered with a 500.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_accounts import ledger, payments
from pfms_accounts import payment_rules as rules
from pfms_accounts.api_moves import MOVE_ERRORS, once
from pfms_accounts.contention import retried
from pfms_accounts.domain import AccountType
from pfms_accounts.idempotency import KeyHeader
from pfms_accounts.models import Account
from pfms_accounts.models_payments import Payment
from pfms_accounts.payment_rules import PaymentStatus
from pfms_accounts.schemas_payments import (
    AcceptBody,
    ContactOut,
    PayBody,
    PaymentCreate,
    PaymentOut,
    PaymentQuery,
    RequestCreate,
)
from pfms_accounts.settings import Settings
from pfms_contracts.accounts import PaymentRequested
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, Forbidden, Invalid, NotFound
from pfms_platform.events.outbox import emit
from pfms_platform.internal import InternalClient
from pfms_platform.schemas import Body
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/accounts/payments", tags=["payments"])

PAYMENT_ERRORS: dict[int | str, dict[str, Any]] = {
    **MOVE_ERRORS,
    403: {"description": "The other side's action (only the payer pays, only the payee accepts)"},
    404: {"description": "A payment (or account) that is not the caller's"},
    409: {"description": "The payment is past this step (PAYMENT_STATE)"},
}


class NoBody(Body):
    """Declining or cancelling carries nothing; the Idempotency-Key fingerprint is the route's."""


def view(payment: Payment, me: uuid.UUID) -> dict[str, Any]:
    out = payment.payer_id == me
    return PaymentOut(
        id=payment.id,
        direction="out" if out else "in",
        payer_id=payment.payer_id,
        payee_id=payment.payee_id,
        initiated_by="payer" if payment.initiated_by == "payer" else "payee",
        amount=payment.amount,
        currency=payment.currency,
        note=payment.note,
        status=PaymentStatus(payment.status),
        reason=payment.reason,
        account_id=payment.payer_account_id if out else payment.payee_account_id,
        created_at=payment.created_at,
        updated_at=payment.updated_at,
        expires_at=payment.expires_at,
        settled_at=payment.settled_at,
    ).model_dump(mode="json")


async def lookup(request: Request, email: str | None) -> uuid.UUID | None:
    """The PFMS user with `email` (the user service), asked before the request takes a database connection."""
    if email is None:
        return None
    users: InternalClient = request.app.state.users
    try:
        person: dict[str, Any] = await users.get("/internal/v1/users/lookup", {"email": email})
    except NotFound as exc:
        raise Invalid("No PFMS user has this email", field="email") from exc
    return uuid.UUID(str(person["user_id"]))


async def counterpart(
    session: AsyncSession, me: uuid.UUID, by_email: uuid.UUID | None, user_id: uuid.UUID | None
) -> uuid.UUID:
    """The other person: found by email already, or a contact by id."""
    if by_email is not None:
        other, field = by_email, "email"
    else:
        assert user_id is not None  # the schema wants exactly one of the two
        other, field = user_id, "user_id"
        known = await session.scalar(
            select(
                exists().where(
                    or_(
                        and_(Payment.payer_id == me, Payment.payee_id == other),
                        and_(Payment.payer_id == other, Payment.payee_id == me),
                    )
                )
            )
        )
        if not known:
            raise Invalid("Not one of your payment contacts: name them by email", field="user_id")
    if other == me:
        raise Invalid("You cannot pay yourself", field=field)
    return other


async def paying_account(session: AsyncSession, me: uuid.UUID, account_id: uuid.UUID) -> Account:
    account = await ledger.account_of(session, me, account_id)
    ledger.movable(account, "from_account_id")
    if AccountType(account.type) not in rules.PAYING_TYPES:
        raise Invalid("Payments leave a wallet or checking account", field="from_account_id")
    return account


async def one(session: AsyncSession, me: uuid.UUID, payment_id: uuid.UUID, *, lock: bool = False) -> Payment:
    """A payment the caller pays or is paid; anyone else's is not found."""
    query = select(Payment).where(Payment.id == payment_id, or_(Payment.payer_id == me, Payment.payee_id == me))
    payment = await session.scalar(query.with_for_update().execution_options(populate_existing=True) if lock else query)
    if payment is None:
        raise NotFound("Payment not found")
    return payment


def side(payment: Payment, me: uuid.UUID, role: Literal["payer", "payee"]) -> None:
    if (payment.payer_id if role == "payer" else payment.payee_id) != me:
        raise Forbidden(f"Only the {role} may do this")


def expiry(request: Request) -> datetime:
    settings: Settings = request.app.state.settings
    return datetime.now(UTC) + timedelta(hours=settings.payment_ttl_hours)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[PaymentOut], responses=PAYMENT_ERRORS)
async def send(
    body: PaymentCreate,
    user: CurrentUser,
    session: Session,
    request: Request,
    response: Response,
    idempotency_key: KeyHeader = None,
) -> dict[str, Any]:
    """Pay another user: the amount is held out of the caller's account at once (`sent`); it lands when the
    payee accepts it (at once if they have exactly one wallet/checking/savings account of the currency)."""
    found = await lookup(request, body.email)

    async def run() -> dict[str, Any]:
        account = await paying_account(session, user, body.from_account_id)
        ledger.check_amount(body.amount, account.currency)
        payee = await counterpart(session, user, found, body.user_id)
        payment = Payment(
            id=uuid.uuid4(),
            payer_id=user,
            payee_id=payee,
            initiated_by="payer",
            amount=body.amount,
            currency=account.currency,
            note=body.note,
            status=PaymentStatus.SENT.value,
            expires_at=expiry(request),
        )
        session.add(payment)
        await session.flush()
        await payments.hold(session, payment, account)
        await session.flush()
        return view(payment, user)

    return await once(session, request, response, user, idempotency_key, body, lambda: retried(session, run))


@router.post(
    "/requests", status_code=status.HTTP_201_CREATED, response_model=Envelope[PaymentOut], responses=PAYMENT_ERRORS
)
async def ask(
    body: RequestCreate,
    user: CurrentUser,
    session: Session,
    request: Request,
    response: Response,
    idempotency_key: KeyHeader = None,
) -> dict[str, Any]:
    """Ask another user for money (`requested`); they pay it from an account of `currency` or decline."""
    found = await lookup(request, body.email)

    async def run() -> dict[str, Any]:
        ledger.check_amount(body.amount, body.currency)
        payer = await counterpart(session, user, found, body.user_id)
        payment = Payment(
            id=uuid.uuid4(),
            payer_id=payer,
            payee_id=user,
            initiated_by="payee",
            amount=body.amount,
            currency=body.currency,
            note=body.note,
            status=PaymentStatus.REQUESTED.value,
            expires_at=expiry(request),
        )
        session.add(payment)
        await session.flush()
        await emit(session, PaymentRequested(user_id=user, **payments.facts(payment), note=body.note))
        await payments.notify(
            session, payer, payment, "requested", "Payment request", "You were asked to pay {amount} {currency}."
        )
        await session.flush()
        return view(payment, user)

    return await once(session, request, response, user, idempotency_key, body, lambda: retried(session, run))


@router.get("", response_model=PageEnvelope[PaymentOut])
async def list_payments(query: Annotated[PaymentQuery, Query()], user: CurrentUser, session: Session) -> dict[str, Any]:
    """Newest first: `direction=out` what the caller pays, `in` what they are paid; `status=` filters."""
    where = [
        Payment.payer_id == user
        if query.direction == "out"
        else Payment.payee_id == user
        if query.direction == "in"
        else or_(Payment.payer_id == user, Payment.payee_id == user)
    ]
    if query.status is not None:
        where.append(Payment.status == query.status.value)
    total = await session.scalar(select(func.count()).select_from(Payment).where(*where)) or 0
    rows = await session.scalars(
        select(Payment)
        .where(*where)
        .order_by(Payment.created_at.desc(), Payment.id)
        .offset(query.offset)
        .limit(query.limit)
    )
    return paged([view(p, user) for p in rows], query, total)


@router.get("/contacts", response_model=PageEnvelope[ContactOut])
async def contacts(page: Annotated[PageParams, Query()], user: CurrentUser, session: Session) -> dict[str, Any]:
    """The people the caller paid, was paid by or asked (payable by `user_id`), most recent first."""
    other = case((Payment.payer_id == user, Payment.payee_id), else_=Payment.payer_id).label("other")
    mine = or_(Payment.payer_id == user, Payment.payee_id == user)
    total = await session.scalar(select(func.count(func.distinct(other))).where(mine)) or 0
    last = func.max(Payment.created_at)
    rows = await session.execute(
        select(other, last)
        .where(mine)
        .group_by(other)
        .order_by(last.desc(), other)
        .offset(page.offset)
        .limit(page.limit)
    )
    items = [ContactOut(user_id=o, last_payment_at=at).model_dump(mode="json") for o, at in rows]
    return paged(items, page, total)


@router.get("/{payment_id}", response_model=Envelope[PaymentOut], responses={404: PAYMENT_ERRORS[404]})
async def get_payment(payment_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    return ok(view(await one(session, user, payment_id), user))


@router.post("/{payment_id}/pay", response_model=Envelope[PaymentOut], responses=PAYMENT_ERRORS)
async def pay(
    payment_id: uuid.UUID,
    body: PayBody,
    user: CurrentUser,
    session: Session,
    request: Request,
    response: Response,
    idempotency_key: KeyHeader = None,
) -> dict[str, Any]:
    """The payer pays a request from one of their wallet or checking accounts in the request's currency."""

    async def run() -> dict[str, Any]:
        payment = await one(session, user, payment_id, lock=True)
        side(payment, user, "payer")
        account = await paying_account(session, user, body.from_account_id)
        if account.currency != payment.currency:
            raise Invalid(f"The request is in {payment.currency}", field="from_account_id", code="CURRENCY_MISMATCH")
        payments.move(payment, PaymentStatus.SENT)
        await payments.hold(session, payment, account)
        await session.flush()
        return view(payment, user)

    return await once(session, request, response, user, idempotency_key, body, lambda: retried(session, run))


@router.post("/{payment_id}/accept", response_model=Envelope[PaymentOut], responses=PAYMENT_ERRORS)
async def accept(
    payment_id: uuid.UUID,
    body: AcceptBody,
    user: CurrentUser,
    session: Session,
    request: Request,
    response: Response,
    idempotency_key: KeyHeader = None,
) -> dict[str, Any]:
    """The payee takes a sent payment into one of their accounts of its currency (`accepted`, then `settled`)."""

    async def run() -> dict[str, Any]:
        payment = await one(session, user, payment_id, lock=True)
        side(payment, user, "payee")
        account = await ledger.account_of(session, user, body.account_id)
        ledger.movable(account, "account_id")
        if AccountType(account.type) not in rules.RECEIVING_TYPES:
            raise Invalid("Payments land in a wallet, checking or savings account", field="account_id")
        if account.currency != payment.currency:
            raise Invalid(f"The payment is in {payment.currency}", field="account_id", code="CURRENCY_MISMATCH")
        await payments.accept(session, payment, account)
        await session.flush()
        return view(payment, user)

    return await once(session, request, response, user, idempotency_key, body, lambda: retried(session, run))


@router.post("/{payment_id}/decline", response_model=Envelope[PaymentOut], responses=PAYMENT_ERRORS)
async def decline(
    payment_id: uuid.UUID,
    user: CurrentUser,
    session: Session,
    request: Request,
    response: Response,
    idempotency_key: KeyHeader = None,
) -> dict[str, Any]:
    """The payer declines a request, or the payee a sent payment (its hold then goes back to the payer)."""

    async def run() -> dict[str, Any]:
        payment = await one(session, user, payment_id, lock=True)
        side(payment, user, "payer" if payment.status == PaymentStatus.REQUESTED.value else "payee")
        await payments.decline(session, payment, user)
        await session.flush()
        return view(payment, user)

    return await once(session, request, response, user, idempotency_key, NoBody(), lambda: retried(session, run))


@router.post("/{payment_id}/cancel", response_model=Envelope[PaymentOut], responses=PAYMENT_ERRORS)
async def cancel(
    payment_id: uuid.UUID,
    user: CurrentUser,
    session: Session,
    request: Request,
    response: Response,
    idempotency_key: KeyHeader = None,
) -> dict[str, Any]:
    """Who started it takes it back before it is accepted: the payer a sent payment (its hold then goes back to
    the payer, as after a decline), the payee their request. Accepted, settled or already ended: a 409."""

    async def run() -> dict[str, Any]:
        payment = await one(session, user, payment_id, lock=True)
        if not payments.allowed(payment, PaymentStatus.CANCELLED):
            raise Conflict(f"The payment is {payment.status}", code="PAYMENT_STATE")
        side(payment, user, "payee" if payment.status == PaymentStatus.REQUESTED.value else "payer")
        await payments.cancel(session, payment, user)
        await session.flush()
        return view(payment, user)

    return await once(session, request, response, user, idempotency_key, NoBody(), lambda: retried(session, run))
