"""Events the loan service consumes: a deleted user's rows are purged."""

from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.identity import UserDeleted
from pfms_loan import store
from pfms_platform.events.consumer import Handler
from pfms_platform.logging import get_logger

log = get_logger(__name__)


async def on_user_deleted(session: AsyncSession, data: UserDeleted) -> None:
    """Idempotent: a second delivery finds nothing left to delete."""
    await store.purge(session, data.user_id)
    log.info("user loan data purged", user_id=str(data.user_id))


HANDLERS: dict[str, Handler] = {UserDeleted.type: on_user_deleted}
