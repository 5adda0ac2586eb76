"""Real hub processes for PostgreSQL tests: `flask hub worker` and gunicorn on a test's schema."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parents[1]


def hub_env(
    pg_schema_url: tuple[str, dict], instance: Path, extra: Mapping[str, str], name: str = "hub"
) -> dict[str, str]:
    """The environment of a hub process on the test's schema (the caller's HUB_ settings dropped).

    Its connections carry `name` as their application_name, so a test can watch them in pg_stat_activity.
    """
    url, options = pg_schema_url
    search_path = options["connect_args"]["options"]
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        "DATABASE_URL": f"{url}?options={quote(search_path)}&application_name={quote(name)}",
        "SECRET_KEY": "test-secret",
        "HUB_INSTANCE_PATH": str(instance),
        **extra,
    }


def start_worker(pg_schema_url, tmp_path: Path, extra: Mapping[str, str], name: str = "worker"):
    """`flask --app wsgi hub worker`, every job and the webhook dispatcher, logging to tmp_path/<name>.log."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "hub", "worker"]
    env = hub_env(pg_schema_url, tmp_path, extra, name)
    with open(tmp_path / f"{name}.log", "ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(*processes: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM to all at once (each finishes its jobs in parallel), then SIGKILL to any not gone in time."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(pg_schema_url, tmp_path: Path, extra: Mapping[str, str], *, workers: int, threads: int = 4):
    """gunicorn serving wsgi:app with `workers` processes; yields its base URL once /healthz answers."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app",
    ]  # fmt: skip
    env = hub_env(pg_schema_url, tmp_path, {"HUB_RUN_WORKER": "0", **extra}, "gunicorn")
    with open(tmp_path / "gunicorn.log", "ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(base, process), 60, "gunicorn to answer /healthz")
        yield base
    finally:
        stop(process, timeout=30)


def _healthy(base: str, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"gunicorn exited with {process.returncode}")
    with contextlib.suppress(requests.RequestException):
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    return False


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, every: float = 0.05) -> None:
    """Poll `predicate` every `every` seconds (longer for one that queries much: it shares the CPU)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")
