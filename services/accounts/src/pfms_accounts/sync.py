"""Sync of a bank connection: fetch accounts (balances refreshed) and new transactions from the provider,
open PFMS accounts for new provider accounts, hand each new transaction on as `account.transaction_imported`
(the expense service records debits, the income service credits, and books them on the account), each
one the provider changed or dropped after it was imported as `account.transaction_revised` /
`account.transaction_removed` (ids never imported — a pending charge — are ignored), and keep the cursor.
A provider error is recorded on the connection; one only the person can fix sets `reauth_required` and
asks the notification service to tell them (once per connection and day).

`run` works in the caller's transaction: everything of one sync commits together, or not at all.
`loop` is the background job that runs the syncs webhooks (and links) asked for, and asks itself for
one on every active connection not synced (nor failed) for `bank_sync_every_hours` — a bank that sends
no webhook, or one that was lost, still gets its balances and transactions refreshed.
"""

import asyncio
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_accounts import connections, domain, ledger
from pfms_accounts.connections import Status
from pfms_accounts.domain import EntryKind
from pfms_accounts.models import Account, BankConnection, ConnectedAccount, ImportedTransaction
from pfms_accounts.providers.base import Provider, ProviderAccount, ProviderError, ProviderTransaction
from pfms_contracts.accounts import AccountOpened, TransactionImported, TransactionRemoved, TransactionRevised
from pfms_contracts.notification import NotificationRequested
from pfms_finance.currency import quantize
from pfms_platform.events.outbox import emit
from pfms_platform.logging import get_logger

log = get_logger(__name__)
PICK = 10


async def run(session: AsyncSession, connection: BankConnection, provider: Provider) -> int:
    """Sync one connection; the number of transactions imported (0 after an error, which is recorded)."""
    if connection.status == Status.UNLINKED or not connection.access_token:
        return 0
    try:
        found = await provider.accounts(connection.access_token)
        batch = await provider.transactions(connection.access_token, connection.cursor)
    except ProviderError as exc:
        await failed(session, connection, exc.code, exc.message, reauth=exc.reauth)
        return 0
    now = datetime.now(UTC)
    linked = {
        row.external_account_id: row
        for row in await session.scalars(
            select(ConnectedAccount).where(ConnectedAccount.connection_id == connection.id)
        )
    }
    fresh = [a for a in found if a.external_id not in linked]
    for account in fresh:
        linked[account.external_id] = await _open(session, connection, account)
    currencies = {
        a.id: a.currency
        for a in await session.scalars(select(Account).where(Account.id.in_([r.account_id for r in linked.values()])))
    }
    imported: dict[str, list[Decimal]] = {}
    for found_transaction in batch.added:
        row = linked.get(found_transaction.account_external_id)
        if row is None or not connections.importable(found_transaction, currencies.get(row.account_id)):
            continue
        transaction = replace(found_transaction, amount=quantize(found_transaction.amount, found_transaction.currency))
        if await _import(session, connection, row.account_id, transaction):
            imported.setdefault(transaction.account_external_id, []).append(transaction.amount)
    for found_transaction in batch.modified:
        row = linked.get(found_transaction.account_external_id)
        if row is not None and connections.importable(found_transaction, currencies.get(row.account_id)):
            amount = quantize(found_transaction.amount, found_transaction.currency)
            await _revise(session, connection, replace(found_transaction, amount=amount))
    for external_id in batch.removed:
        await _remove(session, connection, external_id)
    for account in found:
        row = linked[account.external_id]
        row.provider_balance, row.balance_at = quantize(account.balance, account.currency), now
    for account in fresh:
        balance = quantize(account.balance, account.currency)
        opening = connections.opening_balance(balance, imported.get(account.external_id, []))
        await _book_opening(session, connection.user_id, linked[account.external_id].account_id, opening)
    connection.cursor = batch.cursor
    connection.last_synced_at = now
    connection.last_error = connection.last_error_at = connection.sync_requested_at = None
    connection.status = Status.ACTIVE
    count = sum(len(v) for v in imported.values())
    log.info("bank connection synced", connection_id=str(connection.id), imported=count)
    return count


