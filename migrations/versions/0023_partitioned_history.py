"""History partitioned by month on PostgreSQL (issue 20): the stock ledger, outbox events, webhook
deliveries and feed runs

PostgreSQL: each table is rebuilt as `PARTITION BY RANGE (<creation time>)` with one partition per
month its rows span, the next HUB_PARTITION_MONTHS_AHEAD-many (2 here), and a default partition;
its rows are copied and its id sequence carries on (ids stay unique across partitions,
cursors by id keep working). Every unique index of a partitioned table must contain the partition
key, so the primary keys become (id, <time>), `uq_events_seq` is (seq, created_at) and a delivery's
unique key is (event_id, endpoint_id, created_at), which the fan-out keeps one row per (event,
endpoint) by giving an event's deliveries the event's created_at (rows written before keep theirs:
the key they had was unique already). The rebuild holds each table exclusively while it copies:
plan the downtime by the tables' sizes (about 1 GB a minute on a quiet server).

Foreign keys that refer to a partitioned table must name its whole primary key, and the tables that
referred to these ones have no creation-time column to add to theirs, so those keys go, on both
backends: webhook_deliveries.event_id and vendor_notice_claims.event_id (events) and
feed_run_payloads.run_id (feed runs). The retention job (network/history/retention.py) keeps what
they pointed to while it is needed and deletes a dropped month's raw files itself.

SQLite keeps plain tables; it takes the same unique keys and loses the same foreign keys.

Down again, the tables are rebuilt plain with their rows; rows whose event or run the retention
dropped meanwhile (deliveries, notice claims, raw files) are deleted so the foreign keys can return.

Revision ID: 0023_partitioned_history
Revises: 0022_automatic_channel_buffer
"""

import datetime as dt
from dataclasses import dataclass

from alembic import op

revision = "0023_partitioned_history"
down_revision = "0022_automatic_channel_buffer"
branch_labels = None
depends_on = None

MONTHS_AHEAD = 2


@dataclass(frozen=True)
class History:
    name: str
    key: str
    # (name, definition) of the indexes and constraints after the rebuild, and before it (down).
    indexes: tuple[tuple[str, str], ...]
    plain_indexes: tuple[tuple[str, str], ...]
    foreign_keys: tuple[tuple[str, str], ...]


_LEDGER = History(
    "stock_ledger",
    "at",
    (("ix_stock_ledger_variant_id", "CREATE INDEX {name} ON {table} (variant_id)"),),
    (),
    (
        (
            "fk_stock_ledger_variant_id_vendor_variants",
            "FOREIGN KEY (variant_id) REFERENCES vendor_variants (id) ON DELETE CASCADE",
        ),
    ),
)
_EVENTS = History(
    "events",
    "created_at",
    (
        ("ix_events_org_seq", "CREATE INDEX {name} ON {table} (org_id, seq)"),
        ("ix_events_org_type_id", "CREATE INDEX {name} ON {table} (org_id, type, id)"),
        ("ix_events_txid_id", "CREATE INDEX {name} ON {table} (txid, id)"),
        ("ix_events_unsequenced", "CREATE INDEX {name} ON {table} (id) WHERE seq IS NULL"),
        ("uq_events_seq", "CREATE UNIQUE INDEX {name} ON {table} (seq, created_at)"),
    ),
    (("uq_events_seq", "CREATE UNIQUE INDEX {name} ON {table} (seq)"),),
    (("fk_events_org_id_organizations", "FOREIGN KEY (org_id) REFERENCES organizations (id) ON DELETE CASCADE"),),
)
_DELIVERIES = History(
    "webhook_deliveries",
    "created_at",
    (
        ("ix_webhook_deliveries_endpoint_status_id", "CREATE INDEX {name} ON {table} (endpoint_id, status, id)"),
        ("ix_webhook_deliveries_status_next", "CREATE INDEX {name} ON {table} (status, next_attempt_at)"),
        (
            "uq_webhook_deliveries_event_id_endpoint_id_created_at",
            "ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE (event_id, endpoint_id, created_at)",
        ),
    ),
    (
        (
            "uq_webhook_deliveries_event_id_endpoint_id",
            "ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE (event_id, endpoint_id)",
        ),
    ),
    (
        (
            "fk_webhook_deliveries_endpoint_id_webhook_endpoints",
            "FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints (id) ON DELETE CASCADE",
        ),
    ),
)
_FEED_RUNS = History(
    "feed_runs",
    "received_at",
    (
        ("ix_feed_runs_feed_id", "CREATE INDEX {name} ON {table} (feed_id)"),
        ("ix_feed_runs_queued", "CREATE INDEX {name} ON {table} (vendor_id, id) WHERE status = 'queued'"),
        ("ix_feed_runs_vendor_id_id", "CREATE INDEX {name} ON {table} (vendor_id, id)"),
    ),
    (),
    (("fk_feed_runs_vendor_id_organizations", "FOREIGN KEY (vendor_id) REFERENCES organizations (id) ON DELETE CASCADE"),),
)
HISTORY = (_LEDGER, _EVENTS, _DELIVERIES, _FEED_RUNS)

