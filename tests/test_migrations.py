"""The Alembic migrations build exactly the schema the models describe, on each backend."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from network.extensions import db
from network.partitions import is_partition


def _migrated_drift(app) -> list:
    db.drop_all()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(directory=app.extensions["migrate"].directory, revision="heads")
    with db.engine.connect() as conn:
        # Month partitions are the maintenance job's tables, not the models' (migrations/env.py).
        opts = {
            "compare_type": True,
            "include_name": lambda name, type_, _: not (type_ == "table" and is_partition(name, db.metadata)),
        }
        context = MigrationContext.configure(conn, opts=opts)
        with warnings.catch_warnings():
            # SQLite cannot reflect expression indexes; the models' one is PostgreSQL's only
            # (ddl_if), and PostgreSQL compares it.
            warnings.filterwarnings(
                "ignore", "autogenerate skipping metadata-specified expression-based index"
            )
            return compare_metadata(context, db.metadata)


def test_migrations_match_the_models(app):
    assert _migrated_drift(app) == []


def test_migrations_downgrade_to_nothing_and_back(app):
    _migrated_drift(app)
    downgrade(directory=app.extensions["migrate"].directory, revision="base")
    assert set(db.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(directory=app.extensions["migrate"].directory, revision="heads")
    assert "stock_positions" in db.inspect(db.engine).get_table_names()


def test_channel_buffers_of_zero_become_automatic_and_come_back_as_zero(app):
    """0022: a stored 0 (the old default, which held nothing back) becomes null (automatic, the
    same figures on the fixed model); a positive buffer stays the override it was."""
    import datetime as dt

    import sqlalchemy as sa

    from network.outbox.models import WebhookEndpoint
    from network.partners.models import Organization

    directory = app.extensions["migrate"].directory
    _migrated_drift(app)
    downgrade(directory=directory, revision="0021_likely_short_flags")
    now = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    endpoints = WebhookEndpoint.__table__
    with db.engine.begin() as conn:
        org = conn.execute(
            Organization.__table__.insert().values(
                kind="retailer", name="R", auto_reroute=False, created_at=now
            )
        ).inserted_primary_key[0]
        for buffer in (0, 2):
            conn.execute(
                endpoints.insert().values(
                    org_id=org,
                    url=f"https://example.com/{buffer}",
                    events=["*"],
                    description="",
                    secret_sealed="x",
                    min_interval_seconds=600,
                    buffer=buffer,
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
            )

    def buffers() -> list:
        with db.engine.connect() as conn:
            return list(conn.scalars(sa.select(endpoints.c.buffer).order_by(endpoints.c.url)))

    upgrade(directory=directory, revision="heads")
    assert buffers() == [None, 2]
    downgrade(directory=directory, revision="0021_likely_short_flags")
    assert buffers() == [0, 2]
    upgrade(directory=directory, revision="heads")


def test_history_rows_survive_partitioning_and_back(app):
    """0023: existing ledger entries, events, deliveries and feed runs (with a raw file) are kept,
    on PostgreSQL in their month's partition, and new rows take ids after theirs (one sequence)."""
    import datetime as dt

    import sqlalchemy as sa

    from network.catalog.models import VendorVariant
    from network.feeds.models import FeedRun, FeedRunPayload
    from network.outbox.models import Delivery, Event, WebhookEndpoint
    from network.partners.models import Organization
    from network.stock.models import StockLedgerEntry

    directory = app.extensions["migrate"].directory
    _migrated_drift(app)
    downgrade(directory=directory, revision="0022_automatic_channel_buffer")
    at = dt.datetime(2026, 10, 15, 12, tzinfo=dt.UTC)
    history = {
        "stock_ledger": StockLedgerEntry,
        "events": Event,
        "webhook_deliveries": Delivery,
        "feed_runs": FeedRun,
    }

    def add(conn, model, **values) -> int:
        return conn.execute(model.__table__.insert().values(**values)).inserted_primary_key[0]

    def ledger_entry(conn, variant: int) -> int:
        return add(conn, StockLedgerEntry, variant_id=variant, at=at, reason="feed", changes={})

    with db.engine.begin() as conn:
        org = add(conn, Organization, kind="vendor", name="V", auto_reroute=False, created_at=at)
        variant = add(
            conn, VendorVariant, vendor_id=org, vendor_sku="S", title="T", created_at=at, updated_at=at
        )
        endpoint = add(
            conn,
            WebhookEndpoint,
            org_id=org,
            url="https://example.com",
            events=["*"],
            secret_sealed="x",
            created_at=at,
            updated_at=at,
        )
        ledger_entry(conn, variant)
        event = add(conn, Event, org_id=org, type="x", data={}, created_at=at, seq=1)
        add(
            conn,
            Delivery,
            endpoint_id=endpoint,
            event_id=event,
            type="x",
            next_attempt_at=at,
            retry_until=at,
            created_at=at,
        )
        run = add(conn, FeedRun, vendor_id=org, transport="push", status="applied", received_at=at)
        add(conn, FeedRunPayload, run_id=run, content_type="text/csv", size=1, gzipped=b"x")

    def ids() -> dict[str, list[int]]:
        with db.engine.connect() as conn:
            return {
                name: list(conn.scalars(sa.text(f"SELECT id FROM {name} ORDER BY id"))) for name in history
            }

    before = ids()
    assert all(len(found) == 1 for found in before.values())
    upgrade(directory=directory, revision="heads")
    assert ids() == before
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            for name in history:
                where = conn.scalar(sa.text(f"SELECT tableoid::regclass::text FROM {name}"))
                assert where == f"{name}_p202610"
        assert conn.scalar(sa.text("SELECT count(*) FROM feed_run_payloads")) == 1
        assert ledger_entry(conn, variant) > before["stock_ledger"][0]
    downgrade(directory=directory, revision="0022_automatic_channel_buffer")
    after = ids()
    assert {name: after[name] for name in ("events", "webhook_deliveries", "feed_runs")} == {
        name: before[name] for name in ("events", "webhook_deliveries", "feed_runs")
    }
    assert len(after["stock_ledger"]) == 2
    upgrade(directory=directory, revision="heads")


