"""HTTP routes of the tax service: every route acts on the caller's own rows only."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, Invalid, NotFound
from pfms_platform.internal import InternalClient
from pfms_platform.security import CallingService, CurrentUser
from pfms_tax import calculator, regimes, store
from pfms_tax.domain import DeductionStatus
from pfms_tax.models import DeductibleCategory, DeductionSuggestion, SuggestionStatus, TaxDeduction, TaxProfile
from pfms_tax.schemas import (
    CalculationOut,
    DeductibleCategoryIn,
    DeductionIn,
    DeductionUpdate,
    Profile,
    ProfileIn,
    RegimeOut,
    RegimeSummary,
    ReportJob,
    Suggestion,
    Year,
)
from pfms_tax.schemas import DeductibleCategory as DeductibleCategoryOut
from pfms_tax.schemas import Deduction as DeductionOut

router = APIRouter(prefix="/api/v1/tax", tags=["tax"])
internal = APIRouter(prefix="/internal/v1/tax", tags=["internal"])

Page = Annotated[PageParams, Depends()]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found, or not the caller's"}}


def _market(request: Request) -> InternalClient:
    client: InternalClient = request.app.state.market
    return client


# reference data


@router.get("/regimes", response_model=Envelope[list[RegimeSummary]])
async def list_regimes(_: CurrentUser) -> dict[str, Any]:
    """The bundled tax tables: one per country and tax year."""
    rows = sorted(regimes.bundled().values(), key=lambda r: (r.country, r.tax_year))
    return ok([regimes.summary(r) for r in rows])


@router.get("/regimes/{country}/{year}", response_model=Envelope[RegimeOut], responses=NOT_FOUND)
async def get_regime(country: str, year: int, _: CurrentUser) -> dict[str, Any]:
    """Brackets by filing status and kind, standard deductions, credits, and the source of each figure."""
    regime = regimes.find(country, year)
    if regime is None:
        raise NotFound(f"No bundled tax tables for {country.upper()} {year}")
    return ok(regimes.describe(regime))


# profiles


def _profile(row: TaxProfile) -> dict[str, Any]:
    regime = regimes.find(row.country_code, row.tax_year)
    values = {**row.__dict__, "currency": regime.currency if regime else "", "regime": regime.name if regime else ""}
    return Profile.model_validate(values).model_dump(mode="json")


def _check_profile(body: ProfileIn, year: int) -> None:
    regime = regimes.find(body.country_code, year)
    if regime is None:
        countries = sorted({c for c, y in regimes.bundled() if y == year})
        raise Invalid(f"No bundled tax tables for {body.country_code} {year} (have: {countries})", field="country_code")
    if body.region and regime.regions and body.region not in regime.regions:
        raise Invalid(f"Region must be one of {list(regime.regions)} for {regime.name}", field="region")
    if body.filing_status.value not in regime.schedules:
        allowed = sorted(regime.schedules)
        raise Invalid(f"Filing status must be one of {allowed} in {body.country_code}", field="filing_status")


@router.get("/profiles", response_model=PageEnvelope[Profile])
async def list_profiles(user: CurrentUser, session: Session, page: Page) -> dict[str, Any]:
    where = TaxProfile.user_id == user
    total = int(await session.scalar(select(func.count()).select_from(TaxProfile).where(where)) or 0)
    rows = await session.scalars(
        select(TaxProfile).where(where).order_by(TaxProfile.tax_year.desc()).offset(page.offset).limit(page.limit)
    )
    return paged([_profile(r) for r in rows], page, total)


@router.get("/profiles/{year}", response_model=Envelope[Profile], responses=NOT_FOUND)
async def get_profile(year: Year, user: CurrentUser, session: Session) -> dict[str, Any]:
    row = await store.profile(session, user, year)
    if row is None:
        raise NotFound(f"No tax profile for {year}")
    return ok(_profile(row))


@router.put("/profiles/{year}", response_model=Envelope[Profile])
async def put_profile(year: Year, body: ProfileIn, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Create or replace the profile of a tax year (later years without their own profile use it too)."""
    _check_profile(body, year)
    row = await store.save_profile(session, user, year, body.model_dump(mode="json"))
    return ok(_profile(row))


