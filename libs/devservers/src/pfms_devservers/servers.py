"""PostgreSQL, RabbitMQ, Redis, a MongoDB-wire server, an SMTP mail catcher and an S3-compatible
object store under one project-local folder.

Each server keeps its data in `<base>/<name>`, listens only on 127.0.0.1 and runs in its own
process group, so it can be stopped cleanly (or killed -9 by a fault test) without touching any
server already on the machine's standard ports. Run as root, PostgreSQL and RabbitMQ drop to their
Debian system users, as they refuse to run as root.
"""

import contextlib
import email
import email.policy
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _find(binary: str, *globs: str) -> str:
    """Prefer the packaged location (a complete install) over whatever PATH finds first."""
    found = None
    for pattern in globs:
        found = found or next(iter(sorted(glob.glob(pattern), reverse=True)), None)
    found = found or shutil.which(binary)
    if not found:
        raise FileNotFoundError(f"{binary} not found: run `make setup` (installs the Debian packages)")
    return found


def _run_checked(cmd: list[str], **kw: object) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if done.returncode:
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr or done.stdout}")


def _system_user(name: str) -> str | None:
    """The account to run a server as when we are root, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(name)
    except KeyError:
        return None
    return name


def _chown(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
    os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class Server:
    """A server process the stack owns."""

    base: Path
    port: int
    name: str = "server"
    run_as: str | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def dir(self) -> Path:
        return self.base / self.name

    @property
    def log_path(self) -> Path:
        return self.dir / f"{self.name}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def prepare(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)

    def ready(self) -> bool:
        return _port_open(self.port)

    def start(self) -> None:
        if _port_open(self.port):
            raise RuntimeError(f"{self.name}: port {self.port} is already in use")
        self.prepare()
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(),
            cwd=self.dir,
            user=self.run_as,
            start_new_session=True,
        )

    def wait(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}:\n{self._tail()}")
            if self.ready():
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout}s; see {self.log_path}:\n{self._tail()}")

    def _tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """kill -9 the whole process group, as a crash would."""
        self.stop(signal.SIGKILL)

    def restart(self, timeout: float = 60.0) -> None:
        self.stop()
        self.start()
        self.wait(timeout)


@dataclass
class Postgres(Server):
    name: str = "postgres"
    fast: bool = False
    """Tests trade crash-durability of the OS cache for speed (fsync off); `make run` keeps it on."""

    def __post_init__(self) -> None:
        self.run_as = _system_user("postgres")

    @property
    def bindir(self) -> Path:
        return Path(_find("initdb", "/usr/lib/postgresql/*/bin/initdb")).parent

    @property
    def data(self) -> Path:
        return self.dir / "data"

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def prepare(self) -> None:
        super().prepare()
        (self.dir / "run").mkdir(exist_ok=True)
        _chown(self.dir, self.run_as)
        if not (self.data / "PG_VERSION").exists():
            _run_checked(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
                user=self.run_as,
                cwd=self.dir,
            )

    def command(self) -> list[str]:
        cmd = [
            str(self.bindir / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-h",
            "127.0.0.1",
            "-k",
            str(self.dir / "run"),
            "-c",
            "max_connections=400",
            "-c",
            "shared_buffers=128MB",
        ]
        if self.fast:
            cmd += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        return cmd

    def ready(self) -> bool:
        if not _port_open(self.port):
            return False
        done = subprocess.run(
            [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
        )
        return done.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def create_database(self, name: str, template: str | None = None) -> None:
        """Create `name` unless it exists (names come from the service catalogue, not from users)."""
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()  # noqa: S608
        if not exists:
            self.psql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


@dataclass
class RabbitMQ(Server):
    name: str = "rabbitmq"
    dist_port: int = 0
    management_port: int = 0

    def __post_init__(self) -> None:
        self.run_as = _system_user("rabbitmq")
        self.dist_port = self.dist_port or free_port()
        self.management_port = self.management_port or free_port()

    @property
    def nodename(self) -> str:
        return f"pfms{self.port}@localhost"

    def url(self, vhost: str = "/") -> str:
        vh = "%2F" if vhost == "/" else vhost
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vh}"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.management_port}/api"

    def prepare(self) -> None:
        super().prepare()
        for sub in ("mnesia", "log"):
            (self.dir / sub).mkdir(exist_ok=True)
        (self.dir / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.dir / "rabbitmq.conf").write_text(
            "loopback_users = none\n"
            f"management.tcp.port = {self.management_port}\n"
            "management.tcp.ip = 127.0.0.1\n"
            "vm_memory_high_watermark.relative = 0.2\n"
            "disk_free_limit.absolute = 50MB\n"
        )
        _chown(self.dir, self.run_as)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            HOME=str(self.dir),
            RABBITMQ_NODENAME=self.nodename,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.dir / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.dir / "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.dir / "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=str(self.dir / "rabbitmq"),
        )
        # Erlang distribution (and an epmd this node starts) on loopback too, not on every interface.
        env.setdefault("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-kernel inet_dist_use_interface {127,0,0,1}")
        env.setdefault("ERL_EPMD_ADDRESS", "127.0.0.1")
        return env

    def command(self) -> list[str]:
        script = "/usr/lib/rabbitmq/bin/rabbitmq-server"
        return [script if os.path.exists(script) else _find("rabbitmq-server")]

    def ready(self) -> bool:
        if not _port_open(self.port):
            return False
        try:
            return httpx.get(f"{self.api}/overview", auth=("guest", "guest"), timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def add_vhost(self, vhost: str) -> None:
        httpx.put(f"{self.api}/vhosts/{vhost}", auth=("guest", "guest"), timeout=10).raise_for_status()
        httpx.put(
            f"{self.api}/permissions/{vhost}/guest",
            auth=("guest", "guest"),
            timeout=10,
            json={"configure": ".*", "write": ".*", "read": ".*"},
        ).raise_for_status()

    def delete_vhost(self, vhost: str) -> None:
        httpx.delete(f"{self.api}/vhosts/{vhost}", auth=("guest", "guest"), timeout=10)

    def queue(self, vhost: str, name: str) -> dict[str, object]:
        vh = "%2F" if vhost == "/" else vhost
        r = httpx.get(f"{self.api}/queues/{vh}/{name}", auth=("guest", "guest"), timeout=10)
        r.raise_for_status()
        return dict(r.json())


@dataclass
class Redis(Server):
    name: str = "redis"

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def command(self) -> list[str]:
        return [
            _find("redis-server"),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--databases",
            "64",
        ]


@dataclass
class Mongo(Server):
    """secantusdb speaks the MongoDB wire protocol; motor talks to it like to mongod."""

    name: str = "mongo"
    persistent: bool = True

    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        storage = str(self.dir / "data") if self.persistent else ":memory:"
        return [sys.executable, "-m", "secantus", "--port", str(self.port), "--storage-path", storage]


@dataclass
class Smtp(Server):
    """aiosmtpd as a mail catcher: every message it accepts lands in a Maildir the tests can read."""

    name: str = "smtp"
    host: str = "127.0.0.1"

    @property
    def maildir(self) -> Path:
        return self.dir / "maildir"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "aiosmtpd",
            "--nosetuid",
            "--listen",
            f"{self.host}:{self.port}",
            "--class",
            "aiosmtpd.handlers.Mailbox",
            str(self.maildir),
        ]

    def messages(self) -> list[email.message.EmailMessage]:
        """Every message received so far, oldest first (Maildir keeps one file per message)."""
        files = [p for sub in ("new", "cur") for p in (self.maildir / sub).glob("*") if p.is_file()]
        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(files, key=lambda p: p.stat().st_mtime_ns)
        ]


@dataclass
class S3(Server):
    """moto's server: an S3-compatible object store on loopback (MinIO plays this part in compose)."""

    name: str = "s3"
    access_key: str = "test"
    secret_key: str = "test"
    region: str = "us-east-1"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "--host", "127.0.0.1", "--port", str(self.port)]

    def env(self) -> dict[str, str]:
        return {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.endpoint_url}/moto-api/", timeout=1).status_code < 500
        except httpx.HTTPError:
            return False


