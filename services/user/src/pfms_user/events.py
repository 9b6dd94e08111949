"""Events the user service consumes: a registration creates the profile, a verification marks its
address verified (what invitations require), a deletion purges it."""

from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.identity import UserCreated, UserDeleted
from pfms_contracts.verification import EmailVerified
from pfms_platform.events.consumer import Handler
from pfms_platform.logging import get_logger
from pfms_user import store, validation
from pfms_user.spaces import store as spaces

log = get_logger(__name__)


def email_key(address: str) -> str:
    """The form invitations are matched on; auth already validated the address, so never refuse it."""
    try:
        return validation.email(address)
    except ValueError:
        return address.strip().lower()


async def on_user_created(session: AsyncSession, data: UserCreated) -> None:
    """Create the profile and default preferences; a no-op when the profile already exists."""
    created = await store.create_defaults(session, data.user_id, email_key(data.email), verified=data.email_verified)
    log.info("profile created" if created else "profile already exists", user_id=str(data.user_id))


async def on_email_verified(session: AsyncSession, data: EmailVerified) -> None:
    """The address is verified if it is still the profile's; a redelivery or an older address changes nothing."""
    changed = await store.mark_verified(session, data.user_id, email_key(data.email))
    log.info("email verified" if changed else "email verification ignored", user_id=str(data.user_id))


async def on_user_deleted(session: AsyncSession, data: UserDeleted) -> None:
    """Spaces first (an owner's pass on, each change published), while the profile still has the address."""
    await spaces.forget(session, data.user_id)
    await store.purge(session, data.user_id)
    log.info("user data purged", user_id=str(data.user_id))


HANDLERS: dict[str, Handler] = {
    UserCreated.type: on_user_created,
    EmailVerified.type: on_email_verified,
    UserDeleted.type: on_user_deleted,
}
