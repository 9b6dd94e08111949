"""`pfms-rekey <service>`: rewrite every encrypted value of a service with its current field key.

The rotation's last step (add a key, make it current, deploy, run this, drop the old key). Reads the
service's own settings from the environment, like `pfms-<service> migrate`; safe to re-run.
"""

import argparse
import asyncio
import importlib
from typing import Any

from pfms_platform.catalogue import service
from pfms_platform.crypto import Encrypted, install, reencrypt
from pfms_platform.db import Base, Database
from pfms_platform.settings import ServiceSettings


def encrypted_columns(package: str) -> list[Any]:
    """The mapped attributes of `package`'s models whose column type is Encrypted."""
    importlib.import_module(f"{package}.models")
    return [
        getattr(mapper.class_, prop.key)
        for mapper in Base.registry.mappers
        if mapper.class_.__module__.split(".")[0] == package
        for prop in mapper.column_attrs
        if isinstance(prop.columns[0].type, Encrypted)
    ]


async def rekey(settings: ServiceSettings, package: str, batch_size: int = 500) -> dict[str, int]:
    """Values rewritten per `table.column`."""
    db = Database(settings.database_url, pool_size=2, service=settings.service_name)
    install(db.engine, settings.field_keyring())
    try:
        return {
            f"{column.property.columns[0].table.name}.{column.property.columns[0].name}": await reencrypt(
                db.sessions, column, batch_size
            )
            for column in encrypted_columns(package)
        }
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="pfms-rekey", description=__doc__.splitlines()[0])
    parser.add_argument("service", help="catalogue name, e.g. user")
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    info = service(args.service)
    settings = importlib.import_module(f"{info.package}.settings").Settings()
    for column, count in asyncio.run(rekey(settings, info.package, args.batch_size)).items():
        print(f"{column}: {count} re-encrypted with key {settings.field_keyring().current}")
