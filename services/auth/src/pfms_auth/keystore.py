"""Signing keys in the auth database: every replica signs with the newest, JWKS publishes the newest two.

Rotation adds a key; the one it replaces stays published, so tokens it signed keep verifying until
they expire and nobody is logged out. Creating and rotating keys take a Postgres advisory lock, so
replicas starting together create one first key, not one each.
"""

import time
from typing import Any

from cryptography.fernet import MultiFernet
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_auth import keys
from pfms_auth.models import SigningKey as KeyRow
from pfms_platform.db import Database
from pfms_platform.logging import get_logger
from pfms_platform.security import JWKSCache

log = get_logger(__name__)

PUBLISHED = 2
"""The current key and the previous one: rotate no more often than the access-token lifetime."""
_LOCK_ID = 0x70666D736B657973  # "pfmskeys": one advisory lock for key creation across replicas
_RELOAD_INTERVAL_SECONDS = 1.0


class KeyStore:
    def __init__(self, db: Database, box: MultiFernet, key_size: int) -> None:
        self.db = db
        self.box = box
        self.key_size = key_size
        self.current: keys.SigningKey | None = None
        self.published: list[dict[str, Any]] = []
        self.jwks_cache: JWKSCache | None = None
        """The token verifier's key cache, refilled on every reload (auth never fetches its own JWKS)."""

    def jwks(self) -> dict[str, Any]:
        return {"keys": list(self.published)}

    async def ensure_key(self) -> None:
        """Create the first key unless one exists, then load the keys."""
        async with self.db.sessions() as session, session.begin():
            await session.execute(select(func.pg_advisory_xact_lock(_LOCK_ID)))
            if await session.scalar(select(KeyRow.kid).limit(1)) is None:
                self._add(session, keys.generate(self.key_size))
                log.info("first signing key created")
        await self.reload()

    async def rotate(self) -> str:
        """Add a key that signs from now on; the previous one stays published. Returns the new `kid`."""
        key = keys.generate(self.key_size)
        async with self.db.sessions() as session, session.begin():
            await session.execute(select(func.pg_advisory_xact_lock(_LOCK_ID)))
            self._add(session, key)
        log.info("signing key rotated", kid=key.kid)
        await self.reload()
        return key.kid

    async def reload(self) -> None:
        async with self.db.sessions() as session:
            rows = await published_rows(session)
        if not rows:
            raise RuntimeError("no signing key in the database")
        newest = rows[0]
        if self.current is None or self.current.kid != newest.kid:
            self.current = keys.unseal(newest.kid, newest.private_key_encrypted, self.box)
        self.published = [row.public_jwk for row in rows]
        if self.jwks_cache is not None:
            self.jwks_cache.load(self.jwks())

    async def signing_key(self, session: AsyncSession) -> keys.SigningKey:
        """The newest key, as the database says now: a rotation by any process takes effect at once."""
        newest = await session.scalar(select(KeyRow.kid).order_by(KeyRow.created_at.desc()).limit(1))
        if self.current is None or self.current.kid != newest:
            await self.reload()
        assert self.current is not None
        return self.current

    def _add(self, session: AsyncSession, key: keys.SigningKey) -> None:
        session.add(KeyRow(kid=key.kid, private_key_encrypted=keys.seal(key, self.box), public_jwk=key.jwk))


async def published_rows(session: AsyncSession) -> list[KeyRow]:
    result = await session.scalars(select(KeyRow).order_by(KeyRow.created_at.desc()).limit(PUBLISHED))
    return list(result)


async def published_jwks(session: AsyncSession) -> dict[str, Any]:
    """JWKS straight from the database, so every replica publishes the same keys."""
    return {"keys": [row.public_jwk for row in await published_rows(session)]}


class StoreJWKS(JWKSCache):
    """The platform's key cache, filled from the key store instead of over HTTP: auth does not call itself."""

    def __init__(self, store: KeyStore) -> None:
        super().__init__(url="")
        self.store = store
        self._reloaded_at = 0.0

    async def refresh(self, *, force: bool = False) -> None:
        """An unknown `kid` may be a key another process just rotated in: look again (at most once a second)."""
        if not force and time.monotonic() - self._reloaded_at < _RELOAD_INTERVAL_SECONDS:
            return
        self._reloaded_at = time.monotonic()
        await self.store.reload()
