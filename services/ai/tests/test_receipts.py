"""Receipts: parsing rules on OCR-like text, and POST /api/v1/ai/receipts on images and PDFs the test
renders from text with Pillow (OCR by the real Tesseract)."""

import io
import uuid
from datetime import date
from decimal import Decimal

import pytest
from PIL import Image, ImageDraw, ImageFont

from pfms_ai import receipts

LINES = [
    "GREENLEAF GROCERY",
    "42 Market Street",
    "Date: 14/03/2025",
    "Organic Milk 2L     3.49",
    "Sourdough Bread     4.25",
    "Bananas 1kg         1.99",
    "SUBTOTAL            9.73",
    "TAX                 0.78",
    "TOTAL EUR          10.51",
    "CARD ****1234",
]


def render(lines: list[str], fmt: str) -> bytes:
    font = ImageFont.load_default(size=32)
    image = Image.new("L", (900, 60 + 52 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((40, 30 + 52 * i), line, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def test_parsing_rules() -> None:
    text = "\n".join(LINES)
    receipt = receipts.parse(text)
    assert receipt.merchant == "GREENLEAF GROCERY"
    assert receipt.day == date(2025, 3, 14)
    assert (receipt.total, receipt.currency) == (Decimal("10.51"), "EUR")
    assert receipt.items == [
        ("Organic Milk 2L", Decimal("3.49")),
        ("Sourdough Bread", Decimal("4.25")),
        ("Bananas 1kg", Decimal("1.99")),
    ]
    assert receipts.find_date("03/14/2025") == date(2025, 3, 14)
    assert receipts.find_date("Mar 5, 2024 12:01") == date(2024, 3, 5)
    assert receipts.find_currency("Total $ 12.00") == "USD"
    assert receipts.parse("Coffee 3.00\nMuffin 2.50").total == Decimal("5.50")  # no total line: the items' sum


@pytest.mark.integration
async def test_a_photographed_receipt_is_read(env) -> None:
    user = uuid.uuid4()
    files = {"file": ("receipt.png", render(LINES, "PNG"), "image/png")}
    response = await env.client.post("/api/v1/ai/receipts", files=files, headers=env.auth(user))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["merchant"] == "GREENLEAF GROCERY"
    assert data["date"] == "2025-03-14"
    assert (data["total"], data["currency"]) == ("10.51", "EUR")
    assert [i["amount"] for i in data["line_items"]] == ["3.49", "4.25", "1.99"]
    assert data["suggested_category"] == "Groceries"


@pytest.mark.integration
async def test_scanned_pdf_and_bad_uploads(make_env) -> None:
    env = await make_env(receipt_max_bytes=200_000)
    user = uuid.uuid4()
    lines = ["SHELL STATION 5521", "2025-01-09", "Unleaded 32.1L    52.40", "TOTAL USD    52.40"]
    image = Image.open(io.BytesIO(render(lines, "PNG"))).convert("RGB")
    pdf = io.BytesIO()
    image.save(pdf, format="PDF")
    files = {"file": ("scan.pdf", pdf.getvalue(), "application/pdf")}
    response = await env.client.post("/api/v1/ai/receipts", files=files, headers=env.auth(user))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["merchant"], data["date"], data["total"], data["currency"]) == (
        "SHELL STATION 5521",
        "2025-01-09",
        "52.40",
        "USD",
    )
    assert data["suggested_category"] == "Fuel"

    def upload(content: bytes, kind: str) -> dict[str, tuple[str, bytes, str]]:
        return {"file": ("x", content, kind)}

    text = await env.client.post("/api/v1/ai/receipts", files=upload(b"hello", "text/plain"), headers=env.auth(user))
    assert text.status_code == 415 and text.json()["error"]["details"][0]["field"] == "file"
    broken = await env.client.post(
        "/api/v1/ai/receipts", files=upload(b"\x89PNG..", "image/png"), headers=env.auth(user)
    )
    assert broken.status_code == 422 and broken.json()["error"]["details"][0]["field"] == "file"
    big = await env.client.post(
        "/api/v1/ai/receipts", files=upload(b"\0" * 200_001, "image/png"), headers=env.auth(user)
    )
    assert big.status_code == 413
    missing = await env.client.post("/api/v1/ai/receipts", headers=env.auth(user))
    assert missing.status_code == 422 and missing.json()["error"]["details"][0]["field"] == "file"
    assert (await env.client.post("/api/v1/ai/receipts", files=upload(b"x", "image/png"))).status_code == 401
