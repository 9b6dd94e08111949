"""Logical backups of one service's database, and their restore into an empty one.

    uv run python deploy/backup/backup.py dump SERVICE… --url URL --out DIR
    uv run python deploy/backup/backup.py restore FILE --url URL [--database NAME]

`dump` writes one file per service, named by the service and the UTC time it started:
`<service>-<YYYYMMDDTHHMMSSZ>.dump` (pg_dump's custom format, a consistent snapshot of the
`pfms_<service>` database) or, for the MongoDB-backed ai service, `ai-<time>.mongo.zip` (one
`<collection>.bson` per collection, mongodump's layout, written with pymongo: Debian has no mongodump).
`restore` loads a file into a database that is empty or missing (it creates it), never over data.
`--url` names the server only (`postgresql://user:password@host:5432`, `mongodb://host:27017`); the
database is the catalogue's unless `--database` says otherwise.

A restored service misses what happened after its backup. The events it consumed since are still
in their producers' outboxes (kept `outbox_retention_days`): `restore` prints the
`pfms-<producer> outbox-replay` commands that send them again. Its own writes since are lost; only
WAL archiving with point-in-time recovery keeps them (deploy/README.md, "Backups and recovery").

Runs where the repository and the PostgreSQL client tools are (an operator's machine, a CI or cron
job; deploy/local/setup.sh installs them): the service images carry neither pg_dump nor the catalogue
of every service.
"""

import argparse
import glob
import json
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import bson
from pymongo import MongoClient

from pfms_platform.catalogue import SERVICES, ServiceInfo, service

STAMP = "%Y%m%dT%H%M%SZ"
NAME = re.compile(r"^(?P<service>[a-z-]+)-(?P<stamp>\d{8}T\d{6}Z)\.(?P<kind>dump|mongo\.zip)$")
DATABASE = re.compile(r"[a-z0-9_]+")
REPLAY_MARGIN = timedelta(hours=1)
"""Events created a little before the backup may have been applied only after it (the consumer's
lag then): the replay starts this much earlier, and the inbox skips what the backup already had."""


@dataclass(frozen=True)
class Backup:
    """A backup file and what its name says: whose database and when the dump began."""

    path: Path
    service: ServiceInfo
    taken_at: datetime

    @classmethod
    def of(cls, path: Path) -> "Backup":
        match = NAME.match(path.name)
        if match is None:
            raise ValueError(f"{path.name}: not a backup file name (<service>-<YYYYMMDDTHHMMSSZ>.dump|.mongo.zip)")
        taken = datetime.strptime(match["stamp"], STAMP).replace(tzinfo=UTC)
        return cls(path, service(match["service"]), taken)


def pg_tool(name: str) -> str:
    """The newest installed PostgreSQL's client (pg_dump must not be older than the server), else PATH's."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[4]))
    tool = found[-1] if found else shutil.which(name)
    if tool is None:
        raise SystemExit(f"{name} not found: install the PostgreSQL client (deploy/local/setup.sh does)")
    return tool


def database_url(server: str, database: str) -> str:
    """libpq's URL of `database` on the server `server` names: its path and driver go, its query
    (`sslmode=…`) stays."""
    url = urlsplit(server)
    return urlunsplit(("postgresql", url.netloc, f"/{database}", url.query, ""))


def dump(info: ServiceInfo, server: str, out: Path, *, database: str | None = None) -> Backup:
    """One service's logical backup in `out`, named by the service and the UTC time it began."""
    taken = datetime.now(UTC).replace(microsecond=0)
    name = database or info.database
    out.mkdir(parents=True, exist_ok=True)
    if info.store == "mongo":
        path = out / f"{info.name}-{taken.strftime(STAMP)}.mongo.zip"
        dump_mongo(server, name, path)
    else:
        path = out / f"{info.name}-{taken.strftime(STAMP)}.dump"
        subprocess.run(
            [
                pg_tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={path}",
                f"--dbname={database_url(server, name)}",
            ],
            check=True,
        )
    return Backup(path, info, taken)


