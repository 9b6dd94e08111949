"""Field encryption: AES-256-GCM round trips, tamper and column binding, rotation, and per-service keys."""

import base64
import importlib
import uuid
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import Column, MetaData, Table, Text, insert, select, type_coerce
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pfms_devservers import Stack
from pfms_platform.crypto import (
    ENCRYPTING_SERVICES,
    BlindIndex,
    Encrypted,
    FieldCryptoError,
    Keyring,
    install,
    key_id,
    keyring,
    keyring_of,
    new_key,
    reencrypt,
)
from pfms_platform.settings import ServiceSettings
from pfms_platform.testing.fixtures import _admin

K1, K2 = new_key(), new_key()
RING = keyring({"k1": K1}, "k1", None, service="probe")


def test_a_value_round_trips_and_names_its_key() -> None:
    token = RING.encrypt("+44 20 7946 0958", "contacts.phone")
    assert token.startswith("v1:k1:") and "7946" not in token
    assert key_id(token) == "k1"
    assert RING.decrypt(token, "contacts.phone") == "+44 20 7946 0958"


def test_each_write_has_its_own_nonce() -> None:
    assert RING.encrypt("same", "t.c") != RING.encrypt("same", "t.c")


@given(st.text(max_size=300), st.sampled_from(["users.phone", "recipients.email", "a.b"]))
def test_any_string_round_trips_and_never_appears_in_the_ciphertext(value: str, context: str) -> None:
    token = RING.encrypt(value, context)
    assert RING.decrypt(token, context) == value
    if len(value) >= 4:
        assert value not in token


@pytest.mark.parametrize("position", [2, 3])
def test_a_tampered_value_is_refused(position: int) -> None:
    parts = RING.encrypt("secret", "t.c").split(":")
    raw = bytearray(base64.urlsafe_b64decode(parts[position] + "=" * (-len(parts[position]) % 4)))
    raw[0] ^= 1
    parts[position] = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(FieldCryptoError, match="fails authentication"):
        RING.decrypt(":".join(parts), "t.c")


def test_a_value_moved_to_another_column_is_refused() -> None:
    with pytest.raises(FieldCryptoError, match="another column"):
        RING.decrypt(RING.encrypt("secret", "recipients.email"), "recipients.phone")


def test_an_unknown_key_id_or_a_plaintext_is_named_clearly() -> None:
    other = keyring({"k9": K2}, "k9", None, service="probe")
    with pytest.raises(FieldCryptoError, match="key 'k9', which is not in the keyring"):
        RING.decrypt(other.encrypt("secret", "t.c"), "t.c")
    with pytest.raises(FieldCryptoError, match="not an encrypted value"):
        RING.decrypt("+15551234567", "t.c")
    with pytest.raises(FieldCryptoError, match="malformed"):
        RING.decrypt("v1:k1:!!:??", "t.c")


def test_rotation_reads_old_values_and_writes_with_the_current_key() -> None:
    old = RING.encrypt("secret", "t.c")
    rotated = keyring({"k2": K2, "k1": K1}, "k2", None, service="probe")
    assert rotated.decrypt(old, "t.c") == "secret"
    assert key_id(rotated.encrypt("secret", "t.c")) == "k2"


def test_blind_indexes_are_keyed_and_per_column() -> None:
    same = keyring({"k2": K2}, "k2", None, service="probe")
    assert RING.blind_index("+1555", "contacts.phone") == same.blind_index("+1555", "contacts.phone")
    assert RING.blind_index("+1555", "contacts.phone") != RING.blind_index("+1555", "contacts.email")
    assert RING.blind_index("+1555", "c.p") != keyring({}, "", None, service="other").blind_index("+1555", "c.p")


def test_bad_key_settings_are_refused_at_startup() -> None:
    with pytest.raises(ValidationError, match="32 bytes"):
        ServiceSettings(field_keys={"k1": base64.b64encode(b"short").decode()})
    with pytest.raises(ValidationError, match="not among the keys"):
        ServiceSettings(field_keys={"k1": K1}, field_key_current="k2")
    with pytest.raises(ValidationError, match="must name one"):
        ServiceSettings(field_keys={"k1": K1, "k2": K2})
    with pytest.raises(ValidationError, match="key id"):
        ServiceSettings(field_keys={"k:1": K1})


def test_production_refuses_missing_keys_and_development_gets_per_service_keys() -> None:
    production = {"environment": "production", "service_token_secret": "s" * 40, "service_name": "user"}
    with pytest.raises(ValidationError, match="field_keys and field_index_key must be set"):
        ServiceSettings(**production)
    with pytest.raises(ValidationError, match="field_keys and field_index_key must be set"):
        ServiceSettings(**production, field_keys={"k1": K1})
    ok = ServiceSettings(**production, field_keys={"k1": K1}, field_index_key=K2)
    assert ok.field_keyring().current == "k1"
    assert ServiceSettings(**{**production, "service_name": "tax"}), "a service with nothing encrypted needs no keys"
    user, loan = (
        ServiceSettings(service_name="user").field_keyring(),
        ServiceSettings(service_name="loan").field_keyring(),
    )
    assert user.keys["dev"] != loan.keys["dev"] and user.index_key != loan.index_key


# -- through SQLAlchemy against PostgreSQL ----------------------------------------------------------


class ProbeBase(DeclarativeBase):
    metadata = MetaData()


