"""A throwaway PostgreSQL primary and its streaming replica on free loopback ports, for the read-replica tests.

The machine's own PostgreSQL allows no replication connections, so the test makes a primary of its own (`initdb`),
then the replica as operators do: `pg_basebackup -R` (which writes `primary_conninfo` and `standby.signal`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from edge_config.ports import free_port

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)  # the newest installed major first


class ClusterUnavailable(RuntimeError):
    """PostgreSQL's server binaries are not installed, or a server did not start."""


@dataclass(frozen=True)
class PgCluster:
    bin_dir: Path
    primary_port: int
    replica_port: int

    def url(self, database: str = "postgres", *, replica: bool = False) -> str:
        port = self.replica_port if replica else self.primary_port
        return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{database}"

    def psql(self, sql: str, *, replica: bool = False, database: str = "postgres") -> str:
        """Run one statement as the superuser; its output, unaligned and without headers."""
        port = self.replica_port if replica else self.primary_port
        done = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "-d",
                database,
                "-AtX",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout.strip()


def _as_postgres() -> dict[str, object]:
    """PostgreSQL refuses to run as root: as root, run its programs as the `postgres` user."""
    return {"user": "postgres"} if os.geteuid() == 0 else {}


def _run(command: list[str], **kwargs: object) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, **_as_postgres(), **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise ClusterUnavailable(f"{' '.join(command[:2])} failed: {done.stderr[-800:]}")


def _wait_ready(bin_dir: Path, port: int, log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"], check=False, timeout=10
        )
        if ready.returncode == 0:
            return
        time.sleep(0.1)
    logged = log.read_text()[-800:] if log.exists() else ""
    raise ClusterUnavailable(f"PostgreSQL on port {port} did not start: {logged}")


@contextlib.contextmanager
def pg_cluster() -> Iterator[PgCluster]:
    """A primary with a streaming replica, both stopped and deleted afterwards."""
    if not BIN_DIRS or not (BIN_DIRS[0] / "pg_basebackup").exists():
        raise ClusterUnavailable("PostgreSQL's server binaries are not installed (Debian postgresql)")
    bin_dir = BIN_DIRS[0]
    root = Path(tempfile.mkdtemp(prefix="pg-cluster-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    primary, replica = root / "primary", root / "replica"
    cluster = PgCluster(bin_dir, free_port(), free_port())
    started: list[Path] = []
    try:
        _run([str(bin_dir / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "--no-sync"])
        with (primary / "pg_hba.conf").open("a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{root}'",
            "wal_level": "replica",
            "max_wal_senders": "4",
            "fsync": "off",  # a throwaway cluster: durability is not what the tests are about
        }
        for data, port in ((primary, cluster.primary_port),):
            _start(bin_dir, data, port, settings)
            started.append(data)
        deadline = time.monotonic() + 60
        _wait_ready(bin_dir, cluster.primary_port, primary / "log", deadline)
        _run(
            [
                str(bin_dir / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(cluster.primary_port),
                "-U",
                "postgres",
                "-D",
                str(replica),
                "-R",
                "-X",
                "stream",
                "--no-sync",
            ]
        )
        _start(bin_dir, replica, cluster.replica_port, settings | {"hot_standby": "on"})
        started.append(replica)
        _wait_ready(bin_dir, cluster.replica_port, replica / "log", deadline)
        yield cluster
    finally:
        for data in reversed(started):
            subprocess.run(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=60,
                check=False,
                **_as_postgres(),  # type: ignore[arg-type]
            )
        shutil.rmtree(root, ignore_errors=True)


def _start(bin_dir: Path, data: Path, port: int, settings: dict[str, str]) -> None:
    options = " ".join(f"-c {name}={value}" for name, value in settings.items())
    _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(data / "log"), "-o", f"-p {port} {options}", "start"])
