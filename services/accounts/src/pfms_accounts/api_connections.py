"""HTTP routes of bank connections: link, list, read, sync now, unlink; and the providers' webhooks.

The webhook routes are public (the provider calls them, with no user token): a request is trusted only
once its signature (Plaid) or secret (Belvo) verifies — otherwise 401 and nothing changes. A webhook is
taken once (provider + SHA-256 of its body); it only marks the connection for a sync, which the
background job runs (`sync.loop`), so the provider gets its answer at once.
"""

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, status
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_accounts import sync
from pfms_accounts.connections import Difference, Status
from pfms_accounts.models import Account, BankConnection, ConnectedAccount, WebhookReceipt
from pfms_accounts.providers.base import Provider, ProviderError, WebhookRefused
from pfms_accounts.schemas_connections import ConnectedAccountOut, ConnectionCreate, ConnectionOut
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, Invalid, NotFound, Unauthorized
from pfms_platform.logging import get_logger
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/accounts/connections", tags=["bank connections"])
log = get_logger(__name__)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such connection of the caller's"}}
ProviderName = Literal["plaid", "belvo"]


def _provider(request: Request, name: str) -> Provider:
    provider: Provider = request.app.state.providers[name]
    return provider


async def _owned(session: AsyncSession, user: uuid.UUID, connection_id: uuid.UUID) -> BankConnection:
    connection = await session.scalar(
        select(BankConnection).where(BankConnection.id == connection_id, BankConnection.user_id == user)
    )
    if connection is None:
        raise NotFound("Connection not found")
    return connection


async def _out(session: AsyncSession, connection: BankConnection) -> dict[str, Any]:
    rows = await session.execute(
        select(ConnectedAccount, Account.balance)
        .join(Account, Account.id == ConnectedAccount.account_id)
        .where(ConnectedAccount.connection_id == connection.id)
        .order_by(Account.created_at, Account.id)
    )
    accounts = [
        ConnectedAccountOut(
            account_id=row.account_id,
            external_account_id=row.external_account_id,
            provider_balance=row.provider_balance,
            ledger_balance=balance,
            difference=None if row.provider_balance is None else Difference(row.provider_balance, balance).difference,
            balance_at=row.balance_at,
        )
        for row, balance in rows.all()
    ]
    return ConnectionOut(
        id=connection.id,
        provider=connection.provider,
        institution=connection.institution,
        status=Status(connection.status).value,
        reauth_required=connection.status == Status.REAUTH_REQUIRED,
        last_synced_at=connection.last_synced_at,
        last_error=connection.last_error,
        last_error_at=connection.last_error_at,
        sync_pending=connection.sync_requested_at is not None,
        created_at=connection.created_at,
        accounts=accounts,
    ).model_dump(mode="json")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[ConnectionOut])
async def link(body: ConnectionCreate, user: CurrentUser, session: Session, request: Request) -> dict[str, Any]:
    """Exchange the token at the provider, then sync at once: its accounts become PFMS accounts (opened at
    the provider's balance) and its transactions are imported."""
    provider = _provider(request, body.provider)
    try:
        linked = await provider.link(body.public_token)
    except ProviderError as exc:
        raise Invalid(
            f"The provider refused the token ({exc.code})", field="public_token", code="PROVIDER_REFUSED"
        ) from None
    taken = await session.scalar(
        select(BankConnection).where(
            BankConnection.provider == body.provider, BankConnection.external_id == linked.external_id
        )
    )
    if taken is not None and taken.status != Status.UNLINKED:
        raise Conflict("This bank link is already connected", code="ALREADY_CONNECTED")
    if taken is not None:
        if taken.user_id != user:
            raise Conflict("This bank link is already connected", code="ALREADY_CONNECTED")
        connection = taken
        connection.access_token, connection.status, connection.cursor = linked.access_token, Status.ACTIVE, None
    else:
        connection = BankConnection(
            id=uuid.uuid4(),
            user_id=user,
            provider=body.provider,
            external_id=linked.external_id,
            institution=linked.institution,
            access_token=linked.access_token,
        )
        session.add(connection)
    await session.flush()
    await sync.run(session, connection, provider)
    await session.flush()
    await session.refresh(connection)
    return ok(await _out(session, connection))


