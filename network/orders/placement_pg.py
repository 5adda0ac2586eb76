"""PostgreSQL's order intake in two statements after the read (placement.py decides what to reserve).

1. `claim`: the reservation (one conditional UPDATE of the position, for the usual order drawing on
   one variant), the ids of the order's rows from their sequences, and the row locks of the items
   whose availability the order moves, in id order, with their last published figure.
2. `write`: the order, its lines, purchase orders and lines, the stock ledger, the transition
   history and the order's events, one data-modifying CTE each, in one statement whose result is
   the moved items' source rows, read after the locks (availability's `publish_locked` takes them).

The ORM's unit of work is not involved: the rows are written from the values placement already
holds, and placement builds the returned objects from the same values. Both statements go through
the driver (`network.direct`), prepared once per connection, not through SQLAlchemy's execute path.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from network import direct
from network.availability.services import source_query
from network.orders import reserving
from network.orders.models import (
    OPEN,
    Order,
    OrderLine,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderTransition,
)
from network.outbox.events import DomainEvent
from network.outbox.services import event_arrays, events_from_arrays, noted
from network.stock.models import StockLedgerEntry


@dataclass(frozen=True, slots=True)
class Claimed:
    committed_after: dict[int, int]  # by variant
    order_id: int
    line_ids: list[int]
    po_ids: list[int]
    po_line_ids: list[int]
    # The locked items: (id, retailer_id, retailer_sku, updated_at, published_available), id order.
    items: list[tuple]


def claim(
    session: Session,
    totals: dict[int, int],
    buffers: dict[int, int],
    *,
    lines: int,
    pos: int,
    po_lines: int,
    item_ids: Sequence[int],
    now: dt.datetime,
) -> Claimed:
    """Reserve `totals` (units by variant), all or none; take the ids and the items' locks.

    Raises reserving.Lost (nothing reserved). Several variants are reserved one conditional update
    each, in variant order, inside a savepoint, as `placement._reserve_all` does.
    """
    params = {"lines": lines, "pos": pos, "po_lines": po_lines, "items": list(item_ids), "now": now}
    variant_ids = sorted(totals)
    if len(variant_ids) == 1:
        (variant_id,) = variant_ids
        quantity = totals[variant_id]
        rows = direct.run(
            session,
            _claim_statement(True),
            {**params, "variant_id": variant_id, "quantity": quantity, "buffer": buffers[variant_id]},
        )
        if not rows:
            raise reserving.Lost(variant_id)
        row = rows[0]
        committed_after = {variant_id: row[0]}
    else:
        committed_after = {}
        if variant_ids:
            with session.begin_nested():  # a later variant lost: undo the earlier ones
                committed_after = {
                    variant_id: reserving.reserve(
                        session, variant_id, totals[variant_id], buffers[variant_id], now
                    )
                    for variant_id in variant_ids
                }
        (row,) = direct.run(session, _claim_statement(False), params)
    _, order_id, line_ids, po_ids, po_line_ids, *locked = row
    items = list(zip(*(column or () for column in locked), strict=True))
    return Claimed(committed_after, order_id, line_ids, po_ids, po_line_ids, items)


@functools.cache
def _claim_statement(reserve: bool) -> direct.Direct:
    """The claim at `:variant_id`, `:quantity`, `:buffer` (when reserving here), `:lines`, `:pos`,
    `:po_lines` (how many ids of each), `:items` (to lock) and `:now`; no row when the units are gone.

    The items' locks come after the position's (the order every writer takes them in): the item
    CTE waits for the reservation (EXISTS on it), and takes nothing when it changed nothing.
    """
    reserved = (
        "UPDATE stock_positions SET committed = committed + CAST(:quantity AS integer), updated_at = :now"
        " WHERE variant_id = :variant_id"
        " AND quantity - committed - CAST(:buffer AS integer) >= CAST(:quantity AS integer)"
        " RETURNING committed"
        if reserve
        else "SELECT CAST(NULL AS integer) AS committed"
    )
    text = sa.text(
        f"""
        WITH r AS ({reserved}),
        locked AS (
            SELECT id, retailer_id, retailer_sku, updated_at, published_available FROM retailer_items
            WHERE id = ANY(CAST(:items AS integer[])) AND EXISTS (SELECT FROM r)
            ORDER BY id FOR UPDATE
        )
        SELECT r.committed,
            nextval('orders_id_seq') AS order_id,
            ARRAY(SELECT nextval('order_lines_id_seq') FROM generate_series(1, CAST(:lines AS integer)))
                AS line_ids,
            ARRAY(SELECT nextval('purchase_orders_id_seq') FROM generate_series(1, CAST(:pos AS integer)))
                AS po_ids,
            ARRAY(SELECT nextval('purchase_order_lines_id_seq')
                FROM generate_series(1, CAST(:po_lines AS integer))) AS po_line_ids,
            (SELECT array_agg(id ORDER BY id) FROM locked) AS item_ids,
            (SELECT array_agg(retailer_id ORDER BY id) FROM locked) AS retailer_ids,
            (SELECT array_agg(retailer_sku ORDER BY id) FROM locked) AS skus,
            (SELECT array_agg(updated_at ORDER BY id) FROM locked) AS updated,
            (SELECT array_agg(published_available ORDER BY id) FROM locked) AS published
        FROM r
        """
    )
    return direct.Direct(text, arrays=("items",))


def write(
    session: Session,
    order: Order,
    po_lines: Sequence[PurchaseOrderLine],
    ledger: Sequence[dict],
    history: Sequence[dict],
    events: Sequence[tuple[int, str, DomainEvent]],
    *,
    item_ids: Sequence[int],
    now: dt.datetime,
) -> list[tuple]:
    """Write the placed order's rows and events; return the source rows of `item_ids` (locked)."""
    lines = order.lines
    params = {
        "o_id": order.id,
        "o_retailer_id": order.retailer_id,
        "o_reference": order.reference,
        "o_status": order.status,
        "o_ship_to": json.dumps(order.ship_to),  # the text the JSON column's bind would send
        "o_allow_partial": order.allow_partial,
        "o_allow_split": order.allow_split,
        "ol_id": [line.id for line in lines],
        "ol_line_no": [line.line_no for line in lines],
        "ol_item_id": [line.item_id for line in lines],
        "ol_sku": [line.retailer_sku for line in lines],
        "ol_requested": [line.requested for line in lines],
        "ol_accepted": [line.accepted for line in lines],
        "po_id": [po.id for po in order.purchase_orders],
        "po_vendor_id": [po.vendor_id for po in order.purchase_orders],
        "pl_id": [line.id for line in po_lines],
        "pl_po_id": [line.po_id for line in po_lines],
        "pl_order_line_id": [line.order_line_id for line in po_lines],
        "pl_variant_id": [line.variant_id for line in po_lines],
        "pl_vendor_id": [line.vendor_id for line in po_lines],
        "pl_unit_cost": [line.unit_cost for line in po_lines],
        "pl_ordered": [line.ordered for line in po_lines],
        "lg_variant_id": [row["variant_id"] for row in ledger],
        "lg_changes": [json.dumps(row["changes"]) for row in ledger],
        "lg_po_line_id": [row["po_line_id"] for row in ledger],
        "tr_po_id": [row["po_id"] for row in history],
        "tr_po_line_id": [row["po_line_id"] for row in history],
        "tr_quantity": [row["quantity"] for row in history],
        "ids": list(item_ids),
        **event_arrays(events, now),
    }
    rows = direct.run(session, _write_statement(bool(item_ids)), params)
    noted(session)
    return rows


