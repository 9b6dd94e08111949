"""The ways into an account (password, linked providers, passkeys): removing one must leave another."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_auth.models import OAuthProvider, Passkey, User
from pfms_platform.errors import Conflict


async def require_another_way(
    db: AsyncSession, user: User, *, provider: uuid.UUID | None = None, passkey: uuid.UUID | None = None
) -> None:
    """Raise unless the user keeps a way in once the linked `provider` row or the `passkey` is gone."""
    if user.password_hash is not None:
        return
    links = select(func.count()).where(OAuthProvider.user_id == user.id)
    if provider is not None:
        links = links.where(OAuthProvider.id != provider)
    keys = select(func.count()).where(Passkey.user_id == user.id)
    if passkey is not None:
        keys = keys.where(Passkey.id != passkey)
    if not (await db.scalar(links) or await db.scalar(keys)):
        raise Conflict(
            "This is the last way to sign in: set a password (password/forgot) or add another first",
            code="LAST_SIGN_IN_METHOD",
        )
