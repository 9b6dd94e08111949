"""HTTP routes of accounts: open, list, read, change, archive; their postings, reconciliation and net worth.

Every route acts on the accounts of the caller's scope only (`X-Space-ID`: absent, their personal accounts;
a space's id, that space's — viewers read, members also write): any other account is a 404. The books'
counter-accounts (`external`) are never listed or addressable.
"""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import exists, func, select

from pfms_accounts import domain, ledger, networth
from pfms_accounts.api_moves import MOVE_ERRORS, once
from pfms_accounts.domain import AccountType, EntryKind
from pfms_accounts.idempotency import KeyHeader
from pfms_accounts.models import Account, JournalEntry, Posting
from pfms_accounts.schemas import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    NetWorthOut,
    NetWorthPoint,
    NetWorthQuery,
    PostingOut,
    ReconcileCreate,
    Reconciliation,
)
from pfms_accounts.settings import Settings
from pfms_contracts.accounts import AccountArchived, AccountOpened, BalanceAdjusted
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Invalid
from pfms_platform.events.outbox import emit
from pfms_platform.spaces import CurrentScope

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])

ACCOUNT_404: dict[int | str, dict[str, Any]] = {404: {"description": "No such account of the caller's"}}


def account_out(account: Account) -> dict[str, Any]:
    return AccountOut.model_validate(account, from_attributes=True).model_dump(mode="json")


class AccountQuery(PageParams):
    type: AccountType | None = None
    include_archived: bool = Field(default=False, description="Archived accounts are hidden unless asked for")


@router.get("/net-worth", response_model=Envelope[NetWorthOut])
async def net_worth(
    query: Annotated[NetWorthQuery, Query()], scope: CurrentScope, session: Session, request: Request
) -> dict[str, Any]:
    """Assets minus liabilities now, and at the end of each day from `from` to `to` (a chart's series); with
    `X-Space-ID`, of the space's accounts."""
    scope.require("read")
    settings: Settings = request.app.state.settings
    currency = query.currency or await networth.currency_of(session, scope.user_id, settings.default_currency)
    today = datetime.now(UTC).date()
    stop = query.to or today
    start = query.from_ or stop - timedelta(days=30)
    if stop > today:
        raise Invalid("`to` may not be in the future", field="to")
    if start > stop:
        raise Invalid("`from` must not be after `to`", field="from")
    if (stop - start).days >= settings.net_worth_max_days:
        raise Invalid(f"At most {settings.net_worth_max_days} days at once", field="from")
    current = await networth.now(request.app, session, scope, currency)
    series = await networth.history(request.app, session, scope, currency, start, stop)
    return ok(
        NetWorthOut(
            currency=currency,
            assets=current.assets,
            liabilities=current.liabilities,
            net_worth=current.net_worth,
            history=[
                NetWorthPoint(
                    currency=currency, date=day, assets=w.assets, liabilities=w.liabilities, net_worth=w.net_worth
                )
                for day, w in series
            ],
        ).model_dump(mode="json")
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[AccountOut], responses=MOVE_ERRORS)
async def create_account(
    body: AccountCreate,
    scope: CurrentScope,
    session: Session,
    request: Request,
    response: Response,
    idempotency_key: KeyHeader = None,
) -> dict[str, Any]:
    """Open an account (with `X-Space-ID`, the space's); a non-zero opening balance is booked against the
    books' edge (an `opening` entry)."""
    scope.require("write")
    user = scope.user_id

    async def run() -> dict[str, Any]:
        ledger.check_amount(body.opening_balance, body.currency, "opening_balance")
        if body.overdraft_limit is not None:
            if body.type is not AccountType.WALLET:
                raise Invalid("Only wallets have an overdraft limit", field="overdraft_limit")
            ledger.check_amount(body.overdraft_limit, body.currency, "overdraft_limit")
        if body.portfolio_id is not None and body.type is not AccountType.INVESTMENT:
            raise Invalid("Only investment accounts link a portfolio", field="portfolio_id")
        if body.loan_id is not None and body.type is not AccountType.LOAN:
            raise Invalid("Only loan accounts link a loan", field="loan_id")
        account = Account(id=uuid.uuid4(), **scope.owner_values(), **body.model_dump())
        session.add(account)
        await session.flush()
        books = ledger.owner(account)
        if body.opening_balance != 0:
            legs = domain.external_legs(
                account.id,
                await ledger.external(session, books, body.currency),
                body.currency,
                body.opening_balance,
            )
            try:
                await ledger.book(session, books, EntryKind.OPENING, legs, description="Opening balance")
            except Invalid as exc:
                raise Invalid(exc.message, field="opening_balance", code=exc.code) from exc
        await session.refresh(account)
        await emit(
            session,
            AccountOpened(
                user_id=user,
                account_id=account.id,
                name=account.name,
                account_type=account.type,
                currency=account.currency,
                opening_balance=account.opening_balance,
                space_id=account.space_id,
            ),
        )
        return account_out(account)

    return await once(session, request, response, user, idempotency_key, body, run)


