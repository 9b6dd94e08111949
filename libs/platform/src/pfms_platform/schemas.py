"""Bases and field types the request and response models of every service share.

Bodies refuse unknown fields (422 naming the field), so a typo never silently does nothing; a
partial update applies only the fields sent (`changes()`), and `refuse_null` guards the fields that
may change but not be cleared. Money goes out with exactly its currency's minor unit (`Priced`).
"""

import json
from datetime import time
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, WithJsonSchema, model_validator

from pfms_finance.currency import normalise_currency, quantize

MAX_JSON_BYTES = 4096

Currency = Annotated[str, AfterValidator(normalise_currency)]

TimeOfDay = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$",
            "description": "A time of day, HH:MM[:SS], with an offset only when it has one",
        }
    ),
]
"""A `time` as the JSON actually carries it: pydantic documents `format: time`, which (RFC 3339) demands an
offset that a local time such as quiet hours never has — fuzzing flagged every such answer as off-schema."""


def small_json(value: Any) -> Any:
    """Free-form JSON a client attaches (metadata, notes) stays small."""
    if len(json.dumps(value, default=str)) > MAX_JSON_BYTES:
        raise ValueError(f"at most {MAX_JSON_BYTES} bytes of JSON")
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(small_json)]
JsonList = Annotated[list[Any], AfterValidator(small_json)]


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
