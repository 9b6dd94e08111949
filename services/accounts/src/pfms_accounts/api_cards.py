"""HTTP routes of virtual cards: issue on a wallet, list, read, freeze/unfreeze, limits, close; and the
issuer's authorisation webhook.

Card routes act on the caller's own cards only (another user's card or wallet is a 404) and show the
last four digits, never the number or CVV. The webhook is public (the issuer calls it, no bearer
token): it is authenticated by the issuer's signature instead (`issuer.py`), and a bad or missing
signature is a 401 before anything is read or written.
"""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_accounts import card_spends, ledger
from pfms_accounts.api_moves import once
from pfms_accounts.card_models import Card, CardAuthorisation
from pfms_accounts.card_schemas import AuthorisationOut, CardCreate, CardLimits, CardOut
from pfms_accounts.cards import CardStatus, Limits, last4
from pfms_accounts.domain import AccountType
from pfms_accounts.idempotency import KeyHeader
from pfms_accounts.issuer import CardIssuer
from pfms_accounts.settings import Settings
from pfms_contracts.accounts import CardClosed, CardFrozen, CardIssued, CardUnfrozen
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Invalid, NotFound
from pfms_platform.events.outbox import emit
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/accounts", tags=["virtual cards"])

CARD_404: dict[int | str, dict[str, Any]] = {404: {"description": "No such card (or wallet) of the caller's"}}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **CARD_404,
    422: {"description": "Invalid body, not a wallet, an archived wallet or a closed card"},
}


class CardQuery(PageParams):
    status: CardStatus | None = None


def issuers(request: Request) -> dict[str, CardIssuer]:
    found: dict[str, CardIssuer] = request.app.state.card_issuers
    return found


async def card_of(session: AsyncSession, user: uuid.UUID, card_id: uuid.UUID) -> Card:
    card = await session.scalar(select(Card).where(Card.id == card_id, Card.user_id == user).with_for_update())
    if card is None:
        raise NotFound("Card not found")
    return card


