"""Events the report service consumes: a deleted user's jobs go, and their files are queued for removal."""

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.identity import UserDeleted
from pfms_platform.events.consumer import Handler
from pfms_platform.logging import get_logger
from pfms_report.models import ObjectPurge, Report

log = get_logger(__name__)


async def on_user_deleted(session: AsyncSession, data: UserDeleted) -> None:
    """Idempotent. The rows go now; the objects under the user's prefix are removed by the sweeper
    (object storage is not part of this transaction, so the request to remove them is)."""
    await session.execute(delete(Report).where(Report.user_id == data.user_id))
    await session.execute(insert(ObjectPurge).values(user_id=data.user_id).on_conflict_do_nothing())
    log.info("user reports purged", user_id=str(data.user_id))


HANDLERS: dict[str, Handler] = {UserDeleted.type: on_user_deleted}
