"""POST /api/v1/ai/receipts: read a receipt photo or PDF and suggest the expense it records."""

import asyncio
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile

from pfms_ai import receipts
from pfms_ai.categorize import Categoriser
from pfms_ai.schemas import ReceiptResult
from pfms_platform.envelope import Envelope, ok
from pfms_platform.errors import AppError, Invalid
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/ai", tags=["ai"])


class TooLarge(AppError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"


class Unsupported(AppError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


@router.post("/receipts", response_model=Envelope[ReceiptResult], responses={413: {}, 415: {}})
async def read_receipt(
    file: Annotated[UploadFile, File(description="A photo (PNG, JPEG, …) or a PDF of the receipt")],
    user: CurrentUser,
    request: Request,
) -> dict[str, Any]:
    settings = request.app.state.settings
    data = await file.read(settings.receipt_max_bytes + 1)
    if len(data) > settings.receipt_max_bytes:
        raise TooLarge(f"A receipt may be at most {settings.receipt_max_bytes} bytes", field="file")
    if not data:
        raise Invalid("The file is empty", field="file")
    kind = file.content_type or ""
    is_pdf = data.startswith(b"%PDF") or kind == "application/pdf"
    if not is_pdf and not kind.startswith("image/"):
        raise Unsupported("Send an image or a PDF", field="file")
    try:
        read = receipts.pdf_text if is_pdf else receipts.image_text
        text = await asyncio.to_thread(read, data, settings.tesseract_cmd)
    except receipts.UnreadableFile as exc:
        raise Invalid(str(exc), field="file") from exc
    receipt = receipts.parse(text)
    suggested: str | None = None
    confidence: Decimal | None = None
    what = " ".join(filter(None, [receipt.merchant, *(name for name, _ in receipt.items[:3])]))
    if what:
        categoriser: Categoriser = request.app.state.categoriser
        guess = await categoriser.categorise(user, receipt.merchant or what, receipt.total)
        confidence = Decimal(repr(guess.confidence)).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)
        if confidence >= settings.categorize_min_confidence:
            suggested = guess.category_name
    result = ReceiptResult(
        merchant=receipt.merchant,
        date=receipt.day,
        total=receipt.total,
        currency=receipt.currency,
        line_items=[{"description": name, "amount": amount} for name, amount in receipt.items],
        suggested_category=suggested,
        category_confidence=confidence,
        text=text,
    )
    return ok(result.model_dump(mode="json"))
