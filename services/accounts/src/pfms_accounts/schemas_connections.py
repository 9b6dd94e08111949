"""Request and response shapes of bank connections."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ConnectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Literal["plaid", "belvo"]
    public_token: str = Field(
        min_length=1, max_length=500, description="Plaid Link's public token, or the link id Belvo's widget returns"
    )


class ConnectedAccountOut(BaseModel):
    account_id: uuid.UUID
    external_account_id: str
    provider_balance: Decimal | None = Field(description="The provider's balance at the last sync (ledger sign)")
    ledger_balance: Decimal
    difference: Decimal | None = Field(
        description="Provider balance minus the ledger's: shown, never booked silently (reconcile to book it)"
    )
    balance_at: datetime | None


class ConnectionOut(BaseModel):
    id: uuid.UUID
    provider: str
    institution: str | None
    status: Literal["active", "reauth_required", "unlinked"]
    reauth_required: bool
    last_synced_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    sync_pending: bool = Field(description="A webhook asked for a sync the background job has not run yet")
    created_at: datetime
    accounts: list[ConnectedAccountOut]
