"""What an expense or income recorded from an imported transaction says about where it came from."""

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field


class ImportRef(BaseModel):
    """The `account.transaction_imported` an expense or income was recorded from (or matched to)."""

    source: Literal["card", "plaid", "belvo"]
    transaction_id: UUID = Field(description="The accounts service's id of the imported transaction.")
    external_id: str = Field(min_length=1, max_length=200)
    posted: bool = Field(
        default=False,
        description="Already on the account's ledger (a card spend): the accounts service must not book it again.",
    )
