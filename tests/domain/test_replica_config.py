"""DATABASE_REPLICA_URL's configuration and the WAL positions read-your-writes compares."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from network.app import create_app
from network.config import load_config
from network.replica import parse_lsn

half = st.integers(min_value=0, max_value=2**32 - 1)


@given(half, half, half, half)
def test_wal_positions_compare_as_postgresql_orders_them(high1, low1, high2, low2):
    first, second = parse_lsn(f"{high1:X}/{low1:X}"), parse_lsn(f"{high2:X}/{low2:X}")
    assert (first < second) == ((high1, low1) < (high2, low2))
    assert first == (high1 << 32) + low1


def test_the_replica_is_set_from_the_environment_with_the_default_bound(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://reader@replica.internal/hub")
    config = load_config(str(tmp_path), None)
    assert config["DATABASE_REPLICA_URL"] == "postgresql+psycopg://reader@replica.internal/hub"
    assert (config["HUB_REPLICA_MAX_LAG_MS"], config["HUB_REPLICA_CHECK_MS"]) == (500, 100)

    monkeypatch.setenv("HUB_REPLICA_MAX_LAG_MS", "250")
    assert load_config(str(tmp_path), None)["HUB_REPLICA_MAX_LAG_MS"] == 250


def test_a_replica_of_a_sqlite_database_is_refused_at_start(tmp_path):
    with pytest.raises(RuntimeError, match="DATABASE_REPLICA_URL needs DATABASE_URL"):
        create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "x",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}",
                "DATABASE_REPLICA_URL": "postgresql://postgres@127.0.0.1:5432/x",
            }
        )