class Secretive(ProbeBase):
    __tablename__ = "crypto_probe"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    phone: Mapped[str | None] = mapped_column(Encrypted())
    phone_index: Mapped[str | None] = mapped_column(BlindIndex("crypto_probe.phone"))
    note: Mapped[str | None] = mapped_column(Encrypted())


def test_each_column_gets_its_own_associated_data() -> None:
    phone, note = Secretive.__table__.c.phone.type, Secretive.__table__.c.note.type
    assert isinstance(phone, Encrypted) and isinstance(note, Encrypted)
    assert (phone.context, note.context) == ("crypto_probe.phone", "crypto_probe.note")


def test_one_type_instance_on_two_columns_is_refused() -> None:
    shared = Encrypted()
    Table("probe_a", MetaData(), Column("x", shared))
    with pytest.raises(ValueError, match="its own type instance"):
        Table("probe_b", MetaData(), Column("y", shared))


@pytest.fixture
async def engines(stack: Stack) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two engines on one database, as two services with different keys would hold them."""
    name = f"t_crypto_{uuid.uuid4().hex[:10]}"
    await _admin(stack, f'CREATE DATABASE "{name}"')
    first = create_async_engine(stack.postgres.url(name))
    second = create_async_engine(stack.postgres.url(name))
    async with first.begin() as conn:
        await conn.run_sync(ProbeBase.metadata.create_all)
    install(first, ServiceSettings(service_name="user").field_keyring())
    install(second, ServiceSettings(service_name="loan").field_keyring())
    yield first, second
    await first.dispose()
    await second.dispose()
    await _admin(stack, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_stored_values_are_ciphertext_and_read_back_as_plaintext(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    engine, _ = engines
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        session.add(Secretive(phone="+15551234567", phone_index="+15551234567", note=None))
    async with engine.connect() as conn:
        query = select(type_coerce(Secretive.phone, Text), type_coerce(Secretive.phone_index, Text), Secretive.note)
        token, index, note = (await conn.execute(query)).one()
    assert token.startswith("v1:dev:") and "5551234567" not in token
    assert len(index) == 64 and "5551234567" not in index
    assert note is None
    async with sessions() as session:
        found = await session.scalar(select(Secretive).where(Secretive.phone_index == "+15551234567"))
        assert found is not None and found.phone == "+15551234567"
        assert await session.scalar(select(Secretive).where(Secretive.phone_index == "+15550000000")) is None


async def test_two_services_with_different_keys_do_not_read_each_others_values(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    user, loan = engines
    async with user.begin() as conn:
        await conn.execute(insert(Secretive).values(id=uuid.uuid4(), phone="+15551234567"))
    async with loan.begin() as conn:
        await conn.execute(insert(Secretive).values(id=uuid.uuid4(), phone="+15557654321"))
    async with user.connect() as conn:
        with pytest.raises(FieldCryptoError, match="fails authentication"):
            (await conn.execute(select(Secretive.phone))).scalars().all()
    assert keyring_of(user.sync_engine.dialect) is not keyring_of(loan.sync_engine.dialect)


async def test_an_engine_without_a_keyring_refuses_rather_than_storing_plaintext(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    bare = create_async_engine(engines[0].url)
    try:
        async with bare.begin() as conn:
            with pytest.raises(StatementError, match="no field keyring") as refused:
                await conn.execute(insert(Secretive).values(id=uuid.uuid4(), phone="+15551234567"))
        assert isinstance(refused.value.orig, FieldCryptoError)
    finally:
        await bare.dispose()


async def test_rotation_re_encrypts_in_batches_and_the_old_key_can_then_go(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    engine, _ = engines
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    install(engine, keyring({"k1": K1}, "k1", None, service="probe"))
    phones = [f"+1555000{n:04d}" for n in range(7)]
    async with sessions() as session, session.begin():
        session.add_all([Secretive(phone=p) for p in phones] + [Secretive(phone=None)])
    rotated = keyring({"k2": K2, "k1": K1}, "k2", None, service="probe")
    install(engine, rotated)
    async with sessions() as session:
        stored = await session.scalars(select(Secretive.phone).where(Secretive.phone.is_not(None)))
        assert sorted(p or "" for p in stored) == phones
        session.add(Secretive(phone="+15559999999"))
        await session.commit()
    assert await reencrypt(sessions, Secretive.phone, batch_size=3) == 7
    assert await reencrypt(sessions, Secretive.phone, batch_size=3) == 0
    async with engine.connect() as conn:
        raw = (
            await conn.execute(select(type_coerce(Secretive.phone, Text)).where(Secretive.phone.is_not(None)))
        ).scalars()
        assert {key_id(token) for token in raw} == {"k2"}
    install(engine, Keyring({"k2": rotated.keys["k2"]}, "k2", rotated.index_key))
    async with sessions() as session:
        assert len((await session.scalars(select(Secretive.phone).where(Secretive.phone.is_not(None)))).all()) == 8


def test_the_services_said_to_encrypt_are_those_with_encrypted_columns() -> None:
    from pfms_platform.catalogue import SERVICES
    from pfms_platform.db import Base

    for info in SERVICES:
        if info.store == "postgres":
            importlib.import_module(f"{info.package}.models")
    packages = {
        mapper.class_.__module__.split(".")[0]
        for mapper in Base.registry.mappers
        if any(isinstance(column.type, Encrypted) for column in mapper.columns)
    }
    assert packages == {info.package for info in SERVICES if info.name in ENCRYPTING_SERVICES}
