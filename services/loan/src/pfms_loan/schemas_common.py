"""Field types and bases every request and response model of the loan service shares.

Money travels as decimal strings (numbers are accepted on input) with an ISO 4217 currency;
responses show exactly the currency's minor unit. Unknown fields are refused (422 naming the field).
"""

import json
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from pfms_finance.currency import normalise_currency, quantize

MAX_JSON_BYTES = 4096

Currency = Annotated[str, AfterValidator(normalise_currency)]
Amount = Annotated[Decimal, Field(gt=0, max_digits=19, decimal_places=4, description='Decimal string, e.g. "1500.00"')]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4, description="Percent, e.g. 12.5")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]


def _small_json(value: Any) -> Any:
    if len(json.dumps(value, default=str)) > MAX_JSON_BYTES:
        raise ValueError(f"at most {MAX_JSON_BYTES} bytes of JSON")
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_small_json)]
JsonList = Annotated[list[Any], AfterValidator(_small_json)]


def refuse_null(value: Any) -> Any:
    """For fields that may change but not be cleared."""
    if value is None:
        raise ValueError("may not be null")
    return value


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent (for partial updates)."""
        return self.model_dump(exclude_unset=True)


class Priced(BaseModel):
    """A response whose money fields are shown to the minor unit of its `currency`."""

    money_fields: ClassVar[tuple[str, ...]] = ()
    currency: str

    @model_validator(mode="after")
    def _to_minor_unit(self) -> "Priced":
        for name in self.money_fields:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, quantize(value, self.currency))
        return self
