"""The lean read path behind `GET /api/v1/user/profile`, the fleet's benchmark route.

Through the shared SQLAlchemy engine one read costs six round trips to PostgreSQL: the pool's
pre-ping (BEGIN, `;`, ROLLBACK), then BEGIN, the SELECT and COMMIT. Here it costs one: a plain
asyncpg pool, no ping, no transaction (a single SELECT is atomic on its own), no reset on release
(a read leaves no session state), and a statement asyncpg prepares once per connection. Instead of
pinging every checkout, a read that finds its connection dead is retried once on a fresh one.
Bypassing the ORM also bypasses the `Encrypted` column type, so the phone is decrypted here.
"""

import uuid
from typing import Any

import asyncpg
import orjson

from pfms_platform.crypto import Keyring

PROFILE_QUERY = """
SELECT user_id, email, first_name, last_name, phone, avatar_url, date_of_birth,
       currency, timezone, language, created_at, updated_at
FROM user_profiles WHERE user_id = $1
"""

PHONE_COLUMN = "user_profiles.phone"

_DEAD_CONNECTION = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a terminated backend can leave the protocol mid-operation
    ConnectionError,
)


async def _nothing_to_reset(_: asyncpg.Connection) -> None:
    """Reads change no session state, so skip asyncpg's default reset round trip."""


class ProfileReader:
    def __init__(self, database_url: str, *, size: int, keyring: Keyring) -> None:
        self._dsn = database_url.replace("+asyncpg", "")
        self._keyring = keyring
        self._size = size
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        # min_size=0: like the engine, connect on first use, so startup never waits for the database.
        self._pool = await asyncpg.create_pool(self._dsn, min_size=0, max_size=self._size, reset=_nothing_to_reset)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def profile(self, user_id: uuid.UUID) -> dict[str, Any] | None:
        assert self._pool is not None, "ProfileReader.open() runs at startup"
        try:
            return await self._fetch(user_id)
        except _DEAD_CONNECTION:  # the database restarted since this connection was made
            return await self._fetch(user_id)

    async def _fetch(self, user_id: uuid.UUID) -> dict[str, Any] | None:
        assert self._pool is not None
        async with self._pool.acquire() as connection:
            try:
                row = await connection.fetchrow(PROFILE_QUERY, user_id)
            except _DEAD_CONNECTION:
                connection.terminate()  # never hand this connection to the next request
                raise
        if row is None:
            return None
        profile = dict(row)
        if profile["phone"] is not None:
            profile["phone"] = self._keyring.decrypt(profile["phone"], PHONE_COLUMN)
        return profile


def envelope_json(data: dict[str, Any], meta: dict[str, Any]) -> bytes:
    """The success envelope, serialised as pydantic would (UTC as `Z`, UUIDs as strings)."""
    return orjson.dumps({"success": True, "data": data, "meta": meta}, default=str, option=orjson.OPT_UTC_Z)