async def spent(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    rows = await session.execute(
        select(CardAuthorisation.card_id, func.sum(CardAuthorisation.amount))
        .where(
            CardAuthorisation.card_id.in_(ids),
            CardAuthorisation.approved.is_(True),
            CardAuthorisation.created_at >= card_spends.month_start(datetime.now(UTC)),
        )
        .group_by(CardAuthorisation.card_id)
    )
    return {card_id: Decimal(total) for card_id, total in rows}


def card_out(card: Card, spent_this_month: Decimal) -> dict[str, Any]:
    return CardOut(
        id=card.id,
        account_id=card.account_id,
        issuer=card.issuer,
        last4=card.last4,
        expiry_month=card.expiry_month,
        expiry_year=card.expiry_year,
        currency=card.currency,
        label=card.label,
        status=CardStatus(card.status).value,
        limit_per_transaction=card.limit_per_transaction,
        limit_per_month=card.limit_per_month,
        spent_this_month=spent_this_month,
        created_at=card.created_at,
    ).model_dump(mode="json")


async def shown(session: AsyncSession, card: Card) -> dict[str, Any]:
    return card_out(card, (await spent(session, [card.id])).get(card.id, Decimal(0)))


def check_limits(limits: CardCreate | CardLimits, currency: str) -> None:
    for name in ("limit_per_transaction", "limit_per_month"):
        value = getattr(limits, name)
        if value is not None:
            ledger.check_amount(value, currency, name)


def card_event(card: Card) -> dict[str, Any]:
    return {"user_id": card.user_id, "card_id": card.id, "account_id": card.account_id, "last4": card.last4}


@router.post(
    "/cards/webhooks/{issuer}",
    response_model=Envelope[AuthorisationOut],
    responses={
        401: {"description": "Missing, stale or bad signature: nothing was read or written"},
        404: {"description": "Unknown issuer or card"},
        422: {"description": "Malformed authorisation"},
    },
)
async def authorisation_webhook(issuer: str, request: Request, session: Session) -> dict[str, Any]:
    """The issuer asks whether to approve a card spend; approved spends are booked out of the wallet at once.

    Public (no bearer token): authenticated by the issuer's signature. A redelivery (same authorisation
    id) gets the same answer and books nothing."""
    adapter = issuers(request).get(issuer)
    if adapter is None:
        raise NotFound("Unknown card issuer")
    body = await request.body()
    adapter.verify(request.headers, body)
    row = await card_spends.authorise(session, adapter.name, adapter.parse(body))
    return ok(
        AuthorisationOut(
            id=row.id,
            external_id=row.external_id,
            decision="approve" if row.approved else "decline",
            reason=row.reason,
            amount=row.amount,
            currency=row.currency,
        ).model_dump(mode="json")
    )


@router.post(
    "/{account_id}/cards", status_code=status.HTTP_201_CREATED, response_model=Envelope[CardOut], responses=WRITE_ERRORS
)
async def issue_card(
    account_id: uuid.UUID,
    body: CardCreate,
    user: CurrentUser,
    session: Session,
    request: Request,
    response: Response,
    idempotency_key: KeyHeader = None,
) -> dict[str, Any]:
    """Issue a virtual card spending from one of the caller's wallets (`NOT_A_WALLET` otherwise). Takes
    `Idempotency-Key`: a retry gets the same card, not a second one."""
    settings: Settings = request.app.state.settings

    async def run() -> dict[str, Any]:
        wallet = await ledger.account_of(session, user, account_id)
        if wallet.type != AccountType.WALLET.value:
            raise Invalid("Cards spend from wallets only", field="account_id", code="NOT_A_WALLET")
        ledger.movable(wallet, "account_id")
        check_limits(body, wallet.currency)
        adapter = issuers(request)[settings.card_issuer]
        limits = Limits(body.limit_per_transaction, body.limit_per_month)
        issued = await adapter.issue(wallet.name, wallet.currency, limits)
        card = Card(
            id=uuid.uuid4(),
            user_id=user,
            account_id=wallet.id,
            issuer=adapter.name,
            token=issued.token,
            pan=issued.pan,
            cvv=issued.cvv,
            last4=last4(issued.pan),
            expiry_month=issued.expiry_month,
            expiry_year=issued.expiry_year,
            currency=wallet.currency,
            label=body.label,
            status=CardStatus.ACTIVE.value,
            limit_per_transaction=body.limit_per_transaction,
            limit_per_month=body.limit_per_month,
        )
        session.add(card)
        await session.flush()
        await session.refresh(card)
        await emit(
            session,
            CardIssued(
                **card_event(card), issuer=card.issuer, expiry_month=card.expiry_month, expiry_year=card.expiry_year
            ),
        )
        return card_out(card, Decimal(0))

    return await once(session, request, response, user, idempotency_key, body, run)


@router.get("/{account_id}/cards", response_model=PageEnvelope[CardOut], responses=CARD_404)
async def list_cards(
    account_id: uuid.UUID, query: Annotated[CardQuery, Query()], user: CurrentUser, session: Session
) -> dict[str, Any]:
    """The wallet's cards, oldest first; `status=` filters."""
    await ledger.account_of(session, user, account_id)
    where = [Card.user_id == user, Card.account_id == account_id]
    if query.status is not None:
        where.append(Card.status == query.status.value)
    total = await session.scalar(select(func.count()).select_from(Card).where(*where)) or 0
    rows = list(
        await session.scalars(
            select(Card).where(*where).order_by(Card.created_at, Card.id).offset(query.offset).limit(query.limit)
        )
    )
    sums = await spent(session, [c.id for c in rows])
    return paged([card_out(c, sums.get(c.id, Decimal(0))) for c in rows], query, total)


@router.get("/cards/{card_id}", response_model=Envelope[CardOut], responses=CARD_404)
async def get_card(card_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    card = await session.scalar(select(Card).where(Card.id == card_id, Card.user_id == user))
    if card is None:
        raise NotFound("Card not found")
    return ok(await shown(session, card))


async def _set_status(
    request: Request, session: AsyncSession, user: uuid.UUID, card_id: uuid.UUID, wanted: CardStatus
) -> dict[str, Any]:
    card = await card_of(session, user, card_id)
    if card.status == CardStatus.CLOSED.value:
        if wanted is CardStatus.CLOSED:
            return ok(await shown(session, card))
        raise Invalid("The card is closed", field="card_id", code="CARD_CLOSED")
    if card.status != wanted.value:
        adapter = issuers(request)[card.issuer]
        tell = {
            CardStatus.FROZEN: adapter.freeze,
            CardStatus.ACTIVE: adapter.unfreeze,
            CardStatus.CLOSED: adapter.close,
        }
        await tell[wanted](card.token)
        card.status = wanted.value
        event = {CardStatus.FROZEN: CardFrozen, CardStatus.ACTIVE: CardUnfrozen, CardStatus.CLOSED: CardClosed}[wanted]
        await emit(session, event(**card_event(card)))
        await session.flush()
    return ok(await shown(session, card))


@router.post("/cards/{card_id}/freeze", response_model=Envelope[CardOut], responses=WRITE_ERRORS)
async def freeze_card(card_id: uuid.UUID, user: CurrentUser, session: Session, request: Request) -> dict[str, Any]:
    """Authorisations are declined (`card_frozen`) until unfrozen; freezing a frozen card changes nothing."""
    return await _set_status(request, session, user, card_id, CardStatus.FROZEN)


@router.post("/cards/{card_id}/unfreeze", response_model=Envelope[CardOut], responses=WRITE_ERRORS)
async def unfreeze_card(card_id: uuid.UUID, user: CurrentUser, session: Session, request: Request) -> dict[str, Any]:
    return await _set_status(request, session, user, card_id, CardStatus.ACTIVE)


@router.delete("/cards/{card_id}", response_model=Envelope[CardOut], responses=CARD_404)
async def close_card(card_id: uuid.UUID, user: CurrentUser, session: Session, request: Request) -> dict[str, Any]:
    """Close the card for good (kept, `status: closed`, with its authorisations); closing again changes nothing."""
    return await _set_status(request, session, user, card_id, CardStatus.CLOSED)


@router.patch("/cards/{card_id}/limits", response_model=Envelope[CardOut], responses=WRITE_ERRORS)
async def set_limits(
    card_id: uuid.UUID, body: CardLimits, user: CurrentUser, session: Session, request: Request
) -> dict[str, Any]:
    """Per-transaction and per-month (calendar month, UTC) limits; a field left out is kept, null removes it."""
    card = await card_of(session, user, card_id)
    if card.status == CardStatus.CLOSED.value:
        raise Invalid("The card is closed", field="card_id", code="CARD_CLOSED")
    check_limits(body, card.currency)
    for name in body.model_fields_set:
        setattr(card, name, getattr(body, name))
    await issuers(request)[card.issuer].set_limits(card.token, Limits(card.limit_per_transaction, card.limit_per_month))
    await session.flush()
    return ok(await shown(session, card))
