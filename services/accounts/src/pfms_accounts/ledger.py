"""Reads and writes of accounts and the ledger, shared by the routes and the event handlers.

`book` is the one way money moves: it locks every account of the entry (`SELECT … FOR UPDATE` in id
order, so two bookings touching the same accounts queue instead of deadlocking), checks the legs
balance and no wallet goes below its floor, writes the entry and its postings and moves each
account's running balance, all in the caller's transaction. Two parallel transfers out of one
wallet therefore run one after the other against the balance the first one left.

Books have an owner: a person for their personal accounts, a shared space for its accounts (`owner`).
Entries, postings and counter-accounts carry the owner's id in `user_id`, so a space's books stay whole
whoever of its members moved the money, and a member's departure or deletion leaves them balanced.
"""

import uuid
from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import and_, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_accounts import domain
from pfms_accounts.domain import AccountType, EntryKind, Leg
from pfms_accounts.models import Account, JournalEntry, Posting
from pfms_finance.currency import minor_units
from pfms_platform.errors import Invalid, NotFound
from pfms_platform.spaces import Scope


def owner(account: Account) -> uuid.UUID:
    """Whose books the account is on: its space's, else its user's."""
    return account.space_id or account.user_id


async def account_of(
    session: AsyncSession, scope: Scope | uuid.UUID, account_id: uuid.UUID, *, lock: bool = False
) -> Account:
    """The scope's account (a user id: that user's personal account); any other (or a counter-account) is
    not found (404), never shown."""
    if isinstance(scope, uuid.UUID):
        scope = Scope(scope, None, "owner")
    query = select(Account).where(Account.id == account_id, scope.owns(Account), Account.type.not_in(domain.BOOKS_ONLY))
    account = await session.scalar(query.with_for_update() if lock else query)
    if account is None:
        raise NotFound("Account not found")
    return account


def movable(account: Account, field: str) -> None:
    if account.archived:
        raise Invalid("The account is archived", field=field, code="ACCOUNT_ARCHIVED")


def check_amount(amount: Decimal, currency: str, field: str = "amount") -> None:
    """An amount has no more decimals than its currency's minor unit."""
    if amount != amount.quantize(Decimal(1).scaleb(-minor_units(currency))):
        raise Invalid(f"{currency} amounts have at most {minor_units(currency)} decimal places", field=field)


async def external(
    session: AsyncSession, user_id: uuid.UUID, currency: str, kind: AccountType = AccountType.EXTERNAL
) -> uuid.UUID:
    """The books owner's counter-account of `currency`, created the first time money crosses the books' edge
    (or, `kind=CLEARING`, their account of payments in flight, created with the first payment).

    Looked up first: an insert that meets the existing row would wait for whoever is moving its balance."""
    mine = (Account.user_id == user_id, Account.currency == currency, Account.type == kind.value)
    query = select(Account.id).where(*mine)
    if (existing := await session.scalar(query)) is not None:
        return existing
    await session.execute(
        insert(Account)
        .values(
            id=uuid.uuid4(),
            user_id=user_id,
            name=f"{kind.value.capitalize()} {currency}",
            type=kind.value,
            currency=currency,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "currency"], index_where=text(f"type = '{kind.value}'"))
    )
    found = await session.scalar(query)
    assert found is not None
    return found


async def lock_all(
    session: AsyncSession, ids: Iterable[uuid.UUID | None], counters: Iterable[tuple[uuid.UUID, str, AccountType]] = ()
) -> list[Account]:
    """Lock, in one statement and in id order, every account a transaction will book on (`ids`, and the
    (owner, currency, kind) counter-accounts): taken first, before any other account lock, they make a
    transaction that books on several people's books (a payment's delivery) wait in one queue with the
    others instead of holding some rows while it waits for the rest. Missing ids are simply not returned."""
    wanted = [Account.id.in_({i for i in ids if i is not None})]
    wanted += [
        and_(Account.user_id == owner_id, Account.currency == currency, Account.type == kind.value)
        for owner_id, currency, kind in set(counters)
    ]
    rows = await session.scalars(
        select(Account)
        .where(or_(*wanted))
        .order_by(Account.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def lock(session: AsyncSession, user_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, Account]:
    """Lock accounts of one books owner (`owner`) in id order (every booking does, so none waits on another
    in a cycle)."""
    wanted = set(ids)
    on_books = or_(and_(Account.user_id == user_id, Account.space_id.is_(None)), Account.space_id == user_id)
    rows = await session.scalars(
        select(Account)
        .where(Account.id.in_(wanted), on_books)
        .order_by(Account.id)
        .with_for_update()
        .execution_options(populate_existing=True)  # the balance as the lock found it, not as first read
    )
    accounts = {a.id: a for a in rows}
    if len(accounts) != len(wanted):
        raise NotFound("Account not found")
    return accounts


async def book(
    session: AsyncSession,
    user_id: uuid.UUID,
    kind: EntryKind,
    legs: list[Leg],
    *,
    description: str | None = None,
    source_ref: str | None = None,
    rate: Decimal | None = None,
    fee: Decimal | None = None,
    enforce_floors: bool = True,
) -> tuple[JournalEntry, list[Posting]] | None:
    """Book a balanced entry; None when `source_ref` was booked already (an event about it came before).

    `enforce_floors=False` books a fact that already happened elsewhere (an expense paid from the wallet)
    even if it takes a wallet below its overdraft limit: the books must show it, not refuse it."""
    domain.check_balanced(legs)
    accounts = await lock(session, user_id, [leg.account_id for leg in legs])
    for leg in legs:
        if accounts[leg.account_id].currency != leg.currency:
            raise Invalid(f"The account is in {accounts[leg.account_id].currency}", field="currency")
    before = {a.id: a.balance for a in accounts.values()}
    floors = {a.id: domain.floor(a.type, a.overdraft_limit) for a in accounts.values()} if enforce_floors else {}
    after = domain.apply(before, legs, floors)
    entry_id = await session.scalar(
        insert(JournalEntry)
        .values(
            id=uuid.uuid4(),
            user_id=user_id,
            kind=kind.value,
            description=description,
            source_ref=source_ref,
            rate=rate,
            fee=fee,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "source_ref"])
        .returning(JournalEntry.id)
    )
    if entry_id is None:
        return None
    running = dict(before)
    postings = []
    for leg in legs:
        running[leg.account_id] += leg.amount
        postings.append(
            Posting(
                entry_id=entry_id,
                account_id=leg.account_id,
                user_id=user_id,
                currency=leg.currency,
                amount=leg.amount,
                balance_after=running[leg.account_id],
            )
        )
    session.add_all(postings)
    for account_id, balance in after.items():
        accounts[account_id].balance = balance
    for leg in legs:
        accounts[leg.account_id].postings_count += 1
    await session.flush()
    entry = await session.get(JournalEntry, entry_id)
    assert entry is not None
    return entry, postings
