"""HTTP routes of the ai service: every route reads and writes the caller's own documents only."""

import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from pfms_ai import cashflow, insight_store
from pfms_ai.categorize import Categoriser
from pfms_ai.schemas import CashflowForecast, CashflowRequest, CategorizeRequest, CategorizeResult, Insight
from pfms_ai.store import INSIGHTS
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import NotFound
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/ai", tags=["ai"])

PLACES = Decimal("0.0001")


def confidence(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(PLACES, ROUND_HALF_EVEN)


@router.post("/categorize", response_model=Envelope[CategorizeResult])
async def categorize(body: CategorizeRequest, user: CurrentUser, request: Request) -> dict[str, Any]:
    """The category the caller's expense most likely belongs to, with the runners-up.

    `category` is null when the confidence is below the service's threshold (`best_guess` still says
    what the model thought), so a client never files an expense on a weak guess.
    """
    categoriser: Categoriser = request.app.state.categoriser
    guess = await categoriser.categorise(user, body.description, body.amount)
    sure = confidence(guess.confidence) >= request.app.state.settings.categorize_min_confidence
    result = CategorizeResult(
        category=guess.category_name if sure else None,
        category_id=guess.category_id if sure else None,
        confidence=confidence(guess.confidence),
        best_guess=guess.category_name,
        alternatives=[{"category": name, "confidence": confidence(p)} for name, p in guess.alternatives],
        model_version=guess.model_version,
        source=guess.source,
    )
    return ok(result.model_dump(mode="json"))


@router.get("/insights", response_model=PageEnvelope[Insight])
async def list_insights(
    user: CurrentUser,
    request: Request,
    page: Annotated[PageParams, Depends()],
    unread_only: bool = False,
    insight_type: Annotated[
        Literal["spending_pattern", "savings_opportunity", "risk_alert"] | None, Query(alias="type")
    ] = None,
) -> dict[str, Any]:
    """The caller's insights, most severe first, recomputed from their expenses when those changed."""
    state = request.app.state
    await insight_store.refresh(state.store.db, state.redis, state.settings, user)
    query: dict[str, Any] = {"user_id": str(user)}
    if unread_only:
        query["is_read"] = False
    if insight_type:
        query["insight_type"] = insight_type
    collection = state.store.db[INSIGHTS]
    total = await collection.count_documents(query)
    docs = (
        await collection.find(query)
        .sort([("severity_rank", 1), ("date", -1), ("_id", 1)])
        .skip(page.offset)
        .limit(page.limit)
        .to_list(page.limit)
    )
    return paged([insight_store.to_json(d) for d in docs], page, total)


@router.post("/insights/{insight_id}/read", response_model=Envelope[Insight], responses={404: {}})
async def mark_read(insight_id: uuid.UUID, user: CurrentUser, request: Request) -> dict[str, Any]:
    """Mark one of the caller's insights read (another user's insight is not found)."""
    doc = await request.app.state.store.db[INSIGHTS].find_one_and_update(
        {"_id": str(insight_id), "user_id": str(user)},
        {"$set": {"is_read": True, "read_at": datetime.now(UTC)}},
        return_document=True,
    )
    if doc is None:
        raise NotFound("No such insight")
    return ok(insight_store.to_json(doc))


@router.post("/predict/cashflow", response_model=Envelope[CashflowForecast])
async def predict_cashflow(body: CashflowRequest, user: CurrentUser, request: Request) -> dict[str, Any]:
    """Expenses, income and net for the coming months with 80 % / 95 % prediction intervals, from the
    caller's own complete months of history (at least three)."""
    state = request.app.state
    return ok(await cashflow.predict(state.store.db, state.redis, state.settings, user, body.months, body.currency))
