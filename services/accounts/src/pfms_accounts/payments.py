"""The P2P payment saga: each step books one side's ledger and hands on to the next by an event.

Both people's ledgers live in this service, yet the steps still pass through the outbox (and this
service's own queue), so a crash between two steps loses nothing — the event is committed with the
step before it — and each step is a transaction of its own:

1. send (route): the payer's money is held (`payment_rules.hold_legs`, under the wallet's row lock,
   never below its floor) → `account.payment_sent`;
2. `on_sent`: the payee's only receiving account of the currency accepts it at once, else the payee is
   told to accept (route → `account.payment_accepted` → `on_accepted`);
3. `deliver`: the payer's hold leaves their books and enters the payee's account → settled,
   `account.payment_received`;
4. compensation: a decline (`account.payment_declined`), a cancel by the payer before acceptance
   (`account.payment_cancelled`), an expiry or an unusable account (`account.payment_failed`) → `refund`
   returns the hold → `account.payment_refunded`.

Every step locks the payment row first and acts only if the status machine allows it, and each entry
has a `source_ref`, so a repeated event books nothing twice.

Locks are taken in one order everywhere: the payment row, then every account the step books on in one
`SELECT … ORDER BY id FOR UPDATE` (`ledger.lock_all`, counter-accounts found by owner and kind, never by
an insert that would wait on a row another step is booking on). A delivery, which books on both people's
books, therefore never holds one person's rows while it waits for the other's, which is what let a send
and a delivery touching the same person deadlock under bursts.
"""

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from fastapi import FastAPI
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_accounts import ledger
from pfms_accounts import payment_rules as rules
from pfms_accounts.domain import AccountType, EntryKind
from pfms_accounts.models import Account
from pfms_accounts.models_payments import Payment
from pfms_accounts.payment_rules import PaymentStatus
from pfms_contracts.accounts import (
    PaymentAccepted,
    PaymentCancelled,
    PaymentDeclined,
    PaymentFailed,
    PaymentReceived,
    PaymentRefunded,
    PaymentSent,
)
from pfms_contracts.notification import NotificationRequested
from pfms_finance.currency import quantize
from pfms_platform.db import Database
from pfms_platform.errors import Conflict
from pfms_platform.events.outbox import emit
from pfms_platform.export import Rows, rows, user_rows
from pfms_platform.logging import get_logger

log = get_logger(__name__)


def facts(payment: Payment) -> dict[str, Any]:
    """The fields every payment event carries."""
    return {
        "payment_id": payment.id,
        "payer_id": payment.payer_id,
        "payee_id": payment.payee_id,
        "amount": payment.amount,
        "currency": payment.currency,
    }


def move(payment: Payment, target: PaymentStatus, reason: str | None = None) -> None:
    """Advance the status; a step the machine does not allow is a 409 (routes) — handlers check first."""
    if not rules.can_move(PaymentStatus(payment.status), target, held=held(payment)):
        raise Conflict(f"The payment is {payment.status}", code="PAYMENT_STATE")
    payment.status = target.value
    if reason is not None:
        payment.reason = reason
    payment.updated_at = datetime.now(UTC)


def allowed(payment: Payment | None, target: PaymentStatus) -> bool:
    return payment is not None and rules.can_move(PaymentStatus(payment.status), target, held=held(payment))


def held(payment: Payment) -> bool:
    """The payer's money sits in their clearing account (booked out, neither delivered nor returned)."""
    return payment.hold_entry_id is not None and payment.settle_entry_id is None and payment.refund_entry_id is None


async def locked(session: AsyncSession, payment_id: uuid.UUID) -> Payment | None:
    return await session.scalar(
        select(Payment).where(Payment.id == payment_id).with_for_update().execution_options(populate_existing=True)
    )


async def notify(session: AsyncSession, user_id: uuid.UUID, payment: Payment, what: str, title: str, text: str) -> None:
    """Ask the notification service to tell `user_id` (once per payment and `what`)."""
    amount = str(quantize(payment.amount, payment.currency))
    await emit(
        session,
        NotificationRequested(
            user_id=user_id,
            category="income" if user_id == payment.payee_id else "expense",
            title=title,
            message=text.format(amount=amount, currency=payment.currency),
            reference_type="payment",
            reference_id=payment.id,
            action_url=f"/accounts/payments/{payment.id}",
            dedupe_key=f"payment:{payment.id}:{what}",
            data={"payment_id": str(payment.id), "amount": amount, "currency": payment.currency, "event": what},
        ),
    )


