"""Events of the auth service.

It publishes `user.created`, `user.email_verified`, `user.deleted`, `auth.email_verification_requested`
and `auth.password_reset_requested` (through the outbox, in the transaction of the change: see
`accounts.py`). It consumes `report.export_requested` into the person's audit log; `user.deleted`
it does not consume: as its producer it already deleted its rows (the audit log with them).
"""

from sqlalchemy.ext.asyncio import AsyncSession

from pfms_auth import audit
from pfms_auth.audit import Action
from pfms_contracts.privacy import DataExportRequested
from pfms_platform.events.consumer import Handler


async def on_export_requested(session: AsyncSession, data: DataExportRequested) -> None:
    """Idempotent through the consumer's inbox; nothing is recorded once the account is gone."""
    await audit.record_if_user(session, data.user_id, Action.DATA_EXPORT_REQUESTED, report_id=str(data.report_id))


HANDLERS: dict[str, Handler] = {DataExportRequested.type: on_export_requested}