def test_lines_settled_before_their_count_saw_the_shipment_are_unsettled(app):
    """0026: a shipped line that an `available` count reflected (acknowledged) but that shipped
    after the position's as-of was settled by the old rule; a later `on_hand` count dated before
    the shipment still counts it, so it is un-settled. A line shipped before the count, and one
    with no live units, stay settled."""
    import datetime as dt

    import sqlalchemy as sa

    from network.catalog.models import VendorVariant
    from network.orders.models import (
        Order,
        OrderLine,
        PurchaseOrder,
        PurchaseOrderLine,
        Shipment,
        ShipmentLine,
    )
    from network.partners.models import Organization
    from network.stock.models import StockPosition, StockSnapshot

    directory = app.extensions["migrate"].directory
    _migrated_drift(app)
    downgrade(directory=directory, revision="0025_outbox_sequence")
    at = dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC)

    def add(conn, model, **values) -> int:
        return conn.execute(model.__table__.insert().values(**values)).inserted_primary_key[0]

    with db.engine.begin() as conn:
        vendor = add(conn, Organization, kind="vendor", name="V", auto_reroute=False, created_at=at)
        retailer = add(conn, Organization, kind="retailer", name="R", auto_reroute=False, created_at=at)
        variant = add(
            conn, VendorVariant, vendor_id=vendor, vendor_sku="S", title="T", created_at=at, updated_at=at
        )
        # The position's own count is 09:00; the vendor's last full snapshot 09:10 (effective: 09:10).
        add(conn, StockPosition, variant_id=variant, vendor_id=vendor, as_of=at, updated_at=at)
        add(conn, StockSnapshot, vendor_id=vendor, as_of=at.replace(minute=10), applied_at=at)
        order = add(
            conn,
            Order,
            retailer_id=retailer,
            reference="O",
            status="accepted",
            ship_to={},
            created_at=at,
            updated_at=at,
        )
        order_line = add(
            conn, OrderLine, order_id=order, line_no=1, retailer_sku="R", requested=6, accepted=6
        )
        po = add(
            conn,
            PurchaseOrder,
            order_id=order,
            retailer_id=retailer,
            vendor_id=vendor,
            created_at=at,
            updated_at=at,
        )
        lines = {}
        for name, shipped_at, cancelled in (
            ("shipped after the count", at.replace(minute=20), 0),
            ("shipped before the count", at.replace(minute=5), 0),
            ("cancelled", None, 2),
        ):
            lines[name] = add(
                conn,
                PurchaseOrderLine,
                po_id=po,
                order_line_id=order_line,
                variant_id=variant,
                vendor_id=vendor,
                ordered=2,
                cancelled=cancelled,
                shipped=0 if shipped_at is None else 2,
                acknowledged_at=at.replace(minute=1),
                last_shipped_at=shipped_at,
                status="cancelled" if shipped_at is None else "shipped",
                settled=True,
                updated_at=at,
            )
            if shipped_at is not None:
                shipment = add(
                    conn, Shipment, po_id=po, carrier="c", tracking_number=name, shipped_at=shipped_at
                )
                add(conn, ShipmentLine, shipment_id=shipment, po_line_id=lines[name], quantity=2)

    def settled() -> dict:
        table = PurchaseOrderLine.__table__
        with db.engine.connect() as conn:
            by_id = dict(conn.execute(sa.select(table.c.id, table.c.settled)).all())
        return {name: by_id[line_id] for name, line_id in lines.items()}

    upgrade(directory=directory, revision="heads")
    assert settled() == {
        "shipped after the count": False,
        "shipped before the count": True,
        "cancelled": True,
    }
    downgrade(directory=directory, revision="0025_outbox_sequence")
    assert settled()["shipped after the count"] is False  # nothing to undo
    upgrade(directory=directory, revision="heads")


def test_read_marks_are_unlogged_on_postgresql_however_the_schema_is_made(app):
    """0027 and create_all: replica_read_marks writes no WAL on PostgreSQL (network/read_marks.py);
    a plain table on SQLite."""
    import sqlalchemy as sa

    def persistence() -> str | None:
        with db.engine.connect() as conn:
            return conn.scalar(
                sa.text(
                    "SELECT relpersistence FROM pg_class"
                    " WHERE oid = to_regclass(current_schema() || '.replica_read_marks')"
                )
            )

    if db.engine.dialect.name != "postgresql":
        _migrated_drift(app)
        assert "replica_read_marks" in db.inspect(db.engine).get_table_names()
        return
    assert persistence() == "u"  # create_all
    _migrated_drift(app)
    assert persistence() == "u"  # the migration