async def hold(session: AsyncSession, payment: Payment, account: Account) -> None:
    """Step 1 (the payment already `sent`): the payer's money into their clearing account, refused below
    the wallet's floor — the whole request then rolls back.

    The books' accounts every later step needs (the payer's clearing and edge, the payee's edge) are made
    here, in one order of (person, kind): two first payments crossing each other then cannot wait on each
    other's new rows, and the delivery only locks rows that exist."""
    books = sorted(
        {(payment.payer_id, AccountType.CLEARING), (payment.payer_id, AccountType.EXTERNAL)}
        | {(payment.payee_id, AccountType.EXTERNAL)},
        key=lambda owner_kind: (str(owner_kind[0]), owner_kind[1].value),
    )
    made = {key: await ledger.external(session, key[0], payment.currency, key[1]) for key in books}
    clearing = made[(payment.payer_id, AccountType.CLEARING)]
    booked = await ledger.book(
        session,
        payment.payer_id,
        EntryKind.PAYMENT,
        rules.hold_legs(account.id, clearing, payment.currency, payment.amount),
        description=payment.note or "Payment sent",
        source_ref=f"payment:{payment.id}:hold",
    )
    assert booked is not None  # a payment is sent once (its status moved to `sent` in this transaction)
    payment.payer_account_id = account.id
    payment.hold_entry_id = booked[0].id
    await session.flush()
    await emit(
        session,
        PaymentSent(
            user_id=payment.payer_id,
            **facts(payment),
            payer_account_id=account.id,
            entry_id=booked[0].id,
            note=payment.note,
        ),
    )


async def on_sent(session: AsyncSession, data: PaymentSent) -> None:
    """Step 2: into the payee's only receiving account of the currency, or wait for the payee to pick one."""
    payment = await locked(session, data.payment_id)
    if not allowed(payment, PaymentStatus.ACCEPTED):
        return
    assert payment is not None
    rows = await session.execute(
        select(Account.id, Account.type, Account.currency, Account.archived).where(
            Account.user_id == payment.payee_id, Account.space_id.is_(None), Account.currency == payment.currency
        )
    )
    target = rules.auto_account([tuple(r) for r in rows], payment.currency)
    if target is None:
        await notify(
            session,
            payment.payee_id,
            payment,
            "incoming",
            "Incoming payment",
            "Someone sent you {amount} {currency}: accept it into one of your {currency} accounts.",
        )
        return
    assert isinstance(target, uuid.UUID)
    move(payment, PaymentStatus.ACCEPTED)
    await deliver(session, payment, target)


async def accept(session: AsyncSession, payment: Payment, account: Account) -> None:
    """The payee's choice of account (route); the booking is the next step's (`on_accepted`)."""
    move(payment, PaymentStatus.ACCEPTED)
    payment.payee_account_id = account.id
    await session.flush()
    await emit(session, PaymentAccepted(user_id=payment.payee_id, **facts(payment), payee_account_id=account.id))


async def on_accepted(session: AsyncSession, data: PaymentAccepted) -> None:
    payment = await locked(session, data.payment_id)
    if allowed(payment, PaymentStatus.SETTLED):
        assert payment is not None
        await deliver(session, payment, payment.payee_account_id)


async def counter(
    session: AsyncSession, rows: list[Account], owner_id: uuid.UUID, currency: str, kind: AccountType
) -> uuid.UUID:
    """The counter-account among the locked `rows` (made by the hold; made now only if it has gone since)."""
    for row in rows:
        if row.user_id == owner_id and row.currency == currency and row.type == kind.value:
            return row.id
    return await ledger.external(session, owner_id, currency, kind)


