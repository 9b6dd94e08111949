"""Field-level encryption of sensitive columns: AES-256-GCM under a keyring from settings, with rotation.

A column typed `Encrypted()` stores `v1:<kid>:<nonce>:<ciphertext+tag>` (base64url parts): a random
96-bit nonce per write, and the table and column names (with the version and key id) as associated
data, so a value copied into another column or row-independent edits of the header fail to decrypt.
Values name the key they were written with, so after a rotation (new current key, old key kept) old
rows still read; `reencrypt` rewrites them with the current key, after which the old key can go.

SQLAlchemy types are module-level, but keys belong to one service: the keyring rides on the engine's
dialect (`install`, done by `create_app`), so two services in one process never share keys.
A `BlindIndex` column holds a keyed HMAC of an encrypted column's value for equality lookups and
unique constraints, which random-nonce ciphertext cannot serve.
"""

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, String, Table, Text, bindparam, event, select, type_coerce, update
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.types import TypeDecorator

VERSION = "v1"
NONCE_BYTES = 12
KEY_BYTES = 32
KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
DEV_KID = "dev"
ENCRYPTING_SERVICES = frozenset({"accounts", "auth", "loan", "notification", "user"})
"""Services with Encrypted columns: production refuses to start them without keys, and the deploy
files (compose, Kubernetes, `make run`) hand each of them its own; a test keeps this list honest."""


class FieldCryptoError(ValueError):
    """A stored value could not be decrypted: unknown key id, malformed, tampered or moved."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def decode_key(kid: str, encoded: str) -> bytes:
    """A configured key: base64 (standard or url-safe) of exactly 32 bytes."""
    if not KID.match(kid):
        raise ValueError(f"field key id {kid!r} must be 1-32 letters, digits, '-' or '_'")
    try:
        raw = base64.b64decode(encoded.replace("-", "+").replace("_", "/") + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"field key {kid!r} is not base64") from exc
    if len(raw) != KEY_BYTES:
        raise ValueError(f"field key {kid!r} must decode to {KEY_BYTES} bytes, not {len(raw)}")
    return raw


def new_key() -> str:
    """A fresh key in the form settings take (what `make run` and operators generate)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def dev_key(service: str, purpose: str = "field") -> bytes:
    """Per-service key for development and tests when none is configured; settings refuse it in production."""
    return hashlib.sha256(f"pfms-dev-{purpose}-key:{service}".encode()).digest()


@dataclass(frozen=True)
class Keyring:
    """Keys by id, the one new values are written with, and the key of blind indexes."""

    keys: Mapping[str, bytes]
    current: str
    index_key: bytes
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError(f"current field key {self.current!r} is not among the keys ({', '.join(self.keys)})")
        for kid, key in self.keys.items():
            if not KID.match(kid) or len(key) != KEY_BYTES:
                raise ValueError(f"field key {kid!r} must have a plain id and {KEY_BYTES} bytes")
            self._ciphers[kid] = AESGCM(key)

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.current].encrypt(nonce, plaintext.encode(), _ad(self.current, context))
        return f"{VERSION}:{self.current}:{_b64(nonce)}:{_b64(sealed)}"

    def decrypt(self, token: str, context: str) -> str:
        kid, nonce, sealed = _parts(token, context)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise FieldCryptoError(f"{context}: written with key {kid!r}, which is not in the keyring")
        try:
            return cipher.decrypt(nonce, sealed, _ad(kid, context)).decode()
        except InvalidTag:
            raise FieldCryptoError(f"{context}: value fails authentication (tampered or from another column)") from None

    def blind_index(self, value: str, context: str) -> str:
        """Keyed HMAC-SHA256 of `value`, separated per column: equal values compare equal, nothing else leaks."""
        return hmac.new(self.index_key, f"{context}\x00{value}".encode(), hashlib.sha256).hexdigest()


def key_id(token: str) -> str:
    """The id of the key a stored value was written with."""
    return _parts(token, "value")[0]


def _ad(kid: str, context: str) -> bytes:
    return f"{VERSION}:{kid}:{context}".encode()


def _parts(token: str, context: str) -> tuple[str, bytes, bytes]:
    pieces = token.split(":")
    if len(pieces) != 4 or pieces[0] != VERSION:
        raise FieldCryptoError(f"{context}: not an encrypted value of version {VERSION}")
    try:
        nonce, sealed = _unb64(pieces[2]), _unb64(pieces[3])
    except (binascii.Error, ValueError):
        nonce = b""
    if len(nonce) != NONCE_BYTES:
        raise FieldCryptoError(f"{context}: malformed encrypted value")
    return pieces[1], nonce, sealed


def keyring(keys: Mapping[str, str], current: str, index_key: str | None, *, service: str) -> Keyring:
    """Build from settings values; with no keys configured, the service's development keys."""
    if not keys:
        return Keyring({DEV_KID: dev_key(service)}, DEV_KID, dev_key(service, "index"))
    decoded = {kid: decode_key(kid, value) for kid, value in keys.items()}
    if not current:
        if len(decoded) != 1:
            raise ValueError("field_key_current must name one of several field_keys")
        current = next(iter(decoded))
    index = decode_key("index", index_key) if index_key else dev_key(service, "index")
    return Keyring(decoded, current, index)


