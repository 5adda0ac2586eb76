"""What the benchmarks share: scratch databases, bulk seeding, a gunicorn server, memory, load, tables.

A benchmark script is a plain program run from the repository root (`python bench/<name>.py`);
it imports this module as `common` (its sibling). Set-up goes through this module and is never
measured; the figure a script reports is always printed next to a ceiling measured in the same
run on the same machine, because absolute numbers on a shared 2-core box mean little alone.

Environment:
    BENCH_PG_ADMIN_URL  a PostgreSQL database the scripts may CREATE/DROP scratch databases from
                        (default postgresql://postgres@127.0.0.1:5432/postgres)
    BENCH_DATABASE      the database holding the runs' scratch schemas (default dropnet_bench)
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from network.app import create_app
from network.catalog.models import ItemSource, RetailerItem, VendorVariant
from network.db import transaction
from network.extensions import db
from network.partners import services as partners
from network.stock.models import StockPosition

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET_KEY = "bench-secret-key-not-for-production"
INSERT_BATCH = 5000


# --- scratch databases ---------------------------------------------------------------------


def _plain_pg_url(url: str) -> str:
    """Return a libpq URL (psycopg.connect and psql do not take SQLAlchemy's `+psycopg`)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# The database the scratch schemas live in (BENCH_DATABASE: one of your own on a shared server).
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "dropnet_bench")


@contextlib.contextmanager
def scratch_postgres(label: str) -> Iterator[str]:
    """Create an empty schema for one run; yield a URL whose connections use only it; drop it afterwards.

    The schema lives in one benchmark database (created on first use, never dropped). A schema
    rather than a database per run: DROP DATABASE waits for a checkpoint (tens of seconds after a
    benchmark wrote gigabytes of WAL) while holding a transaction id, and that holds back every
    outbox reader on the cluster (network.outbox.services.visible_events), tests included.
    The URL works for SQLAlchemy (create_app) and for psycopg.connect alike.
    """
    admin = _plain_pg_url(PG_ADMIN_URL)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DATABASE,)).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    database = admin.rsplit("/", 1)[0] + "/" + BENCH_DATABASE
    schema = f"run_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{database}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '60s'")
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextlib.contextmanager
def scratch_sqlite(label: str) -> Iterator[str]:
    """Create a temporary directory holding a SQLite file; yield the file's URL and delete it afterwards."""
    directory = Path(tempfile.mkdtemp(prefix=f"dropnet_bench_{label}_"))
    try:
        yield f"sqlite:///{directory / 'hub.sqlite3'}"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def postgres_version() -> str:
    with psycopg.connect(_plain_pg_url(PG_ADMIN_URL)) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def build_hub(database_url: str, instance_path: Path) -> Flask:
    """Build the real app on a database (in this process, for set-up) and create the schema."""
    os.environ["HUB_INSTANCE_PATH"] = str(instance_path)
    app = create_app(
        {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "HUB_RUN_WORKER": False, "TESTING": False}
    )
    with app.app_context():
        db.create_all()
    return app


# --- bulk set-up (never measured) ------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """An organization of the seeded network with its OAuth client credentials."""

    id: int
    kind: str
    client_id: str
    secret: str


def make_party(session: Session, *, kind: str, name: str, now: dt.datetime) -> Party:
    """Create a retailer or vendor with an API client holding every scope of its side."""
    with transaction(session):
        org = partners.create_organization(session, kind=kind, name=name, now=now)
        client, secret = partners.create_api_client(session, org_id=org.id, now=now)
    return Party(org.id, kind, client.client_id, secret)


def connect(session: Session, retailer: Party, vendor: Party, *, now: dt.datetime, **terms: int) -> None:
    with transaction(session):
        partners.connect(session, retailer_id=retailer.id, vendor_id=vendor.id, now=now, **terms)


def _insert(session: Session, model: type, rows: Sequence[dict]) -> None:
    for start in range(0, len(rows), INSERT_BATCH):
        session.execute(sa.insert(model), rows[start : start + INSERT_BATCH])


