"""Events of the income service."""

from datetime import date
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from pfms_contracts.base import EventData
from pfms_contracts.imported import ImportRef


class IncomeReceived(EventData):
    type: ClassVar[str] = "income.received"
    exchange: ClassVar[str] = "financial.events"
    summary: ClassVar[str] = "Income was recorded as received (net of tax deducted at source)."
    income_id: UUID
    source_id: UUID | None = None
    source_type: str = Field(description="salary | freelance | business | bonus | investment | other")
    amount: Decimal = Field(description="Gross amount.")
    tax_deducted: Decimal = Decimal(0)
    net_amount: Decimal
    currency: str = Field(min_length=3, max_length=3)
    received_date: date
    description: str = ""
    account_id: UUID | None = Field(default=None, description="The account (accounts service) it was paid into.")
    import_ref: ImportRef | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="The imported bank or card transaction it was recorded from or matched to (absent: none).",
    )
    space_id: UUID | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="The shared space it belongs to (any member recorded it); absent: the user's personal income.",
    )


class IncomeUpdated(IncomeReceived):
    """Carries the same facts as `income.received`, in their new state, so consumers can correct their totals."""

    type: ClassVar[str] = "income.updated"
    summary: ClassVar[str] = (
        "A recorded income changed; the payload is its new state and its previous net amount, currency and date."
    )
    previous_net_amount: Decimal
    previous_currency: str = Field(min_length=3, max_length=3)
    previous_received_date: date


class IncomeDeleted(EventData):
    type: ClassVar[str] = "income.deleted"
    exchange: ClassVar[str] = "financial.events"
    summary: ClassVar[str] = "A recorded income was deleted; the payload is its last state."
    income_id: UUID
    source_id: UUID | None = None
    source_type: str
    net_amount: Decimal
    currency: str = Field(min_length=3, max_length=3)
    received_date: date
    account_id: UUID | None = Field(default=None, description="The account it had been paid into, if any.")
    space_id: UUID | None = Field(
        default=None, exclude_if=lambda v: v is None, description="The shared space it belonged to, if any."
    )