def dump_mongo(server: str, database: str, path: Path) -> None:
    """Every collection as concatenated BSON documents (what mongorestore reads) plus its indexes."""
    client: MongoClient[dict[str, Any]] = MongoClient(server)
    try:
        db = client[database]
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(db.list_collection_names()):
                with archive.open(f"{name}.bson", "w") as stream:
                    for document in db[name].find({}, sort=[("_id", 1)]):
                        stream.write(bson.encode(document))
                indexes = [
                    {"key": info["key"], **({"unique": True} if info.get("unique") else {})}
                    for index, info in db[name].index_information().items()
                    if index != "_id_"
                ]
                archive.writestr(f"{name}.metadata.json", json.dumps({"indexes": indexes}))
    finally:
        client.close()


def restore(backup: Backup, server: str, *, database: str | None = None) -> str:
    """Load `backup` into `database` (the catalogue's by default) on `server`; it must be empty or
    absent. Returns the database's name."""
    name = database or backup.service.database
    if not DATABASE.fullmatch(name):
        raise SystemExit(f"{name!r}: a database name is lower-case letters, digits and underscores")
    if backup.service.store == "mongo":
        restore_mongo(backup.path, server, name)
        return name
    maintenance = database_url(server, "postgres")
    psql = [pg_tool("psql"), "--no-psqlrc", "--quiet", "--tuples-only", "--no-align", "-v", "ON_ERROR_STOP=1"]
    exists = subprocess.run(
        [*psql, maintenance, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],  # noqa: S608 - DATABASE
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if exists:
        tables = subprocess.run(
            [*psql, database_url(server, name), "-c", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if tables != "0":
            raise SystemExit(f"{name} already holds {tables} table(s): restore only into an empty database")
    else:
        subprocess.run([*psql, maintenance, "-c", f'CREATE DATABASE "{name}"'], check=True)
    subprocess.run(
        [
            pg_tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={database_url(server, name)}",
            str(backup.path),
        ],
        check=True,
    )
    return name


def restore_mongo(path: Path, server: str, database: str) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(server)
    try:
        db = client[database]
        if any(db[name].estimated_document_count() for name in db.list_collection_names()):
            raise SystemExit(f"{database} already holds documents: restore only into an empty database")
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not member.endswith(".bson"):
                    continue
                collection = db[member.removesuffix(".bson")]
                with archive.open(member) as stream:
                    documents = bson.decode_file_iter(stream)
                    while batch := list(islice(documents, 1000)):
                        collection.insert_many(batch, ordered=True)
                metadata = json.loads(archive.read(member.removesuffix(".bson") + ".metadata.json"))
                for index in metadata["indexes"]:
                    collection.create_index(list(index["key"]), unique=index.get("unique", False))
    finally:
        client.close()


def replay_commands(backup: Backup) -> list[str]:
    """What brings a restored consumer up to date: each producer sends its retained events again."""
    since = (backup.taken_at - REPLAY_MARGIN).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        f"pfms-{producer.name} outbox-replay --since {since} --to {backup.service.name}"
        for producer in SERVICES
        if producer.store == "postgres" and producer.name != backup.service.name
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backup.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    names = [s.name for s in SERVICES]
    taking = sub.add_parser("dump", help="write a logical backup of each named service's database")
    taking.add_argument("services", nargs="+", choices=[*names, "all"], metavar="SERVICE", help="or `all`")
    taking.add_argument("--url", required=True, help="the server: postgresql://… (or mongodb://… for ai)")
    taking.add_argument("--mongo-url", help="the ai service's server when dumping PostgreSQL ones too")
    taking.add_argument("--out", type=Path, required=True, help="the folder the files are written to")
    loading = sub.add_parser("restore", help="load a backup file into an empty (or absent) database")
    loading.add_argument("file", type=Path)
    loading.add_argument("--url", required=True, help="the server to restore into")
    loading.add_argument("--database", help="default: the catalogue's database of the file's service")
    args = parser.parse_args(argv)
    if args.command == "dump":
        chosen = SERVICES if "all" in args.services else [service(n) for n in dict.fromkeys(args.services)]
        for info in chosen:
            url = args.mongo_url or args.url if info.store == "mongo" else args.url
            if info.store == "mongo" and not url.startswith("mongodb"):
                parser.error(f"{info.name} keeps its data in MongoDB: give its server with --mongo-url")
            print(dump(info, url, args.out).path)
        return 0
    backup = Backup.of(args.file)
    name = restore(backup, args.url, database=args.database)
    print(f"restored {backup.path.name} into {name}; its state is that of {backup.taken_at.isoformat()}.")
    print("Before it takes traffic, send it the events it consumed since (its own later writes are lost):")
    for command in replay_commands(backup):
        print(f"  {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