@router.delete("/profiles/{year}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_profile(year: Year, user: CurrentUser, session: Session) -> Response:
    row = await store.profile(session, user, year)
    if row is None:
        raise NotFound(f"No tax profile for {year}")
    await session.delete(row)
    await store.bump(session, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# deductions


def _deduction(row: TaxDeduction) -> dict[str, Any]:
    return DeductionOut.model_validate(row).model_dump(mode="json")


async def _check_category(session: AsyncSession, user: uuid.UUID, year: int, category: str) -> None:
    """Once the year has a profile, a deduction's category must be one its regime knows."""
    row = await store.profile_for(session, user, year)
    regime = regimes.find(row.country_code, year) if row else None
    if regime is not None and category not in regime.deduction_categories:
        raise Invalid(f"Category must be one of {sorted(regime.deduction_categories)}", field="category")


@router.post("/deductions", status_code=status.HTTP_201_CREATED, response_model=Envelope[DeductionOut])
async def create_deduction(body: DeductionIn, user: CurrentUser, session: Session) -> dict[str, Any]:
    await _check_category(session, user, body.tax_year, body.category)
    row = TaxDeduction(user_id=user, **body.model_dump())
    session.add(row)
    await session.flush()
    await store.bump(session, user)
    await session.refresh(row)
    return ok(_deduction(row))


@router.get("/deductions", response_model=PageEnvelope[DeductionOut])
async def list_deductions(
    user: CurrentUser,
    session: Session,
    page: Page,
    year: Annotated[Year | None, Query()] = None,
    status_: Annotated[DeductionStatus | None, Query(alias="status")] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    where = [TaxDeduction.user_id == user]
    if year is not None:
        where.append(TaxDeduction.tax_year == year)
    if status_ is not None:
        where.append(TaxDeduction.status == status_.value)
    if category:
        where.append(TaxDeduction.category == category)
    total = int(await session.scalar(select(func.count()).select_from(TaxDeduction).where(*where)) or 0)
    rows = await session.scalars(
        select(TaxDeduction)
        .where(*where)
        .order_by(TaxDeduction.created_at.desc(), TaxDeduction.id)
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([_deduction(r) for r in rows], page, total)


@router.get("/deductions/{deduction_id}", response_model=Envelope[DeductionOut], responses=NOT_FOUND)
async def get_deduction(deduction_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    return ok(_deduction(await store.owned(session, TaxDeduction, user, deduction_id, "Deduction")))


@router.patch("/deductions/{deduction_id}", response_model=Envelope[DeductionOut], responses=NOT_FOUND)
async def update_deduction(
    deduction_id: uuid.UUID, body: DeductionUpdate, user: CurrentUser, session: Session
) -> dict[str, Any]:
    """Partial update; `status` moves a deduction between claimed, approved and rejected."""
    row = await store.owned(session, TaxDeduction, user, deduction_id, "Deduction")
    changes = body.changes()
    if "category" in changes or "tax_year" in changes:
        year, category = changes.get("tax_year", row.tax_year), changes.get("category", row.category)
        await _check_category(session, user, year, category)
    for key, value in changes.items():
        setattr(row, key, value.value if isinstance(value, DeductionStatus) else value)
    await session.flush()
    await store.bump(session, user)
    await session.refresh(row)
    return ok(_deduction(row))


@router.delete("/deductions/{deduction_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_deduction(deduction_id: uuid.UUID, user: CurrentUser, session: Session) -> Response:
    row = await store.owned(session, TaxDeduction, user, deduction_id, "Deduction")
    await session.delete(row)
    await store.bump(session, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# deductible expense categories and the suggestions they produce


@router.get("/deductible-categories", response_model=Envelope[list[DeductibleCategoryOut]])
async def list_deductible_categories(user: CurrentUser, session: Session) -> dict[str, Any]:
    rows = await session.scalars(
        select(DeductibleCategory).where(DeductibleCategory.user_id == user).order_by(DeductibleCategory.created_at)
    )
    return ok([DeductibleCategoryOut.model_validate(r).model_dump(mode="json") for r in rows])


@router.post(
    "/deductible-categories", status_code=status.HTTP_201_CREATED, response_model=Envelope[DeductibleCategoryOut]
)
async def mark_deductible(body: DeductibleCategoryIn, user: CurrentUser, session: Session) -> dict[str, Any]:
    """From now on, each new expense in this category is suggested as a deduction."""
    if (body.category_id is None) == (body.category_name is None):
        raise Invalid("Give exactly one of category_id and category_name", field="category_id")
    name = body.category_name.lower() if body.category_name else None
    if await store.deductible_category(session, user, body.category_id, name) is not None:
        raise Conflict("This category is already marked deductible")
    row = DeductibleCategory(
        user_id=user, category_id=body.category_id, category_name=name, deduction_category=body.deduction_category
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return ok(DeductibleCategoryOut.model_validate(row).model_dump(mode="json"))


@router.delete("/deductible-categories/{row_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def unmark_deductible(row_id: uuid.UUID, user: CurrentUser, session: Session) -> Response:
    await session.delete(await store.owned(session, DeductibleCategory, user, row_id, "Deductible category"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/deduction-suggestions", response_model=PageEnvelope[Suggestion])
async def list_suggestions(
    user: CurrentUser,
    session: Session,
    page: Page,
    status_: Annotated[SuggestionStatus, Query(alias="status")] = SuggestionStatus.PENDING,
) -> dict[str, Any]:
    where = (DeductionSuggestion.user_id == user) & (DeductionSuggestion.status == status_.value)
    total = int(await session.scalar(select(func.count()).select_from(DeductionSuggestion).where(where)) or 0)
    rows = await session.scalars(
        select(DeductionSuggestion)
        .where(where)
        .order_by(DeductionSuggestion.expense_date.desc(), DeductionSuggestion.id)
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([Suggestion.model_validate(r).model_dump(mode="json") for r in rows], page, total)


async def _pending(session: AsyncSession, user: uuid.UUID, row_id: uuid.UUID) -> DeductionSuggestion:
    row = await store.owned(session, DeductionSuggestion, user, row_id, "Suggestion")
    if row.status != SuggestionStatus.PENDING.value:
        raise Conflict(f"The suggestion is already {row.status}")
    return row


@router.post(
    "/deduction-suggestions/{row_id}/accept",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[DeductionOut],
    responses=NOT_FOUND,
)
async def accept_suggestion(row_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Claim the expense as a deduction of the tax year it falls in; the expense is the document reference."""
    row = await _pending(session, user, row_id)
    profile = await store.profile_for(session, user, row.expense_date.year)
    year = regimes.tax_year_of(profile.country_code, row.expense_date) if profile else row.expense_date.year
    deduction = TaxDeduction(
        user_id=user,
        tax_year=year,
        category=row.deduction_category,
        amount=row.amount,
        currency=row.currency,
        description=row.description or None,
        deduction_date=row.expense_date,
        document_reference=f"expense:{row.expense_id}",
        status=DeductionStatus.CLAIMED.value,
        expense_id=row.expense_id,
    )
    session.add(deduction)
    await session.flush()
    row.status, row.deduction_id = SuggestionStatus.ACCEPTED.value, deduction.id
    await store.bump(session, user)
    await session.refresh(deduction)
    return ok(_deduction(deduction))


@router.post("/deduction-suggestions/{row_id}/dismiss", response_model=Envelope[Suggestion], responses=NOT_FOUND)
async def dismiss_suggestion(row_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    row = await _pending(session, user, row_id)
    row.status = SuggestionStatus.DISMISSED.value
    await session.flush()
    return ok(Suggestion.model_validate(row).model_dump(mode="json"))


# the calculation and its report


@router.get("/calculate", response_model=Envelope[CalculationOut], responses=NOT_FOUND)
async def calculate(
    year: Annotated[Year, Query()], user: CurrentUser, session: Session, request: Request
) -> dict[str, Any]:
    """Tax for the year from the user's income, gains, deductions and profile; every number explained."""
    return ok(await calculator.calculation(session, _market(request), user, year))


@router.get(
    "/reports/generate-full",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[ReportJob],
    responses={503: {"description": "The report service did not answer"}},
)
async def generate_full_report(
    year: Annotated[Year, Query()],
    user: CurrentUser,
    request: Request,
    format_: Annotated[Literal["pdf", "xlsx", "csv"], Query(alias="format")] = "pdf",
) -> dict[str, Any]:
    """Ask the report service for the year's tax report; answers with its job (202), to poll there."""
    if year > datetime.now(UTC).year:  # the report service refuses it: a 422 here, not its refusal as a 503
        raise Invalid("year must not be in the future", field="year")
    reports: InternalClient = request.app.state.reports
    body = {"user_id": str(user), "type": "tax", "format": format_, "year": year}
    return ok(await reports.post("/internal/v1/reports", body))


@internal.get("/calculation", response_model=Envelope[CalculationOut], responses=NOT_FOUND)
async def internal_calculation(
    user_id: Annotated[uuid.UUID, Query()],
    year: Annotated[Year, Query()],
    _: CallingService,
    session: Session,
    request: Request,
) -> dict[str, Any]:
    """The same calculation for another service (the report service's tax report)."""
    return ok(await calculator.calculation(session, _market(request), user_id, year))