async def failed(session: AsyncSession, connection: BankConnection, code: str, message: str, *, reauth: bool) -> None:
    """Record the error; the first time re-authentication is needed, the person is told."""
    now = datetime.now(UTC)
    connection.last_error = f"{code}: {message}"[:500]
    connection.last_error_at = now
    connection.sync_requested_at = None
    log.warning("bank sync failed", connection_id=str(connection.id), provider_code=code, reauth=reauth)
    if not reauth or connection.status == Status.REAUTH_REQUIRED:
        return
    connection.status = Status.REAUTH_REQUIRED
    title, message = connections.reauth_message(connection.institution)
    await emit(
        session,
        NotificationRequested(
            user_id=connection.user_id,
            category="system",
            title=title,
            message=message,
            priority="high",
            reference_type="bank_connection",
            reference_id=connection.id,
            action_url=f"/accounts/connections/{connection.id}",
            dedupe_key=f"bank-reauth:{connection.id}:{now.date().isoformat()}",
            data={"provider": connection.provider, "code": code},
        ),
    )


async def _open(session: AsyncSession, connection: BankConnection, found: ProviderAccount) -> ConnectedAccount:
    account = Account(
        id=uuid.uuid4(),
        user_id=connection.user_id,
        name=found.name[:200],
        type=found.type.value,
        currency=found.currency,
        institution=(found.institution or connection.institution),
    )
    session.add(account)
    await session.flush()
    row = ConnectedAccount(
        connection_id=connection.id,
        account_id=account.id,
        user_id=connection.user_id,
        external_account_id=found.external_id,
    )
    session.add(row)
    await session.flush()
    return row


async def _book_opening(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID, opening: Decimal) -> None:
    account = await ledger.account_of(session, user_id, account_id)
    if opening != 0:
        legs = domain.external_legs(
            account.id, await ledger.external(session, user_id, account.currency), account.currency, opening
        )
        await ledger.book(
            session, user_id, EntryKind.OPENING, legs, description="Opening balance", enforce_floors=False
        )
        account.opening_balance = opening
    await emit(
        session,
        AccountOpened(
            user_id=user_id,
            account_id=account.id,
            name=account.name,
            account_type=account.type,
            currency=account.currency,
            opening_balance=opening,
        ),
    )


async def _import(
    session: AsyncSession, connection: BankConnection, account_id: uuid.UUID, transaction: ProviderTransaction
) -> bool:
    row_id = await session.scalar(
        insert(ImportedTransaction)
        .values(
            id=uuid.uuid4(),
            user_id=connection.user_id,
            connection_id=connection.id,
            account_id=account_id,
            source=connection.provider,
            external_id=transaction.external_id,
            amount=transaction.amount,
            occurred_on=transaction.occurred_on,
        )
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(ImportedTransaction.id)
    )
    if row_id is None:
        return False
    await emit(
        session,
        TransactionImported(
            user_id=connection.user_id,
            transaction_id=row_id,
            account_id=account_id,
            source=connection.provider,
            external_id=transaction.external_id,
            direction=connections.direction(transaction.amount),
            amount=abs(transaction.amount),
            currency=transaction.currency,
            description=transaction.description,
            merchant=transaction.merchant,
            occurred_on=transaction.occurred_on,
            posted=False,
        ),
    )
    return True


async def _imported(session: AsyncSession, connection: BankConnection, external_id: str) -> ImportedTransaction | None:
    found: ImportedTransaction | None = await session.scalar(
        select(ImportedTransaction).where(
            ImportedTransaction.user_id == connection.user_id,
            ImportedTransaction.source == connection.provider,
            ImportedTransaction.external_id == external_id,
        )
    )
    return found


