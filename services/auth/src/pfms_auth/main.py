"""App factory and entry point of the auth service (`pfms-auth serve|migrate|rotate-keys`)."""

import asyncio
from pathlib import Path

from fastapi import FastAPI

from pfms_auth import api, api_oauth, api_passkeys, keys
from pfms_auth.events import HANDLERS
from pfms_auth.keystore import KeyStore, StoreJWKS
from pfms_auth.oneshot import OneShot
from pfms_auth.passwords import Hasher
from pfms_auth.providers import Providers
from pfms_auth.runtime import Runtime, argon2_params, policies
from pfms_auth.settings import Settings
from pfms_auth.throttle import Throttle
from pfms_platform import cli
from pfms_platform.app import create_app
from pfms_platform.db import Database
from pfms_platform.logging import configure_logging
from pfms_platform.settings import ServiceSettings

SERVICE_DIR = Path(__file__).resolve().parents[2]


async def _start(app: FastAPI) -> None:
    """Load (or create) the signing keys and point the token verifier at them, not at our own JWKS URL."""
    settings: Settings = app.state.settings
    box = keys.sealer(settings.key_encryption_key)
    store = KeyStore(app.state.db, box, settings.rsa_key_size)
    store.jwks_cache = app.state.verifier.jwks = StoreJWKS(store)
    await store.ensure_key()
    hasher = Hasher(argon2_params(settings))
    await asyncio.to_thread(lambda: hasher.dummy_hash)  # computed once, before the first unknown email
    account, ip = policies(settings)
    throttle = Throttle(app.state.redis, account=account, ip=ip, mail_quota=settings.mail_requests_per_window)
    app.state.runtime = Runtime(
        settings=settings,
        hasher=hasher,
        throttle=throttle,
        keys=store,
        once=OneShot(app.state.redis),
        providers=Providers(settings),
    )


def create(settings: Settings | None = None) -> FastAPI:
    return create_app(
        settings or Settings(),
        title="PFMS auth service",
        routers=[api.router, api_oauth.router, api_passkeys.router, api.jwks_router],
        handlers=HANDLERS,
        on_startup=[_start],
    )


async def rotate_keys(settings: Settings) -> str:
    """Add a signing key that signs from now on; the previous one stays published until the next rotation."""
    db = Database(settings.database_url, pool_size=1, service=settings.service_name)
    try:
        return await KeyStore(db, keys.sealer(settings.key_encryption_key), settings.rsa_key_size).rotate()
    finally:
        await db.dispose()


def _rotate_keys_command(settings: ServiceSettings) -> None:
    assert isinstance(settings, Settings)
    configure_logging(settings.service_name, settings.log_level)
    print(f"new signing key: {asyncio.run(rotate_keys(settings))}")


def main() -> None:
    rotate = cli.Command(
        "Add a new signing key; tokens signed with the previous one stay valid until they expire.",
        _rotate_keys_command,
    )
    cli.run(SERVICE_DIR, Settings(), create, {"rotate-keys": rotate})