# (table, foreign key, column, referred table) of the keys that referred to the rebuilt tables.
REFERRING = (
    ("webhook_deliveries", "fk_webhook_deliveries_event_id_events", "event_id", "events"),
    ("vendor_notice_claims", "fk_vendor_notice_claims_event_id_events", "event_id", "events"),
    ("feed_run_payloads", "fk_feed_run_payloads_run_id_feed_runs", "run_id", "feed_runs"),
)


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if not _is_postgres():
        _upgrade_sqlite()
        return
    for table, constraint, _, _ in REFERRING:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
    now = dt.datetime.now(dt.UTC)
    for history in HISTORY:
        _partition(history, now)


def _month(moment: dt.datetime, add: int = 0) -> dt.datetime:
    index = moment.year * 12 + moment.month - 1 + add
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


def _partition(history: History, now: dt.datetime) -> None:
    table, old = history.name, f"{history.name}_unpartitioned"
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    op.execute(
        f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        f" PARTITION BY RANGE ({history.key})"
    )
    oldest = op.get_bind().exec_driver_sql(f"SELECT min({history.key}) FROM {old}").scalar()
    month, last = _month(min(oldest or now, now)), _month(now, MONTHS_AHEAD)
    while month <= last:
        upper = _month(month, 1)
        op.execute(
            f"CREATE TABLE {table}_p{month:%Y%m} PARTITION OF {table}"
            f" FOR VALUES FROM ('{month.isoformat()}') TO ('{upper.isoformat()}')"
        )
        month = upper
    op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    # The id sequence moves to the new table before the old one (which owns it) is dropped.
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
    op.execute(f"DROP TABLE {old}")
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id, {history.key})")
    _finish(table, history.indexes, history.foreign_keys)


def _finish(table: str, indexes, foreign_keys) -> None:  # noqa: ANN001
    for name, definition in indexes:
        op.execute(definition.format(name=name, table=table))
    for name, definition in foreign_keys:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")


def _upgrade_sqlite() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch_op:
        batch_op.drop_constraint("fk_webhook_deliveries_event_id_events", type_="foreignkey")
        batch_op.drop_constraint("uq_webhook_deliveries_event_id_endpoint_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_webhook_deliveries_event_id_endpoint_id_created_at", ["event_id", "endpoint_id", "created_at"]
        )
    for table, constraint, _, _ in REFERRING[1:]:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(constraint, type_="foreignkey")
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_index("uq_events_seq")
        batch_op.create_index("uq_events_seq", ["seq", "created_at"], unique=True)


def downgrade():
    if not _is_postgres():
        _downgrade_sqlite()
        return
    for history in HISTORY:
        _unpartition(history)
    for table, constraint, column, referred in REFERRING:
        op.execute(
            f"DELETE FROM {table} t WHERE t.{column} IS NOT NULL"
            f" AND NOT EXISTS (SELECT 1 FROM {referred} r WHERE r.id = t.{column})"
        )
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {constraint}"
            f" FOREIGN KEY ({column}) REFERENCES {referred} (id) ON DELETE CASCADE"
        )


def _unpartition(history: History) -> None:
    table, old = history.name, f"{history.name}_partitioned"
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
    op.execute(f"DROP TABLE {old}")  # and its partitions
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id)")
    plain = dict(history.indexes) | dict(history.plain_indexes)
    plain.pop("uq_webhook_deliveries_event_id_endpoint_id_created_at", None)
    _finish(table, tuple(plain.items()), history.foreign_keys)


def _downgrade_sqlite() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_index("uq_events_seq")
        batch_op.create_index("uq_events_seq", ["seq"], unique=True)
    for table, constraint, column, referred in REFERRING:
        op.execute(
            f"DELETE FROM {table} WHERE {column} IS NOT NULL"
            f" AND NOT EXISTS (SELECT 1 FROM {referred} r WHERE r.id = {table}.{column})"
        )
    with op.batch_alter_table("webhook_deliveries") as batch_op:
        batch_op.drop_constraint("uq_webhook_deliveries_event_id_endpoint_id_created_at", type_="unique")
        batch_op.create_unique_constraint("uq_webhook_deliveries_event_id_endpoint_id", ["event_id", "endpoint_id"])
        batch_op.create_foreign_key(
            "fk_webhook_deliveries_event_id_events", "events", ["event_id"], ["id"], ondelete="CASCADE"
        )
    for table, constraint, column, referred in REFERRING[1:]:
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_foreign_key(constraint, referred, [column], ["id"], ondelete="CASCADE")
