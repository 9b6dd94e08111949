"""Request and response models of virtual cards and their authorisation webhooks.

A card is shown by its last four digits only: the number and CVV never leave the service. Limits are
decimal strings in the card's (its wallet's) currency; null means no limit.
"""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from pfms_accounts.schemas import Amount, Name
from pfms_platform.schemas import Body, Priced

CardLimit = Annotated[Amount | None, Field(description="Decimal string in the card's currency; null: no limit")]


class CardCreate(Body):
    label: Name | None = None
    limit_per_transaction: CardLimit = None
    limit_per_month: CardLimit = None


class CardLimits(Body):
    """Partial: a field left out keeps its limit, null removes it."""

    limit_per_transaction: CardLimit = None
    limit_per_month: CardLimit = None


class CardOut(Priced):
    money_fields: ClassVar[tuple[str, ...]] = ("limit_per_transaction", "limit_per_month", "spent_this_month")

    id: uuid.UUID
    account_id: uuid.UUID
    issuer: str
    last4: str = Field(description="The only digits of the number ever shown")
    expiry_month: int
    expiry_year: int
    label: str | None
    status: Literal["active", "frozen", "closed"]
    limit_per_transaction: Decimal | None
    limit_per_month: Decimal | None
    spent_this_month: Decimal = Field(description="Approved spends since the first of this month (UTC)")
    created_at: dt.datetime


class AuthorisationOut(Priced):
    """The answer to the issuer: approve or decline (with the reason); the same for a redelivery."""

    money_fields: ClassVar[tuple[str, ...]] = ("amount",)

    id: uuid.UUID = Field(description="The transaction id (published with account.transaction_imported)")
    external_id: str
    decision: Literal["approve", "decline"]
    reason: str | None
    amount: Decimal
