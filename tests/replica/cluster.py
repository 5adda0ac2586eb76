"""A real PostgreSQL streaming replica of the test server, in a temporary directory.

`pg_basebackup` of the primary at TEST_DATABASE_URL, started on a free port by Debian's pg_ctl
(as the `postgres` OS user when we are root: the server refuses to run as root), stopped and
deleted afterwards. About two seconds for a primary of a hundred megabytes.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
# Settings a hot standby must have at least as high as its primary, or it refuses to start.
AT_LEAST_PRIMARY = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)
HBA_LINE = "host replication all 127.0.0.1/32 trust"


class ReplicaUnavailable(Exception):
    """The machine cannot make a replica of the test server (the message says why)."""


def allow_replication(admin: sa.Engine) -> None:
    """Let the primary stream to a local replica: WAL for replicas, and a pg_hba replication line.

    The pg_hba line is added (and the configuration reloaded) when we may write the file, as
    .ci/run does; wal_level and max_wal_senders need a restart, which only .ci/run does.
    """
    with admin.connect() as conn:
        wal_level = conn.exec_driver_sql("SHOW wal_level").scalar_one()
        senders = int(conn.exec_driver_sql("SHOW max_wal_senders").scalar_one())
        if wal_level == "minimal" or senders < 2:
            raise ReplicaUnavailable(
                f"the primary has wal_level={wal_level}, max_wal_senders={senders}: set replica and 10"
                " and restart it (.ci/run does)"
            )
        allowed = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database) AND error IS NULL"
        ).scalar_one()
        if allowed:
            return
        hba = Path(conn.exec_driver_sql("SHOW hba_file").scalar_one())
        try:
            with hba.open("a") as file:
                file.write(f"\n{HBA_LINE}\n")
        except OSError as error:
            raise ReplicaUnavailable(
                f"the primary allows no replication connection; add '{HBA_LINE}' to {hba}"
            ) from error
        conn.exec_driver_sql("SELECT pg_reload_conf()")


def _as_owner() -> list[str]:
    # The server and pg_ctl refuse to run as root; as anyone else they run as whoever owns the files.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Replica:
    def __init__(self, primary_url: str, admin: sa.Engine) -> None:
        self.primary = sa.make_url(primary_url)
        self.admin = admin
        self.root = Path(tempfile.mkdtemp(prefix="dropnet-replica-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.url = self.primary.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)
        self._engine: sa.Engine | None = None

    # -- life cycle ------------------------------------------------------------------------------

    def create(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._base_backup()
        with self.admin.connect() as conn:
            floors = {name: conn.exec_driver_sql(f"SHOW {name}").scalar_one() for name in AT_LEAST_PRIMARY}
        # Debian keeps the primary's configuration in /etc: the copy has none of its own.
        settings = {
            **floors,
            "port": self.port,
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "hot_standby": "on",
            "hot_standby_feedback": "on",
            # No slot left behind on the shared primary if this process dies: the walreceiver's
            # slot lives as long as its connection.
            "wal_receiver_create_temp_slot": "on",
            "wal_receiver_status_interval": "1s",
            "fsync": "off",
            "shared_buffers": "128MB",
        }
        self._write("postgresql.conf", "".join(f"{k} = {v}\n" for k, v in settings.items()))
        self._write("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n")
        self._write("pg_ident.conf", "")
        self.start()

    def _base_backup(self) -> None:
        # Once more if it fails: on a shared server another test's pg_terminate_backend or a
        # restart may end the backup's connections midway (pg_basebackup removes its directory).
        for attempt in (1, 2):
            try:
                self._run(
                    str(PG_BIN / "pg_basebackup"),
                    f"--host={self.primary.host or '127.0.0.1'}",
                    f"--port={self.primary.port or 5432}",
                    f"--username={self.primary.username or 'postgres'}",
                    f"--pgdata={self.data}",
                    "--wal-method=stream",
                    "--write-recovery-conf",  # standby.signal and primary_conninfo
                    "--checkpoint=fast",
                    "--no-sync",  # a throwaway copy: fsync buys nothing
                )
                return
            except ReplicaUnavailable:
                if attempt == 2:
                    raise

    def start(self) -> None:
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "120",
            "start",
        )

    def stop(self) -> None:
        self.engine.dispose()
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def is_running(self) -> bool:
        status = subprocess.run(
            [*_as_owner(), str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            check=False,
        )
        return status.returncode == 0

    def remove(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        if self.data.exists() and self.is_running():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    # -- replication -----------------------------------------------------------------------------

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = sa.create_engine(
                self.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
            )
        return self._engine

    def sql(self, statement: str) -> object:
        with self.engine.connect() as conn:
            return conn.exec_driver_sql(statement).scalar()

    def pause(self) -> None:
        self.sql("SELECT pg_wal_replay_pause()")

    def resume(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")

    def wait_caught_up(self, timeout: float = 120.0) -> None:
        """Until the replica has replayed everything the primary had written when this was called."""
        with self.admin.connect() as conn:
            target = conn.exec_driver_sql("SELECT pg_current_wal_lsn()").scalar_one()
        deadline = time.monotonic() + timeout
        while True:
            behind = self.sql(
                f"SELECT pg_last_wal_replay_lsn() IS NULL OR pg_last_wal_replay_lsn() < '{target}'"
            )
            if not behind:
                return
            if time.monotonic() > deadline:
                raise ReplicaUnavailable(
                    f"the replica did not reach {target} in {timeout} s: {self.log_tail()}"
                )
            time.sleep(0.02)

    def log_tail(self) -> str:
        try:
            return "\n".join((self.root / "log").read_text().splitlines()[-20:])
        except OSError:
            return "(no log)"

    # -- helpers ---------------------------------------------------------------------------------

    def _write(self, name: str, text: str) -> None:
        path = self.data / name
        path.write_text(text)
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    def _run(self, *command: str) -> None:
        done = subprocess.run([*_as_owner(), *command], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ReplicaUnavailable(
                f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}\n{self.log_tail()}"
            )
