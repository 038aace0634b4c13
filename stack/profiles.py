"""The production profile on one machine: PostgreSQL, Redis, two workers per service, two Varnish nodes per region."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import MutableMapping
from pathlib import Path

import redis

from edge_config.ports import free_port

# Every default the profile sets, where the operator has not set the variable: `deploy/` describes the same shape.
PRODUCTION_DEFAULTS = {
    "STOREFRONT_WORKERS": "2",
    "STOREFRONT_EDGE_NODES": "2",
    "STOREFRONT_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432/storefront",
}


class ProfileUnavailable(RuntimeError):
    """What the production profile needs from the machine is missing: PostgreSQL or `redis-server`."""


def apply_production_defaults(env: MutableMapping[str, str]) -> None:
    """Fill in the profile's defaults; the purge log's own database follows the shared one, so nothing of the
    production profile lives in SQLite."""
    for name, value in PRODUCTION_DEFAULTS.items():
        env.setdefault(name, value)
    env.setdefault("STOREFRONT_INVALIDATOR_DATABASE_URL", env["STOREFRONT_DATABASE_URL"])


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database `url` names if it does not exist yet (`db upgrade` then builds its tables)."""
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if not target.drivername.startswith("postgresql"):
        raise ProfileUnavailable(f"the production profile runs on PostgreSQL; STOREFRONT_DATABASE_URL is {url!r}")
    maintenance = target.set(drivername="postgresql", database="postgres")
    asyncio.run(_create_if_missing(maintenance.render_as_string(hide_password=False), target.database or ""))


async def _create_if_missing(maintenance_dsn: str, name: str) -> None:
    import asyncpg

    try:
        connection = await asyncpg.connect(maintenance_dsn, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise ProfileUnavailable(f"PostgreSQL does not answer: {exc}") from exc
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


class RedisUnit:
    """The profile's own `redis-server` on a free loopback port, for the supervisor: the purge log, kept in an
    append-only file under the data dir so purges recorded before a restart are still delivered after it."""

    name = "redis"

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ProfileUnavailable("the production profile needs redis-server (apt-get install redis-server)")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, timeout: float = 10.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        where = ["--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.workdir)]
        self.process = subprocess.Popen(  # noqa: S603 - the machine's redis-server, arguments we build
            [self.binary, *where, "--appendonly", "yes", "--save", ""],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise ProfileUnavailable(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    def healthy(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_timeout=1.0)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        from stack.processes import stop

        if self.process is not None:
            stop([self.process])