async def deliver(session: AsyncSession, payment: Payment, account_id: uuid.UUID | None) -> None:
    """Step 3: the hold leaves the payer's books and enters the payee's account; an account that is gone,
    archived or in another currency fails the payment instead (the refund follows).

    Every account of both entries is locked in one statement before anything else (`ledger.lock_all`), and
    with them the payer's account the money came from: a payment row updated twice in one transaction has
    both its foreign keys checked (PostgreSQL re-checks every key of a row the transaction itself wrote),
    so the settling update takes a share lock on the payer's account. Unlocked, that share lock waited on a
    send from the same account, which waited on the clearing account this delivery holds: the deadlock of
    bursts. The payment names the payee's account only once it is locked, for the same reason."""
    ccy, payer, payee = payment.currency, payment.payer_id, payment.payee_id
    rows = await ledger.lock_all(
        session,
        [account_id, payment.payer_account_id],
        [(payer, ccy, AccountType.CLEARING), (payer, ccy, AccountType.EXTERNAL), (payee, ccy, AccountType.EXTERNAL)],
    )
    clearing = await counter(session, rows, payer, ccy, AccountType.CLEARING)
    payer_edge = await counter(session, rows, payer, ccy, AccountType.EXTERNAL)
    payee_edge = await counter(session, rows, payee, ccy, AccountType.EXTERNAL)
    account = next((a for a in rows if a.id == account_id and a.user_id == payee and a.space_id is None), None)
    if account is None or account.archived or account.currency != ccy:
        await fail(session, payment, "account_unavailable")
        return
    payment.payee_account_id = account.id
    ref = f"payment:{payment.id}"
    await ledger.book(
        session,
        payment.payer_id,
        EntryKind.PAYMENT,
        rules.release_legs(clearing, payer_edge, ccy, payment.amount),
        description=payment.note or "Payment delivered",
        source_ref=f"{ref}:release",
    )
    booked = await ledger.book(
        session,
        payment.payee_id,
        EntryKind.PAYMENT,
        rules.receive_legs(account.id, payee_edge, ccy, payment.amount),
        description=payment.note or "Payment received",
        source_ref=f"{ref}:receive",
    )
    assert booked is not None  # the payment row was locked and not yet settled
    move(payment, PaymentStatus.SETTLED)
    payment.settle_entry_id = booked[0].id
    payment.settled_at = datetime.now(UTC)
    await emit(
        session,
        PaymentReceived(user_id=payment.payee_id, **facts(payment), payee_account_id=account.id, entry_id=booked[0].id),
    )
    await notify(
        session,
        payment.payee_id,
        payment,
        "received",
        "Payment received",
        "{amount} {currency} arrived in your account.",
    )


async def fail(session: AsyncSession, payment: Payment, reason: rules.FailReason) -> None:
    """The payment cannot be delivered: mark it and hand the refund on (`on_failed`)."""
    move(payment, PaymentStatus.FAILED, reason)
    await emit(session, PaymentFailed(user_id=payment.payer_id, **facts(payment), reason=reason))


async def decline(session: AsyncSession, payment: Payment, by: uuid.UUID) -> None:
    """The payer declines a request (nothing moved) or the payee a sent payment (the refund follows)."""
    money = held(payment)
    move(payment, PaymentStatus.DECLINED, "declined")
    await emit(session, PaymentDeclined(user_id=by, **facts(payment), held=money))
    other = payment.payee_id if by == payment.payer_id else payment.payer_id
    what = "Your payment of {amount} {currency} was declined" if money else "Your request for {amount} {currency}"
    await notify(
        session,
        other,
        payment,
        "declined",
        "Payment declined",
        what + (": it is back in your account." if money else " was declined."),
    )


async def cancel(session: AsyncSession, payment: Payment, by: uuid.UUID) -> None:
    """Who started it takes it back before acceptance: the payer a sent payment (the refund follows) or the
    payee their request (nothing moved); the other side is told."""
    money = held(payment)
    move(payment, PaymentStatus.CANCELLED, "cancelled")
    await emit(session, PaymentCancelled(user_id=by, **facts(payment), held=money))
    other = payment.payee_id if by == payment.payer_id else payment.payer_id
    what = "The payment of {amount} {currency} to you" if money else "The request for {amount} {currency}"
    await notify(session, other, payment, "cancelled", "Payment cancelled", what + " was cancelled.")


async def on_declined(session: AsyncSession, data: PaymentDeclined | PaymentCancelled) -> None:
    """The compensation of a decline or a cancel: the hold, if any, goes back."""
    payment = await locked(session, data.payment_id)
    if data.held and allowed(payment, PaymentStatus.REFUNDED):
        assert payment is not None
        await refund(session, payment)