@router.get("", response_model=PageEnvelope[AccountOut])
async def list_accounts(
    query: Annotated[AccountQuery, Query()], scope: CurrentScope, session: Session
) -> dict[str, Any]:
    """Oldest first; filter by type; archived ones only with `include_archived=true`."""
    scope.require("read")
    where = [scope.owns(Account), Account.type.not_in(domain.BOOKS_ONLY)]
    if query.type:
        where.append(Account.type == query.type.value)
    if not query.include_archived:
        where.append(Account.archived.is_(False))
    total = await session.scalar(select(func.count()).select_from(Account).where(*where)) or 0
    rows = await session.scalars(
        select(Account).where(*where).order_by(Account.created_at, Account.id).offset(query.offset).limit(query.limit)
    )
    return paged([account_out(a) for a in rows], query, total)


@router.get("/{account_id}", response_model=Envelope[AccountOut], responses=ACCOUNT_404)
async def get_account(account_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """The account with its balance (the running sum kept with the postings: one row read)."""
    scope.require("read")
    return ok(account_out(await ledger.account_of(session, scope, account_id)))


@router.patch("/{account_id}", response_model=Envelope[AccountOut], responses=ACCOUNT_404)
async def update_account(
    account_id: uuid.UUID, body: AccountUpdate, scope: CurrentScope, session: Session
) -> dict[str, Any]:
    scope.require("write")
    account = await ledger.account_of(session, scope, account_id, lock=True)
    changes = body.changes()
    if changes.get("overdraft_limit") is not None:
        if account.type != AccountType.WALLET.value:
            raise Invalid("Only wallets have an overdraft limit", field="overdraft_limit")
        ledger.check_amount(changes["overdraft_limit"], account.currency, "overdraft_limit")
    if changes.get("portfolio_id") is not None and account.type != AccountType.INVESTMENT.value:
        raise Invalid("Only investment accounts link a portfolio", field="portfolio_id")
    if changes.get("loan_id") is not None and account.type != AccountType.LOAN.value:
        raise Invalid("Only loan accounts link a loan", field="loan_id")
    for key, value in changes.items():
        setattr(account, key, value)
    if session.is_modified(account):
        account.updated_at = datetime.now(UTC)
        await session.flush()
    return ok(account_out(account))


@router.delete("/{account_id}", response_model=Envelope[AccountOut], responses=ACCOUNT_404)
async def delete_account(account_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """An account with postings is archived (its history stays; `archived: true` in the answer); one without
    is deleted (a later GET is a 404). The answer is its last state."""
    scope.require("write")
    account = await ledger.account_of(session, scope, account_id, lock=True)
    if await session.scalar(select(exists().where(Posting.account_id == account.id))):
        if not account.archived:
            account.archived = True
            account.updated_at = datetime.now(UTC)
            await session.flush()
            await emit(
                session,
                AccountArchived(
                    user_id=scope.user_id,
                    account_id=account.id,
                    balance=account.balance,
                    currency=account.currency,
                    space_id=account.space_id,
                ),
            )
        return ok(account_out(account))
    shown = account_out(account)
    await session.delete(account)
    return ok(shown)


@router.get("/{account_id}/postings", response_model=PageEnvelope[PostingOut], responses=ACCOUNT_404)
async def list_postings(
    account_id: uuid.UUID, page: Annotated[PageParams, Query()], scope: CurrentScope, session: Session
) -> dict[str, Any]:
    """The account's postings, newest first, each with the balance it left (the total is kept on the account)."""
    scope.require("read")
    account = await ledger.account_of(session, scope, account_id)
    where = (Posting.account_id == account.id, Posting.user_id == ledger.owner(account))
    total = account.postings_count
    rows = await session.execute(
        select(Posting, JournalEntry.kind, JournalEntry.description)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(*where)
        .order_by(Posting.created_at.desc(), Posting.seq.desc())
        .offset(page.offset)
        .limit(page.limit)
    )
    items = [
        PostingOut(
            seq=p.seq,
            entry_id=p.entry_id,
            kind=kind,
            description=description,
            amount=p.amount,
            currency=p.currency,
            balance_after=p.balance_after,
            created_at=p.created_at,
        ).model_dump(mode="json")
        for p, kind, description in rows
    ]
    return paged(items, page, total)


class StatedBalance(BaseModel):
    balance: Decimal | None = Field(
        default=None, max_digits=19, decimal_places=4, description="The real balance to compare with (required)"
    )


@router.get("/{account_id}/reconciliation", response_model=Envelope[Reconciliation], responses=ACCOUNT_404)
async def reconciliation(
    account_id: uuid.UUID, query: Annotated[StatedBalance, Query()], scope: CurrentScope, session: Session
) -> dict[str, Any]:
    """The difference between a stated real balance and the books; nothing is booked."""
    scope.require("read")
    account = await ledger.account_of(session, scope, account_id)  # ownership first: a stranger gets 404, not 422
    if query.balance is None:
        raise Invalid("State the real balance", field="balance")
    ledger.check_amount(query.balance, account.currency, "balance")
    return ok(_reconciliation(account, query.balance, account.balance))


def _reconciliation(
    account: Account, stated: Decimal, book: Decimal, entry_id: uuid.UUID | None = None
) -> dict[str, Any]:
    return Reconciliation(
        account_id=account.id,
        currency=account.currency,
        book_balance=book,
        stated_balance=stated,
        difference=stated - book,
        entry_id=entry_id,
    ).model_dump(mode="json")


@router.post(
    "/{account_id}/reconciliation",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[Reconciliation],
    responses=MOVE_ERRORS,
)
async def reconcile(
    account_id: uuid.UUID,
    body: ReconcileCreate,
    scope: CurrentScope,
    session: Session,
    request: Request,
    response: Response,
    idempotency_key: KeyHeader = None,
) -> dict[str, Any]:
    """Book the difference to a stated real balance (statement, valuation of a house or car) as an adjustment;
    a zero difference books nothing (`entry_id` null)."""
    scope.require("write")
    user = scope.user_id

    async def run() -> dict[str, Any]:
        account = await ledger.account_of(session, scope, account_id)
        ledger.movable(account, "balance")
        ledger.check_amount(body.balance, account.currency, "balance")
        books = ledger.owner(account)
        edge = await ledger.external(session, books, account.currency)
        book = (await ledger.lock(session, books, [account.id, edge]))[account.id].balance
        difference = body.balance - book
        if difference == 0:
            return _reconciliation(account, body.balance, book)
        legs = domain.external_legs(account.id, edge, account.currency, difference)
        booked = await ledger.book(
            session, books, EntryKind.ADJUSTMENT, legs, description=body.note or "Reconciliation"
        )
        assert booked is not None
        entry, postings = booked
        mine = next(p for p in postings if p.account_id == account.id)
        await emit(
            session,
            BalanceAdjusted(
                user_id=user,
                entry_id=entry.id,
                account_id=account.id,
                difference=mine.amount,
                balance=mine.balance_after,
                currency=account.currency,
                space_id=account.space_id,
            ),
        )
        return _reconciliation(account, body.balance, mine.balance_after - mine.amount, entry.id)

    return await once(session, request, response, user, idempotency_key, body, run)
