"""HTTP routes of the ai service: every route reads and writes the caller's own documents only."""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from fastapi import APIRouter, Request

from pfms_ai.categorize import Categoriser
from pfms_ai.schemas import CategorizeRequest, CategorizeResult
from pfms_platform.envelope import Envelope, ok
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