async def on_failed(session: AsyncSession, data: PaymentFailed) -> None:
    payment = await locked(session, data.payment_id)
    if allowed(payment, PaymentStatus.REFUNDED):
        assert payment is not None
        await refund(session, payment)
        await notify(
            session,
            payment.payer_id,
            payment,
            "failed",
            "Payment failed",
            "Your payment of {amount} {currency} could not be delivered: it is back in your account.",
        )


async def refund(session: AsyncSession, payment: Payment) -> None:
    """Compensation: the hold goes back to the account it came from (a reversing entry on the payer's ledger)."""
    account_id = payment.payer_account_id
    assert account_id is not None  # held money came from an account; accounts with postings are never deleted
    ccy = payment.currency
    rows = await ledger.lock_all(session, [account_id], [(payment.payer_id, ccy, AccountType.CLEARING)])
    clearing = await counter(session, rows, payment.payer_id, ccy, AccountType.CLEARING)
    booked = await ledger.book(
        session,
        payment.payer_id,
        EntryKind.PAYMENT,
        rules.refund_legs(account_id, clearing, payment.currency, Decimal(payment.amount)),
        description="Payment refunded",
        source_ref=f"payment:{payment.id}:refund",
    )
    assert booked is not None
    reason = cast(rules.RefundReason, payment.reason or "declined")
    move(payment, PaymentStatus.REFUNDED)
    payment.refund_entry_id = booked[0].id
    await emit(
        session,
        PaymentRefunded(
            user_id=payment.payer_id,
            **facts(payment),
            payer_account_id=account_id,
            entry_id=booked[0].id,
            reason=reason,
        ),
    )


async def forget_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """A deleted person's payments: money held for them goes back to the payer, then the rows go.

    What the deleted person held for someone else leaves with their own books (the payee got nothing yet)."""
    rows = await session.scalars(
        select(Payment)
        .where(or_(Payment.payer_id == user_id, Payment.payee_id == user_id))
        .order_by(Payment.id)
        .with_for_update()
    )
    found = rows.all()
    owed = [p for p in found if p.payee_id == user_id and held(p)]
    if owed:  # every account the refunds below book on, locked at once (one order, as every other step)
        await ledger.lock_all(
            session, [p.payer_account_id for p in owed], [(p.payer_id, p.currency, AccountType.CLEARING) for p in owed]
        )
    for payment in found:
        if payment in owed:
            if allowed(payment, PaymentStatus.FAILED):
                move(payment, PaymentStatus.FAILED, "user_deleted")
            await refund(session, payment)
            await notify(
                session,
                payment.payer_id,
                payment,
                "failed",
                "Payment failed",
                "Your payment of {amount} {currency} could not be delivered: it is back in your account.",
            )
        await session.delete(payment)


async def export(session: AsyncSession, user_id: uuid.UUID) -> Rows:
    """The GDPR export: every table's rows of the person (`user_id`), plus the payments they pay or are paid
    (those name the person as `payer_id` or `payee_id`)."""
    tables = await user_rows(session, user_id, "pfms_accounts")
    query = select(Payment.__table__).where(or_(Payment.payer_id == user_id, Payment.payee_id == user_id))
    tables["payments"] = await rows(session, query.order_by(Payment.id))
    return tables


async def expire_due(db: Database, now: datetime) -> int:
    """Requests nobody answered expire; sent payments nobody accepted fail (and are refunded)."""
    count = 0
    async with db.sessions() as session, session.begin():
        rows = await session.scalars(
            select(Payment)
            .where(
                Payment.status.in_([PaymentStatus.REQUESTED.value, PaymentStatus.SENT.value]),
                Payment.expires_at <= now,
            )
            .order_by(Payment.expires_at)
            .limit(200)
            .with_for_update(skip_locked=True)
        )
        for payment in rows.all():
            if payment.status == PaymentStatus.REQUESTED.value:
                move(payment, PaymentStatus.EXPIRED, "expired")
            else:
                await fail(session, payment, "expired")
            count += 1
    return count


async def expiry_loop(app: FastAPI) -> None:
    """Background: expire overdue payments every `payment_sweep_seconds`; a failed pass is retried next time."""
    settings = app.state.settings
    await app.state.bus.wait_connected()
    while True:
        try:
            if done := await expire_due(app.state.db, datetime.now(UTC)):
                log.info("payments expired", count=done)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("payment expiry pass failed", error=str(exc)[:300])
        await asyncio.sleep(settings.payment_sweep_seconds)
