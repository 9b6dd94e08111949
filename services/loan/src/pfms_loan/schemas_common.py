"""Field types and bases every request and response model of the loan service shares.

Money travels as decimal strings (numbers are accepted on input) with an ISO 4217 currency;
responses show exactly the currency's minor unit. Unknown fields are refused (422 naming the field).
"""

from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

from pfms_platform.schemas import Body, Currency, JsonList, Metadata, Priced, refuse_null

__all__ = [
    "Amount",
    "Body",
    "Currency",
    "JsonList",
    "Label",
    "Metadata",
    "Name",
    "Percent",
    "Priced",
    "Text",
    "refuse_null",
]
Amount = Annotated[Decimal, Field(gt=0, max_digits=19, decimal_places=4, description='Decimal string, e.g. "1500.00"')]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4, description="Percent, e.g. 12.5")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