# -- where the keys live at runtime ------------------------------------------------------------------

_ATTR = "pfms_field_keyring"


def install(engine: AsyncEngine, ring: Keyring) -> None:
    """Attach the service's keyring to its engine: every Encrypted column reached through it uses these keys."""
    setattr(engine.sync_engine.dialect, _ATTR, ring)


def keyring_of(dialect: Dialect) -> Keyring:
    ring: Keyring | None = getattr(dialect, _ATTR, None)
    if ring is None:
        raise FieldCryptoError("no field keyring on this engine: build it with create_app or call crypto.install")
    return ring


# -- column types ------------------------------------------------------------------------------------


class _Contextual(TypeDecorator[str]):
    """A type that learns `table.column` when its column joins a table (see `_name_context`)."""

    cache_ok = True

    def __init__(self, context: str | None = None) -> None:
        super().__init__()
        self.context = context

    def _where(self) -> str:
        if self.context is None:
            raise FieldCryptoError(f"{type(self).__name__} used outside a table column")
        return self.context


class Encrypted(_Contextual):
    """Text column holding AES-256-GCM ciphertext; Python sees the plaintext `str`.

    Only equality-free use: random nonces make WHERE/unique on it meaningless (pair it with a BlindIndex).
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else keyring_of(dialect).encrypt(str(value), self._where())

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else keyring_of(dialect).decrypt(value, self._where())


class BlindIndex(_Contextual):
    """Hex HMAC of the plaintext of `source` (a `table.column` name); compare it with plain values in queries.

    Assign the plaintext (e.g. from a `@validates` of the encrypted column); the type stores the digest.
    """

    impl = String(64)
    cache_ok = True

    def __init__(self, source: str, context: str | None = None) -> None:
        super().__init__(context)
        self.source = source

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else keyring_of(dialect).blind_index(str(value), self.source)


@event.listens_for(Column, "after_parent_attach")
def _name_context(column: Column[Any], table: Any) -> None:
    """Encrypted data is bound to its column: the associated data is the `table.column` it lives in."""
    if not isinstance(column.type, _Contextual) or not isinstance(table, Table):
        return
    name = f"{table.name}.{column.name}"
    if column.type.context not in (None, name):
        raise ValueError(f"{name}: give each encrypted column its own type instance ({column.type.context} has it)")
    column.type.context = name


# -- rotation ----------------------------------------------------------------------------------------


async def reencrypt(
    sessions: async_sessionmaker[Any], column: InstrumentedAttribute[Any], batch_size: int = 500
) -> int:
    """Rewrite every value of `column` not under the current key, one transaction per batch; returns how many.

    Walks the primary key in order, so it is safe to re-run and to run while the service serves traffic.
    """
    table = column.property.columns[0].table
    target = column.property.columns[0]
    (pk,) = table.primary_key.columns
    raw = type_coerce(target, Text)
    done = 0
    after: Any = None
    while True:
        async with sessions() as session, session.begin():
            ring = keyring_of((await session.connection()).dialect)
            query = select(pk, raw).where(target.is_not(None)).order_by(pk).limit(batch_size)
            if after is not None:
                query = query.where(pk > after)
            rows = (await session.execute(query.with_for_update())).all()
            if not rows:
                return done
            after = rows[-1][0]
            context = target.type.context
            for ident, token in rows:
                if key_id(token) != ring.current:
                    plain = ring.decrypt(token, context)
                    await session.execute(update(table).where(pk == ident).values({target.name: plain}))
                    done += 1


# -- migrations --------------------------------------------------------------------------------------


def seal_rows(
    connection: Connection,
    ring: Keyring,
    table: str,
    column: str,
    *,
    index: str | None = None,
    decrypt: bool = False,
    key: str = "id",
) -> int:
    """Encrypt a column's existing plaintext in place, filling its blind `index` column if it has one (or,
    with `decrypt`, undo it): the data step of the migration that makes a column `Encrypted` and of its
    downgrade. `key` names the table's (single-column) primary key."""
    context = f"{table}.{column}"
    names = [column, index] if index else [column]
    rows_of = sql_table(table, sql_column(key), *(sql_column(name, Text) for name in names))
    value = rows_of.c[column]
    rows = connection.execute(select(rows_of.c[key], value).where(value.is_not(None))).all()
    if not rows:
        return 0
    changes: dict[str, Any] = {column: bindparam("_value")}
    if decrypt:
        values = [{"_id": ident, "_value": ring.decrypt(token, context)} for ident, token in rows]
    else:
        values = [{"_id": ident, "_value": ring.encrypt(plain, context)} for ident, plain in rows]
        if index:
            changes[index] = bindparam("_index")
            for row, (_, plain) in zip(values, rows, strict=True):
                row["_index"] = ring.blind_index(plain, context)
    connection.execute(update(rows_of).where(rows_of.c[key] == bindparam("_id")).values(changes), values)
    return len(values)