def _arrays(name: str, **columns: sa.types.TypeEngine) -> sa.TableValuedAlias:
    """`unnest` of parallel array parameters `<name>_<column>`, as a table with an ordinal `n`."""
    return (
        sa.func.unnest(
            *(
                sa.bindparam(f"{name}_{column}", type_=postgresql.ARRAY(type_))
                for column, type_ in columns.items()
            )
        )
        .table_valued(*columns, with_ordinality="n")
        .render_derived(name=name)
    )


def _insert(table: sa.Table, rows: sa.TableValuedAlias, **values: sa.ColumnElement) -> sa.CTE:
    select = sa.select(*values.values()).select_from(rows).order_by(rows.c.n)
    return table.insert().from_select([table.c[name] for name in values], select).cte(f"w_{table.name}")


@functools.cache
def _write_statement(with_sources: bool) -> direct.Direct:
    """`write`'s statement, built once: one insert CTE per table, then the sources (or nothing)."""
    now = sa.bindparam("now", type_=sa.DateTime(timezone=True))
    retailer_id = sa.bindparam("o_retailer_id", type_=sa.Integer)
    order_id = sa.bindparam("o_id", type_=sa.Integer)
    orders = Order.__table__.insert().values(
        id=order_id,
        retailer_id=retailer_id,
        reference=sa.bindparam("o_reference", type_=sa.String),
        status=sa.bindparam("o_status", type_=sa.String),
        ship_to=sa.bindparam("o_ship_to", type_=sa.JSON),
        allow_partial=sa.bindparam("o_allow_partial", type_=sa.Boolean),
        allow_split=sa.bindparam("o_allow_split", type_=sa.Boolean),
        created_at=now,
        updated_at=now,
    )
    ol = _arrays(
        "ol",
        id=sa.Integer,
        line_no=sa.Integer,
        item_id=sa.Integer,
        sku=sa.String,
        requested=sa.Integer,
        accepted=sa.Integer,
    )
    po = _arrays("po", id=sa.Integer, vendor_id=sa.Integer)
    pl = _arrays(
        "pl",
        id=sa.Integer,
        po_id=sa.Integer,
        order_line_id=sa.Integer,
        variant_id=sa.Integer,
        vendor_id=sa.Integer,
        unit_cost=sa.Numeric(12, 4),
        ordered=sa.Integer,
    )
    lg = _arrays("lg", variant_id=sa.Integer, changes=sa.Text, po_line_id=sa.Integer)
    tr = _arrays("tr", po_id=sa.Integer, po_line_id=sa.Integer, quantity=sa.Integer)
    zero, no_time = sa.literal(0), sa.null()
    ctes = [
        orders.cte("w_orders"),
        _insert(
            OrderLine.__table__,
            ol,
            id=ol.c.id,
            order_id=order_id,
            line_no=ol.c.line_no,
            item_id=ol.c.item_id,
            retailer_sku=ol.c.sku,
            requested=ol.c.requested,
            accepted=ol.c.accepted,
        ),
        _insert(
            PurchaseOrder.__table__,
            po,
            id=po.c.id,
            order_id=order_id,
            retailer_id=retailer_id,
            vendor_id=po.c.vendor_id,
            status=sa.literal(OPEN),
            created_at=now,
            updated_at=now,
        ),
        _insert(
            PurchaseOrderLine.__table__,
            pl,
            id=pl.c.id,
            po_id=pl.c.po_id,
            order_line_id=pl.c.order_line_id,
            variant_id=pl.c.variant_id,
            vendor_id=pl.c.vendor_id,
            unit_cost=pl.c.unit_cost,
            ordered=pl.c.ordered,
            cancelled=zero,
            rejected=zero,
            shipped=zero,
            returned=zero,
            acknowledged_at=no_time,
            last_shipped_at=no_time,
            status=sa.literal(OPEN),
            settled=sa.false(),
            updated_at=now,
        ),
        _insert(
            StockLedgerEntry.__table__,
            lg,
            variant_id=lg.c.variant_id,
            at=now,
            reason=sa.literal("reserve"),
            changes=sa.cast(lg.c.changes, sa.JSON),
            po_line_id=lg.c.po_line_id,
        ),
        _insert(
            PurchaseOrderTransition.__table__,
            tr,
            po_id=tr.c.po_id,
            po_line_id=tr.c.po_line_id,
            at=now,
            actor=sa.literal("org"),
            actor_org_id=retailer_id,
            action=sa.literal("create"),
            from_state=sa.literal(""),
            to_state=sa.literal(OPEN),
            quantity=tr.c.quantity,
            reason=sa.literal(""),
        ),
        events_from_arrays().cte("w_events"),
    ]
    result = source_query() if with_sources else sa.select(sa.literal(1))
    return direct.Direct(result.add_cte(*ctes))