@dataclass
class Stack:
    """The servers, started together (they boot in parallel) and stopped together."""

    base: Path
    postgres: Postgres
    rabbitmq: RabbitMQ
    redis: Redis
    mongo: Mongo
    smtp: Smtp
    s3: S3

    @classmethod
    def create(
        cls, base: Path, *, ports: dict[str, int] | None = None, fast: bool = False, docker: bool = False
    ) -> "Stack":
        """Local processes, or with `docker=True` the same servers as containers (testcontainers)."""
        ports = ports or {}
        base.mkdir(parents=True, exist_ok=True)
        base.chmod(0o755)  # the postgres and rabbitmq system users must reach their folders
        pg, rabbit, redis, mongo = Postgres, RabbitMQ, Redis, Mongo
        if docker:
            from pfms_devservers import containers  # only where Docker is used

            pg, rabbit, redis, mongo = (
                containers.DockerPostgres,
                containers.DockerRabbitMQ,
                containers.DockerRedis,
                containers.DockerMongo,
            )
        return cls(
            base=base,
            postgres=pg(base, ports.get("postgres") or free_port(), fast=fast),
            rabbitmq=rabbit(
                base,
                ports.get("rabbitmq") or free_port(),
                dist_port=ports.get("rabbitmq_dist", 0),
                management_port=ports.get("rabbitmq_mgmt", 0),
            ),
            redis=redis(base, ports.get("redis") or free_port()),
            mongo=mongo(base, ports.get("mongo") or free_port(), persistent=not fast),
            smtp=Smtp(base, ports.get("smtp") or free_port()),
            s3=S3(base, ports.get("s3") or free_port()),
        )

    @property
    def servers(self) -> list[Server]:
        return [self.postgres, self.rabbitmq, self.redis, self.mongo, self.smtp, self.s3]

    def settings_for(self, fields: Iterable[str]) -> dict[str, Any]:
        """The SMTP catcher's and the object store's addresses, for a service whose settings have
        fields named `smtp_host`/`smtp_port` or `s3_endpoint_url`/`s3_access_key`/… (the others get none)."""
        names = set(fields)
        values: dict[str, Any] = {}
        if "smtp_host" in names:
            values.update(smtp_host=self.smtp.host, smtp_port=self.smtp.port)
        if "s3_endpoint_url" in names:
            values.update(
                s3_endpoint_url=self.s3.endpoint_url,
                s3_access_key=self.s3.access_key,
                s3_secret_key=self.s3.secret_key,
                s3_region=self.s3.region,
            )
        return values

    def start(self, timeout: float = 90.0) -> None:
        for server in self.servers:
            server.start()
        try:
            for server in self.servers:
                server.wait(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()
            remove = getattr(server, "remove", None)  # containers are deleted, not just stopped
            if remove is not None:
                remove()
