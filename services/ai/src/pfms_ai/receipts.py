"""Receipts: text from an image (Tesseract OCR) or a PDF (its text layer, else OCR of its images), and
the receipt read from that text (merchant, date, total, currency, line items) by rules (no I/O)."""

import calendar
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

import pytesseract
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PdfReadError

AMOUNT = re.compile(r"(?<![\d.,])(\d{1,3}(?:[,\s]\d{3})*|\d+)[.,](\d{2})(?!\d)")
SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "₹": "INR", "¥": "JPY"}
CODES = ("USD", "EUR", "GBP", "INR", "JPY", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK", "SGD", "NZD")
NOT_ITEMS = re.compile(
    r"total|subtotal|sub total|tax|vat|gst|change|cash|card|visa|mastercard|amex|balance|tip|tendered|due|paid",
    re.IGNORECASE,
)
MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}


class UnreadableFile(ValueError):
    """The upload is not an image or PDF this service can read."""


@dataclass
class Receipt:
    merchant: str | None
    day: date | None
    total: Decimal | None
    currency: str | None
    items: list[tuple[str, Decimal]] = field(default_factory=list)


def image_text(data: bytes, tesseract_cmd: str = "tesseract") -> str:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise UnreadableFile("not an image this service can read") from exc
    pytesseract.pytesseract.tesseract_cmd = tesseract_cmd
    return str(pytesseract.image_to_string(image.convert("L"), config="--psm 6"))


def pdf_text(data: bytes, tesseract_cmd: str = "tesseract") -> str:
    """The PDF's own text where it has one (generated receipts), else OCR of the images it holds (scans)."""
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = list(reader.pages)
    except (PdfReadError, ValueError, OSError) as exc:
        raise UnreadableFile("not a PDF this service can read") from exc
    text = "\n".join(page.extract_text() or "" for page in pages)
    if text.strip():
        return text
    return "\n".join(image_text(img.data, tesseract_cmd) for page in pages for img in page.images)


def _amount(match: re.Match[str]) -> Decimal:
    return Decimal(re.sub(r"[,\s]", "", match.group(1)) + "." + match.group(2))


def _amounts(line: str) -> list[Decimal]:
    out = []
    for m in AMOUNT.finditer(line):
        try:
            out.append(_amount(m))
        except InvalidOperation:
            continue
    return out


def find_date(text: str) -> date | None:
    patterns = [
        (r"\b(\d{4})-(\d{2})-(\d{2})\b", lambda m: date(int(m[1]), int(m[2]), int(m[3]))),
        (r"\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b", _day_month_year),
        (
            r"\b(" + "|".join(MONTHS) + r")[a-z]*\.? (\d{1,2}),? (\d{4})\b",
            lambda m: date(int(m[3]), MONTHS[m[1].lower()[:3]], int(m[2])),
        ),
        (
            r"\b(\d{1,2}) (" + "|".join(MONTHS) + r")[a-z]* (\d{4})\b",
            lambda m: date(int(m[3]), MONTHS[m[2].lower()[:3]], int(m[1])),
        ),
    ]
    for pattern, build in patterns:
        for m in re.finditer(pattern, text, re.IGNORECASE):
            try:
                return build(m)
            except ValueError:
                continue
    return None


def _day_month_year(m: re.Match[str]) -> date:
    """`03/14/2025` can only be month-first; `14/03/2025` only day-first; ambiguous ones read day-first."""
    a, b, year = int(m[1]), int(m[2]), int(m[3])
    if a > 12 >= b:
        return date(year, b, a)
    if b > 12 >= a:
        return date(year, a, b)
    return date(year, b, a)


def find_currency(text: str) -> str | None:
    upper = text.upper()
    for code in CODES:
        if re.search(rf"(?<![A-Z]){code}|{code}(?![A-Z])", upper):
            return code
    for symbol, code in SYMBOLS.items():
        if symbol in text:
            return code
    return None


def parse(text: str) -> Receipt:
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    merchant = next((line for line in lines if re.search(r"[A-Za-z]{3}", line) and not _amounts(line)), None)
    total: Decimal | None = None
    for line in lines:
        if re.search(r"total", line, re.IGNORECASE) and not re.search(r"sub\s*total", line, re.IGNORECASE):
            found = _amounts(line)
            if found:
                total = found[-1]
    items = []
    for line in lines:
        matches = list(AMOUNT.finditer(line))
        if not matches or NOT_ITEMS.search(line):
            continue
        last = matches[-1]
        description = line[: last.start()].strip(" .:-$€£₹*")
        if re.search(r"[A-Za-z]{2}", description) and not find_date(line):
            items.append((description, _amount(last)))
    if total is None and items:
        total = sum((amount for _, amount in items), Decimal(0))
    return Receipt(merchant, find_date(text), total, find_currency(text), items)