@router.get("", response_model=PageEnvelope[ConnectionOut])
async def list_connections(page: Annotated[PageParams, Query()], user: CurrentUser, session: Session) -> dict[str, Any]:
    """The caller's connections, oldest first, with their health and accounts."""
    total = await session.scalar(select(func.count()).where(BankConnection.user_id == user)) or 0
    rows = await session.scalars(
        select(BankConnection)
        .where(BankConnection.user_id == user)
        .order_by(BankConnection.created_at, BankConnection.id)
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([await _out(session, c) for c in rows.all()], page, total)


@router.get("/{connection_id}", response_model=Envelope[ConnectionOut], responses=NOT_FOUND)
async def get_connection(connection_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Health (last sync, last error, re-authentication needed) and each account's balance against the bank's."""
    return ok(await _out(session, await _owned(session, user, connection_id)))


@router.post("/{connection_id}/sync", response_model=Envelope[ConnectionOut], responses=NOT_FOUND)
async def sync_now(connection_id: uuid.UUID, user: CurrentUser, session: Session, request: Request) -> dict[str, Any]:
    """Sync now (also how a connection that needed re-authentication is tried again after the person logged in
    at the bank); a provider error is recorded on the connection and shown, not raised."""
    connection = await _owned(session, user, connection_id)
    if connection.status == Status.UNLINKED:
        raise Invalid("The connection was unlinked", field="connection_id", code="CONNECTION_UNLINKED")
    connection = (
        await session.scalar(select(BankConnection).where(BankConnection.id == connection.id).with_for_update())
        or connection
    )
    await sync.run(session, connection, _provider(request, connection.provider))
    await session.flush()
    return ok(await _out(session, connection))


@router.delete("/{connection_id}", response_model=Envelope[ConnectionOut], responses=NOT_FOUND)
async def unlink(connection_id: uuid.UUID, user: CurrentUser, session: Session, request: Request) -> dict[str, Any]:
    """Unlink at the provider and forget the credential; the accounts stay, with their history, as manual ones."""
    connection = await _owned(session, user, connection_id)
    if connection.status != Status.UNLINKED and connection.access_token:
        try:
            await _provider(request, connection.provider).unlink(connection.access_token)
        except ProviderError as exc:  # the person's wish to disconnect wins; the credential is dropped anyway
            log.warning("provider unlink failed", connection_id=str(connection.id), provider_code=exc.code)
    out = await _out(session, connection)
    await session.execute(delete(ConnectedAccount).where(ConnectedAccount.connection_id == connection.id))
    connection.status, connection.access_token, connection.cursor = Status.UNLINKED, None, None
    connection.sync_requested_at = None
    return ok({**out, "status": Status.UNLINKED.value, "reauth_required": False, "sync_pending": False, "accounts": []})


@router.post(
    "/webhooks/{provider}", response_model=Envelope[dict[str, Any]], responses={401: {"description": "Bad signature"}}
)
async def webhook(provider: Annotated[ProviderName, Path()], session: Session, request: Request) -> dict[str, Any]:
    """A provider's webhook (public: verified by signature or secret, never by a user token)."""
    body = await request.body()
    try:
        note = await _provider(request, provider).verify_webhook(body, request.headers)
    except WebhookRefused as exc:
        log.warning("webhook refused", provider=provider, reason=str(exc)[:200])
        raise Unauthorized("The webhook could not be verified", code="WEBHOOK_UNVERIFIED") from None
    except ValueError:
        raise Unauthorized("The webhook could not be read", code="WEBHOOK_UNVERIFIED") from None
    digest = hashlib.sha256(body).hexdigest()
    first = await session.scalar(
        insert(WebhookReceipt)
        .values(provider=provider, digest=digest)
        .on_conflict_do_nothing()
        .returning(WebhookReceipt.digest)
    )
    if first is None:
        return ok({"received": True, "duplicate": True})
    connection = await session.scalar(
        select(BankConnection)
        .where(BankConnection.provider == provider, BankConnection.external_id == note.external_id)
        .with_for_update()
    )
    if connection is None or connection.status == Status.UNLINKED or note.action == "ignore":
        return ok({"received": True, "duplicate": False})
    if note.action == "reauth":
        await sync.failed(session, connection, note.code, "the provider asks the person to log in again", reauth=True)
    else:
        if connection.status == Status.REAUTH_REQUIRED and note.code == "LOGIN_REPAIRED":
            connection.status = Status.ACTIVE
        connection.sync_requested_at = datetime.now(UTC)
    return ok({"received": True, "duplicate": False})