async def _revise(session: AsyncSession, connection: BankConnection, transaction: ProviderTransaction) -> None:
    """Hand on the provider's new version of an imported transaction; one that changed direction (money in
    became money out) is left as it was: the expense and income services cannot move a record between them."""
    row = await _imported(session, connection, transaction.external_id)
    if row is None:
        return
    if connections.direction(row.amount) != connections.direction(transaction.amount):
        log.warning("a revised bank transaction changed direction: ignored", transaction_id=str(row.id))
        return
    row.amount, row.occurred_on = transaction.amount, transaction.occurred_on
    await emit(
        session,
        TransactionRevised(
            user_id=connection.user_id,
            transaction_id=row.id,
            account_id=row.account_id,
            source=connection.provider,
            external_id=transaction.external_id,
            direction=connections.direction(transaction.amount),
            amount=abs(transaction.amount),
            currency=transaction.currency,
            description=transaction.description,
            merchant=transaction.merchant,
            occurred_on=transaction.occurred_on,
        ),
    )


async def _remove(session: AsyncSession, connection: BankConnection, external_id: str) -> None:
    """Hand on a dropped import. Its row stays, so a transaction dropped twice is announced twice at most
    (the consumers are idempotent) and a re-sent one is never imported again."""
    row = await _imported(session, connection, external_id)
    if row is None:
        return
    await emit(
        session,
        TransactionRemoved(
            user_id=connection.user_id,
            transaction_id=row.id,
            account_id=row.account_id,
            source=connection.provider,
            external_id=external_id,
        ),
    )


async def request_due(session: AsyncSession, every: timedelta) -> int:
    """Ask for a sync of each active connection whose last sync or failure is older than `every`."""
    last = func.coalesce(
        func.greatest(BankConnection.last_synced_at, BankConnection.last_error_at), BankConnection.created_at
    )
    asked = await session.execute(
        update(BankConnection)
        .where(
            BankConnection.status == Status.ACTIVE,
            BankConnection.sync_requested_at.is_(None),
            last < func.now() - every,
        )
        .values(sync_requested_at=func.now())
    )
    return int(asked.rowcount)  # type: ignore[attr-defined]


async def loop(app: FastAPI) -> None:
    """Run the syncs webhooks and links asked for, a few at a time, each in its own transaction; every
    `bank_sync_due_check_seconds`, first ask for the syncs that are due."""
    settings = app.state.settings
    every = timedelta(hours=settings.bank_sync_every_hours)
    due_check_at = 0.0
    while True:
        await asyncio.sleep(settings.bank_sync_poll_seconds)
        if time.monotonic() >= due_check_at:
            due_check_at = time.monotonic() + settings.bank_sync_due_check_seconds
            async with app.state.db.sessions() as session, session.begin():
                if asked := await request_due(session, every):
                    log.info("scheduled bank syncs requested", connections=asked)
        async with app.state.db.sessions() as session:
            ids = list(
                await session.scalars(
                    select(BankConnection.id)
                    .where(BankConnection.sync_requested_at.is_not(None), BankConnection.status == Status.ACTIVE)
                    .order_by(BankConnection.sync_requested_at)
                    .limit(PICK)
                )
            )
        for connection_id in ids:
            await sync_one(app, connection_id)


async def sync_one(app: FastAPI, connection_id: uuid.UUID) -> None:
    async with app.state.db.sessions() as session, session.begin():
        connection = await session.scalar(
            select(BankConnection)
            .where(BankConnection.id == connection_id, BankConnection.sync_requested_at.is_not(None))
            .with_for_update(skip_locked=True)
        )
        if connection is not None:
            await run(session, connection, app.state.providers[connection.provider])


async def forget_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """A deleted person's connections go (their accounts, imports and links go with the accounts)."""
    await session.execute(delete(BankConnection).where(BankConnection.user_id == user_id))