def bulk_variants(
    session: Session,
    *,
    vendor_id: int,
    skus: Sequence[str],
    now: dt.datetime,
    quantity: int = 0,
    as_of: dt.datetime | None = None,
) -> dict[str, int]:
    """Insert variants with their stock positions in bulk; return variant ids by sku.

    The rows are what catalog.upsert_variant would create, written in batches because set-up
    of 100,000 variants one flush at a time would take longer than the benchmark itself.
    """
    with transaction(session):
        _insert(
            session,
            VendorVariant,
            [
                {
                    "vendor_id": vendor_id,
                    "vendor_sku": sku,
                    "title": f"Bench item {sku}",
                    "attributes": {},
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for sku in skus
            ],
        )
        ids = dict(
            session.execute(
                sa.select(VendorVariant.vendor_sku, VendorVariant.id).where(
                    VendorVariant.vendor_id == vendor_id
                )
            ).all()
        )
        _insert(
            session,
            StockPosition,
            [
                {
                    "variant_id": ids[sku],
                    "vendor_id": vendor_id,
                    "quantity": quantity,
                    "as_of": as_of,
                    "updated_at": now,
                }
                for sku in skus
            ],
        )
    return ids


def bulk_items(
    session: Session, *, retailer_id: int, items: Sequence[tuple[str, Sequence[int]]], now: dt.datetime
) -> dict[str, int]:
    """Insert retailer items with their sources (variant ids in priority order); return item ids by sku."""
    with transaction(session):
        _insert(
            session,
            RetailerItem,
            [
                {
                    "retailer_id": retailer_id,
                    "retailer_sku": sku,
                    "title": "",
                    "created_at": now,
                    "updated_at": now,
                }
                for sku, _ in items
            ],
        )
        ids = dict(
            session.execute(
                sa.select(RetailerItem.retailer_sku, RetailerItem.id).where(
                    RetailerItem.retailer_id == retailer_id
                )
            ).all()
        )
        _insert(
            session,
            ItemSource,
            [
                {"item_id": ids[sku], "variant_id": variant_id, "priority": priority}
                for sku, variant_ids in items
                for priority, variant_id in enumerate(variant_ids)
            ],
        )
    return ids


def analyze(session: Session) -> None:
    """Refresh planner statistics after bulk loading, as autovacuum would shortly."""
    with transaction(session):
        session.execute(sa.text("ANALYZE"))


# --- a gunicorn server on 127.0.0.1 ------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running gunicorn: its base URL, arbiter process and the settings it was started with."""

    base_url: str
    process: subprocess.Popen
    settings: str
    log_path: Path

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def gunicorn_settings(*, workers: int, worker_class: str = "sync", threads: int = 1) -> list[str]:
    """Return gunicorn's command-line options for a worker model (also used to describe it)."""
    options = ["--workers", str(workers), "--worker-class", worker_class]
    if worker_class == "gthread":
        options += ["--threads", str(threads)]
    return options


@contextlib.contextmanager
def gunicorn(
    app_module: str,
    *,
    database_url: str,
    instance_path: Path,
    options: Sequence[str],
    env: dict[str, str] | None = None,
    timeout: int = 600,
    startup_seconds: float = 60,
) -> Iterator[Server]:
    """Serve `app_module` (e.g. "wsgi:app") with gunicorn on a free 127.0.0.1 port until the block ends.

    The repository root and bench/ are on the server's Python path, so bench-only app modules
    under bench/ can be served too. Waits until GET /healthz answers 200.
    Raises RuntimeError (with the server's log) when it does not start.
    """
    port = free_port()
    log_path = instance_path / f"gunicorn-{port}.log"
    server_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "HUB_INSTANCE_PATH": str(instance_path),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(BENCH_DIR)]),
        **(env or {}),
    }
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(ROOT),
        "--timeout",
        str(timeout),
        "--log-level",
        "warning",
        *options,
        app_module,
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=server_env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, " ".join(options), log_path)
    try:
        _wait_for_health(server, startup_seconds)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_health(server: Server, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            if requests.get(server.base_url + "/healthz", timeout=10).status_code == 200:
                return
        except requests.RequestException:
            pass  # not listening yet, or still importing the app
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer /healthz within {seconds} s:\n{server.log_tail()}")


# --- memory of a process tree -------------------------------------------------------------


def child_pids(pid: int) -> list[int]:
    """Return the direct children of a process (gunicorn's workers, for its arbiter)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        children.extend(int(child) for child in text)
    return sorted(children)


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(f"{key} not in /proc/{pid}/status")


def rss_bytes(pids: Iterable[int]) -> int:
    """Return the resident memory of the processes now (VmRSS, summed)."""
    return sum(_status_kib(pid, "VmRSS") for pid in pids) * 1024


def peak_rss_bytes(pids: Iterable[int]) -> int:
    """Return the processes' peak resident memory since start or the last reset (VmHWM, summed)."""
    return sum(_status_kib(pid, "VmHWM") for pid in pids) * 1024


def reset_peak_rss(pids: Iterable[int]) -> None:
    """Restart the processes' peak-RSS counters from their current RSS (Linux: clear_refs "5")."""
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")


@contextlib.contextmanager
def py_spy(pid: int, output: Path, *, rate: int = 200) -> Iterator[None]:
    """Sample a process with py-spy (pip install py-spy) while the block runs.

    Writes collapsed stacks (one "frame;frame;... count" line per stack): open the file at
    https://www.speedscope.app, feed it to flamegraph.pl, or sum it with `summarize_profile`.
    """
    executable = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    # --idle: count time spent waiting (on the database, the network) too, so shares are of wall time.
    command = [executable, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw", "--idle"]
    process = subprocess.Popen([*command, "--output", str(output)], stdout=subprocess.DEVNULL)
    time.sleep(1)  # let it attach before the measured work starts
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def summarize_profile(path: Path, *, top: int = 25) -> str:
    """Return the functions that most samples were inside (inclusive share) from a collapsed-stack file."""
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        for frame in set(stack.split(";")):
            inclusive[frame] = inclusive.get(frame, 0) + samples
    ranked = sorted(inclusive.items(), key=lambda item: -item[1])[:top]
    return "\n".join(f"{samples / total:6.1%}  {frame}" for frame, samples in ranked)


# --- HTTP ----------------------------------------------------------------------------------


def issue_token(base_url: str, party: Party) -> str:
    """Get a bearer token through the real POST /oauth/token (HTTP Basic client authentication)."""
    basic = base64.b64encode(f"{party.client_id}:{party.secret}".encode()).decode()
    response = requests.post(
        base_url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["access_token"]


@dataclass(frozen=True)
class LoadResult:
    """What a load run measured: throughput, latency percentiles and failures."""

    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int  # answers other than 2xx/3xx
    socket_errors: int = 0  # connect/read/write errors, and requests without an answer in 30 s


_WRK_SCRIPT = """
local count = %(count)d
local first = %(first)d
local template = %(template)s
wrk.method = %(method)s
%(headers)s
math.randomseed(%(seed)d)

request = function()
  return wrk.format(nil, string.format(template, first + math.random(0, count - 1)))
end

done = function(summary, latency, requests)
  local socket = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    "WRK_JSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, " ..
    "\\"p99_us\\": %%d, \\"errors\\": %%d, \\"socket_errors\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status, socket))
end
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII text is a valid Lua string literal


def run_wrk(
    base_url: str,
    *,
    path_template: str,
    first: int,
    count: int,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    connections: int = 32,
    threads: int = 2,
    seconds: int = 15,
) -> LoadResult:
    """Load a server with wrk; each request's path is `path_template` formatted with one integer.

    `path_template` is a Lua/C format such as "/items?sku=SKU-%06d"; the integer is drawn at
    random from first..first+count-1 (a fixed seed, so runs draw the same sequence).

    Every connection keeps one request in flight (a closed loop), so the latency is per request
    under that concurrency. A non-2xx/3xx answer counts in `errors`; a socket error or a request
    without an answer within 30 s in `socket_errors`.
    Raises RuntimeError when wrk is not installed (`apt-get install -y wrk`) or prints no summary.
    """
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    lua_headers = "\n".join(
        f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}" for name, value in (headers or {}).items()
    )
    script = _WRK_SCRIPT % {
        "count": count,
        "first": first,
        "template": _lua_string(path_template),
        "method": _lua_string(method),
        "headers": lua_headers,
        "seed": 42,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        completed = subprocess.run(
            [
                "wrk",
                "-t",
                str(threads),
                "-c",
                str(connections),
                "-d",
                f"{seconds}s",
                "--timeout",
                "30s",
                "-s",
                handle.name,
                base_url,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(handle.name)
    for line in completed.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            data = json.loads(line[len("WRK_JSON ") :])
            duration = data["duration_us"] / 1e6
            return LoadResult(
                requests=data["requests"],
                seconds=duration,
                requests_per_second=data["requests"] / duration,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                errors=data["errors"],
                socket_errors=data["socket_errors"],
            )
    raise RuntimeError(f"wrk printed no summary:\n{completed.stdout}\n{completed.stderr}")


# --- reporting -----------------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


@dataclass(frozen=True)
class Row:
    """One line of a result table: a figure, optionally next to its same-run ceiling."""

    label: str
    figure: float
    unit: str
    ceiling: float | None = None
    notes: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return None if not self.ceiling else self.figure / self.ceiling


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def format_table(rows: Sequence[Row]) -> str:
    """Render rows as a Markdown table (figure / ceiling / ratio, then any extra columns)."""
    extra_names = [name for row in rows for name in row.extra if name]
    extra_names = list(dict.fromkeys(extra_names))
    header = ["case", "figure", "ceiling", "ratio", *extra_names, "notes"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        cells = [
            row.label,
            f"{_number(row.figure)} {row.unit}",
            f"{_number(row.ceiling)} {row.unit}" if row.ceiling else "",
            f"{row.ratio:.0%}" if row.ratio is not None else "",
            *(row.extra.get(name, "") for name in extra_names),
            row.notes,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_table(title: str, rows: Sequence[Row]) -> None:
    print(f"\n## {title}\n")
    print(format_table(rows))
    print(flush=True)


def megabytes(size: float) -> str:
    return f"{size / 2**20:,.1f} MiB"


def machine() -> str:
    """Describe the machine a figure was measured on."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}, "
        f"load average {load} (1/5/15 min)"
    )
