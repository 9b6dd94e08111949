"""HTTP routes of the income service: every route acts on the rows of the caller's scope only (others' are 404).

Sources and transactions belong to the caller's personal space, or to the shared space `X-Space-ID` names
(any member's rows; viewers read only). The cash-flow projection is personal.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.income import IncomeReceived, IncomeUpdated
from pfms_income import cashflow, domain, listing, payloads, store
from pfms_income.cache import ProjectionCache
from pfms_income.domain import IncomeType, SourceFrequency
from pfms_income.models import IncomeSource, IncomeTransaction
from pfms_income.schemas import (
    CashflowProjection,
    ProjectionParams,
    Source,
    SourceCreate,
    SourceFilters,
    SourceUpdate,
    Summary,
    SummaryParams,
    SummaryRow,
    Totals,
    Transaction,
    TransactionCreate,
    TransactionFilters,
    TransactionUpdate,
)
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, ok, paged
from pfms_platform.errors import Invalid
from pfms_platform.events.outbox import emit
from pfms_platform.metrics import INCOME_RECORDED
from pfms_platform.reads import Reads, json_response
from pfms_platform.security import CurrentUser
from pfms_platform.spaces import CurrentScope, Scope

router = APIRouter(prefix="/api/v1/income", tags=["income"])

SOURCE_404: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such income source in the caller's scope (or no such space of theirs)"}
}
TRANSACTION_404: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such income transaction in the caller's scope (or no such space of theirs)"}
}
WRITE: dict[int | str, dict[str, Any]] = {403: {"description": "A viewer of the space may not change it"}}
SPACE_404: dict[int | str, dict[str, Any]] = {404: {"description": "X-Space-ID names no space of the caller's"}}


async def _inputs_changed(session: AsyncSession, scope: Scope) -> None:
    """Retire the caller's cached projection; a space's sources and income never feed a personal projection."""
    if scope.personal:
        await store.bump(session, scope.user_id)


def _today() -> Any:
    return datetime.now(UTC).date()


def _source(row: IncomeSource) -> dict[str, Any]:
    frequency = SourceFrequency(row.frequency) if row.frequency else None
    return Source(
        id=row.id,
        name=row.name,
        type=IncomeType(row.type),
        amount=row.amount,
        currency=row.currency,
        frequency=frequency,
        is_recurring=frequency is not None and frequency.recurrence is not None,
        start_date=row.start_date,
        end_date=row.end_date,
        next_expected_date=domain.next_expected(frequency, row.start_date, row.end_date, row.is_active, _today()),
        is_active=row.is_active,
        description=row.description,
        space_id=row.space_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    ).model_dump(mode="json")


def _transaction(row: IncomeTransaction) -> dict[str, Any]:
    return Transaction(
        id=row.id,
        source_id=row.income_source_id,
        type=IncomeType(row.type),
        amount=row.amount,
        tax_deducted=row.tax_deducted,
        net_amount=row.net_amount,
        currency=row.currency,
        date=row.date,
        description=row.description,
        category=row.category,
        payment_method=row.payment_method,
        account_id=row.account_id,
        metadata=row.meta,
        space_id=row.space_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    ).model_dump(mode="json")


# --- sources ---------------------------------------------------------------------------------------


def _check_source(row: IncomeSource) -> None:
    frequency = SourceFrequency(row.frequency) if row.frequency else None
    domain.check_schedule(frequency, row.amount, row.start_date, row.end_date)
    domain.check_minor_units(row.currency, amount=row.amount)


@router.post(
    "/sources", status_code=status.HTTP_201_CREATED, response_model=Envelope[Source], responses=WRITE | SPACE_404
)
async def create_source(body: SourceCreate, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """A personal source with a frequency, amount and start date feeds expected income into the projection."""
    scope.require("write")
    row = IncomeSource(id=uuid.uuid4(), **scope.owner_values(), **body.model_dump())
    _check_source(row)
    session.add(row)
    await session.flush()
    await _inputs_changed(session, scope)
    return ok(_source(row))


@router.get("/sources", response_model=PageEnvelope[Source], responses=SPACE_404)
async def list_sources(
    filters: Annotated[SourceFilters, Query()], scope: CurrentScope, session: Session
) -> dict[str, Any]:
    """Newest first; filter by type, currency, active and recurring."""
    rows, total = await store.page(session, store.source_query(scope, filters), filters.offset, filters.limit)
    return paged([_source(r) for r in rows], filters, total)


@router.get("/sources/{source_id}", response_model=Envelope[Source], responses=SOURCE_404)
async def get_source(source_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    return ok(_source(await store.owned(session, IncomeSource, source_id, scope, lock=False)))


@router.patch("/sources/{source_id}", response_model=Envelope[Source], responses=SOURCE_404 | WRITE)
async def update_source(source_id: uuid.UUID, body: SourceUpdate, scope: CurrentScope, session: Session) -> Any:
    """Partial update; the merged source must still be a complete schedule."""
    scope.require("write")
    row = await store.owned(session, IncomeSource, source_id, scope)
    changes = body.changes()
    for key, value in changes.items():
        setattr(row, key, value)
    _check_source(row)
    if session.is_modified(row):
        await session.flush()
        await _inputs_changed(session, scope)
    return ok(_source(row))


@router.delete("/sources/{source_id}", response_model=Envelope[Source], responses=SOURCE_404 | WRITE)
async def delete_source(source_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """Its transactions stay, unlinked (they keep their type); expected income from it stops."""
    scope.require("write")
    row = await store.owned(session, IncomeSource, source_id, scope)
    shown = _source(row)
    await session.delete(row)
    await session.flush()
    await _inputs_changed(session, scope)
    return ok(shown)


# --- transactions ----------------------------------------------------------------------------------


def _check_transaction(row: IncomeTransaction, stated_net: Any) -> None:
    domain.check_minor_units(row.currency, amount=row.amount, tax_deducted=row.tax_deducted, net_amount=stated_net)
    row.net_amount = domain.net_amount(row.amount, row.tax_deducted, stated_net)
    domain.check_received_date(row.date, _today())


@router.post(
    "/transactions",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[Transaction],
    responses=SOURCE_404 | WRITE,
)
async def create_transaction(body: TransactionCreate, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """Record income received (a source, if named, must be of the same scope); publishes `income.received`."""
    scope.require("write")
    source = None
    if body.source_id is not None:
        source = await store.owned(session, IncomeSource, body.source_id, scope, lock=False, field="source_id")
    currency = body.currency or (source.currency if source else None)
    if currency is None:
        raise Invalid("currency is required when no source_id is given", field="currency")
    row = IncomeTransaction(
        id=uuid.uuid4(),
        **scope.owner_values(),
        income_source_id=body.source_id,
        type=(body.type or (IncomeType(source.type) if source else IncomeType.OTHER)).value,
        amount=body.amount,
        tax_deducted=body.tax_deducted,
        currency=currency,
        date=body.date,
        description=body.description,
        category=body.category,
        payment_method=body.payment_method,
        account_id=body.account_id,
        meta=body.metadata,
    )
    _check_transaction(row, body.net_amount)
    session.add(row)
    await session.flush()
    await emit(session, IncomeReceived(**payloads.facts(row)))
    INCOME_RECORDED.labels("income").inc()
    await _inputs_changed(session, scope)
    return ok(_transaction(row))


@router.get("/transactions", response_model=PageEnvelope[Transaction], responses=SPACE_404)
async def list_transactions(
    filters: Annotated[TransactionFilters, Query()], scope: CurrentScope, reads: Reads
) -> Response:
    """Filter by dates, source, type, currency, category, gross amount range and description words; sort.
    One statement on the read pool (listing.py)."""
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise Invalid("date_to must be on or after date_from", field="date_to")
    if filters.min_amount is not None and filters.max_amount is not None and filters.min_amount > filters.max_amount:
        raise Invalid("max_amount must be at least min_amount", field="max_amount")
    sql, args = listing.statement(scope, filters)
    total, rows = await reads.page(sql, *args)
    return json_response(paged([listing.transaction(r) for r in rows], filters, total))


@router.get("/transactions/summary", response_model=Envelope[Summary], responses=SPACE_404)
async def summarise(params: Annotated[SummaryParams, Query()], scope: CurrentScope, session: Session) -> Any:
    """Gross, tax and net per currency, and per month, source, type or category; currencies never mixed."""
    if params.date_from and params.date_to and params.date_from > params.date_to:
        raise Invalid("date_to must be on or after date_from", field="date_to")
    totals, groups = await store.summary(session, scope, params)
    return ok(
        Summary(
            date_from=params.date_from,
            date_to=params.date_to,
            group_by=params.group_by,
            totals=[Totals(**t) for t in totals],
            groups=[SummaryRow(**g) for g in groups],
        ).model_dump(mode="json")
    )


@router.get("/transactions/{transaction_id}", response_model=Envelope[Transaction], responses=TRANSACTION_404)
async def get_transaction(transaction_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    return ok(_transaction(await store.owned(session, IncomeTransaction, transaction_id, scope, lock=False)))


@router.patch("/transactions/{transaction_id}", response_model=Envelope[Transaction], responses=TRANSACTION_404 | WRITE)
async def update_transaction(
    transaction_id: uuid.UUID, body: TransactionUpdate, scope: CurrentScope, session: Session
) -> dict[str, Any]:
    """Partial update; net amount recomputed (a stated one must match); publishes `income.updated`."""
    scope.require("write")
    row = await store.owned(session, IncomeTransaction, transaction_id, scope)
    previous = (row.net_amount, row.currency, row.date)
    changes = body.changes()
    stated_net = changes.pop("net_amount", None)
    if changes.get("source_id") is not None:
        await store.owned(session, IncomeSource, changes["source_id"], scope, lock=False, field="source_id")
    fields = {"source_id": "income_source_id", "metadata": "meta"}
    for key, value in changes.items():
        setattr(row, fields.get(key, key), value)
    _check_transaction(row, stated_net)
    if session.is_modified(row):
        await session.flush()
        net, currency, received = previous
        await emit(
            session,
            IncomeUpdated(
                **payloads.facts(row),
                previous_net_amount=net,
                previous_currency=currency,
                previous_received_date=received,
            ),
        )
        await _inputs_changed(session, scope)
    return ok(_transaction(row))


@router.delete(
    "/transactions/{transaction_id}", response_model=Envelope[Transaction], responses=TRANSACTION_404 | WRITE
)
async def delete_transaction(transaction_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """Publishes `income.deleted` with the last state."""
    scope.require("write")
    row = await store.owned(session, IncomeTransaction, transaction_id, scope)
    shown = _transaction(row)
    gone = payloads.deleted(row)
    await session.delete(row)
    await session.flush()
    await emit(session, gone)
    await _inputs_changed(session, scope)
    return ok(shown)


# --- projection ------------------------------------------------------------------------------------


@router.get("/cashflow/projection", response_model=Envelope[CashflowProjection])
async def projection(
    params: Annotated[ProjectionParams, Query()],
    user: CurrentUser,
    session: Session,
    request: Request,
    background: BackgroundTasks,
) -> Response:
    """Daily balance for the next `days` days (seed §7.1), cached 5 minutes until an input changes.

    Starts from `starting_balance` (no accounts service yet), spends the average daily burn of the
    last 30 days, pays recurring expenses on their due dates, receives expected income from
    recurring sources, and lists the days the balance falls below `threshold`. Flows in other
    currencies are totalled apart in `other_currencies`, never converted. A computed projection
    becomes the stored latest one right after the answer is sent.
    """
    settings = request.app.state.settings
    cache = ProjectionCache(request.app.state.redis, settings.projection_cache_seconds)
    body, computed = await cashflow.projection(session, cache, settings, user, params)
    if computed is not None:
        writer = request.app.state.latest_projections
        background.add_task(writer.submit, request.app.state.db, user, computed, body["calculated_at"])
    # Already in its public form: answered as is, without a second validation of 365 days.
    return Response(cashflow.to_json(ok(body)), media_type="application/json")
