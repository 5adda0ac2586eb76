"""What the hub sends a trading partner: an 850 per purchase order, an 860 when the retailer cancels
units of one, a 997 per interchange received; and the flag when an 850's 997 never comes.

Files are written here (kept raw, `pending`) in the same transaction as the control numbers they
use; the transport pushes pending files afterwards (network/edi/mailbox.py), so a failed push
resends the same bytes and numbers, never new ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from network.edi.pc860 import ChangeLine, write_860
from network.edi.po850 import Po850, PoLine, ShipTo, write_850
from network.edi.x12 import write_interchange
from network.flags.models import EDI_UNACKNOWLEDGED
from network.flags.services import line_ref, open_flags, raise_flag, resolve_flags
from network.orders.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderTransition
from network.partners.models import Connection
from network.trading import partners as setup
from network.trading.models import OUT, PENDING, EdiFile, EdiPurchaseOrder, TradingPartner

FUNCTIONAL_IDS = {"850": "PO", "860": "PC", "997": "FA"}


def po_number(po: PurchaseOrder) -> str:
    """Our PO number in BEG03 (and what 855/856/810 name in BAK03/PRF01/BIG04): the hub's PO id."""
    return str(po.id)


def line_numbers(po: PurchaseOrder) -> dict[int, PurchaseOrderLine]:
    """PO101 -> line: a line's position in the purchase order, 1-based, in id order."""
    return {index: line for index, line in enumerate(sorted(po.lines, key=lambda line: line.id), start=1)}


def to_850(po: PurchaseOrder, connection: Connection | None) -> Po850:
    """The 850 for a purchase order: ship-to, lines with part number and GTIN, the SLA dates."""
    ship = po.order.ship_to or {}
    lines = tuple(
        PoLine(
            line_no=number,
            quantity=line.ordered,
            vendor_part=line.variant.vendor_sku,
            unit_cost=line.unit_cost,
            gtin=line.variant.gtin or None,
            retailer_sku=line.order_line.retailer_sku,
        )
        for number, line in line_numbers(po).items()
    )
    ack_hours = connection.ack_sla_hours if connection else 24
    ship_hours = connection.ship_sla_hours if connection else 72
    return Po850(
        po_number=po_number(po),
        order_date=po.created_at.date(),
        retailer_reference=po.order.reference,
        ship_to=ShipTo(
            name=str(ship.get("name", "")),
            address1=str(ship.get("address1", "")),
            city=str(ship.get("city", "")),
            postal_code=str(ship.get("postal_code", "")),
            country=str(ship.get("country", "")),
            state=str(ship.get("region", ""))[:2],
        ),
        lines=lines,
        ack_by=po.created_at + dt.timedelta(hours=ack_hours),
        ship_by=po.created_at + dt.timedelta(hours=ship_hours),
    )


def _file(
    session: Session,
    partner: TradingPartner,
    kind: str,
    sets: Sequence[tuple[str, Sequence]],
    now: dt.datetime,
) -> tuple[EdiFile, setup.Controls]:
    controls = setup.next_controls(session, partner, sets=len(sets))
    hub, vendor = setup.parties(partner)
    text = write_interchange(
        sender=hub,
        receiver=vendor,
        functional_id=FUNCTIONAL_IDS[kind],
        version=partner.version,
        interchange_control=controls.interchange,
        group_control=controls.group,
        sets=[(k, number, body) for (k, body), number in zip(sets, controls.sets, strict=True)],
        at=now,
        seps=setup.separators(partner),
        test=partner.test_mode,
        ack_requested=False,
    )
    data = text.encode()
    edi_file = EdiFile(
        vendor_id=partner.vendor_id,
        direction=OUT,
        name=f"dropnet_{kind}_{controls.interchange:09d}.x12",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        raw=text,
        status=PENDING,
        documents=[kind],
        report=[],
        interchange_control=f"{controls.interchange:09d}",
        created_at=now,
    )
    session.add(edi_file)
    session.flush()
    return edi_file, controls


def send_850(
    session: Session,
    partner: TradingPartner,
    po: PurchaseOrder,
    *,
    now: dt.datetime,
    connection: Connection | None = None,
) -> EdiFile:
    """Write the 850 of one purchase order and remember its control numbers with it."""
    connection = connection or session.scalar(
        sa.select(Connection).where(
            Connection.retailer_id == po.retailer_id, Connection.vendor_id == po.vendor_id
        )
    )
    body = write_850(to_850(po, connection), setup.separators(partner))
    edi_file, controls = _file(session, partner, "850", [("850", body)], now)
    edi_file.report = [f"850 for purchase order {po.id} ({len(po.lines)} lines)"]
    session.add(
        EdiPurchaseOrder(
            po_id=po.id,
            vendor_id=partner.vendor_id,
            kind="850",
            file_id=edi_file.id,
            interchange_control=controls.interchange,
            group_control=controls.group,
            set_control=controls.sets[0],
            created_at=now,
            ack_due_at=now + dt.timedelta(minutes=partner.ack_window_minutes),
        )
    )
    return edi_file


def queue_purchase_orders(session: Session, *, now: dt.datetime, limit: int = 500) -> int:
    """Write an 850 for every purchase order to an EDI vendor that has none yet; return how many."""
    sent = sa.select(EdiPurchaseOrder.id).where(
        EdiPurchaseOrder.po_id == PurchaseOrder.id, EdiPurchaseOrder.kind == "850"
    )
    rows = session.execute(
        sa.select(PurchaseOrder, TradingPartner)
        .join(TradingPartner, TradingPartner.vendor_id == PurchaseOrder.vendor_id)
        .where(
            TradingPartner.active.is_(True),
            PurchaseOrder.created_at >= TradingPartner.created_at,
            ~sa.exists(sent),
        )
        .options(
            selectinload(PurchaseOrder.order),
            selectinload(PurchaseOrder.lines).selectinload(PurchaseOrderLine.variant),
            selectinload(PurchaseOrder.lines).selectinload(PurchaseOrderLine.order_line),
        )
        .order_by(PurchaseOrder.id)
        .limit(limit)
    ).all()
    count = 0
    connections: dict[tuple[int, int], Connection | None] = {}
    for po, partner in rows:
        if "850" in partner.documents:
            key = (po.retailer_id, po.vendor_id)
            if key not in connections:
                connections[key] = session.scalar(
                    sa.select(Connection).where(
                        Connection.retailer_id == po.retailer_id, Connection.vendor_id == po.vendor_id
                    )
                )
            send_850(session, partner, po, now=now, connection=connections[key])
            count += 1
    return count


def queue_cancellations(session: Session, *, now: dt.datetime, limit: int = 500) -> int:
    """Write an 860 for every retailer cancellation of units already sent in an 850; return how many."""
    carried = (
        sa.select(sa.func.coalesce(sa.func.max(EdiPurchaseOrder.transition_id), 0))
        .where(EdiPurchaseOrder.po_id == PurchaseOrder.id, EdiPurchaseOrder.kind == "860")
        .scalar_subquery()
    )
    has_850 = sa.exists(
        sa.select(EdiPurchaseOrder.id).where(
            EdiPurchaseOrder.po_id == PurchaseOrder.id, EdiPurchaseOrder.kind == "850"
        )
    )
    rows = session.execute(
        sa.select(PurchaseOrder.id, sa.func.max(PurchaseOrderTransition.id))
        .join(PurchaseOrderTransition, PurchaseOrderTransition.po_id == PurchaseOrder.id)
        .where(
            PurchaseOrderTransition.action == "cancel",
            PurchaseOrderTransition.actor_org_id == PurchaseOrder.retailer_id,
            PurchaseOrderTransition.id > carried,
            has_850,
        )
        .group_by(PurchaseOrder.id)
        .order_by(PurchaseOrder.id)
        .limit(limit)
    ).all()
    count = 0
    for po_id, transition_id in rows:
        po = session.get(PurchaseOrder, po_id)
        partner = setup.find_partner(session, vendor_id=po.vendor_id)
        if partner is None or "860" not in partner.documents:
            continue
        send_860(session, partner, po, transition_id=transition_id, now=now)
        count += 1
    return count


def send_860(
    session: Session, partner: TradingPartner, po: PurchaseOrder, *, transition_id: int, now: dt.datetime
) -> EdiFile:
    """Write the 860 for a purchase order's retailer cancellations: whole, or line decreases."""
    cancelled_lines = set(
        session.scalars(
            sa.select(PurchaseOrderTransition.po_line_id).where(
                PurchaseOrderTransition.po_id == po.id,
                PurchaseOrderTransition.action == "cancel",
                PurchaseOrderTransition.actor_org_id == po.retailer_id,
            )
        )
    )
    changes = [
        ChangeLine(number, line.variant.vendor_sku, line.ordered, line.live)
        for number, line in line_numbers(po).items()
        if line.id in cancelled_lines
    ]
    whole = all(line.live == 0 for line in po.lines)
    seps = setup.separators(partner)
    body = write_860(
        po_number=po_number(po), order_date=po.created_at.date(), lines=changes, whole=whole, seps=seps
    )
    edi_file, controls = _file(session, partner, "860", [("860", body)], now)
    edi_file.report = [f"860 for purchase order {po.id}: {'cancelled' if whole else 'lines decreased'}"]
    session.add(
        EdiPurchaseOrder(
            po_id=po.id,
            vendor_id=partner.vendor_id,
            kind="860",
            file_id=edi_file.id,
            interchange_control=controls.interchange,
            group_control=controls.group,
            set_control=controls.sets[0],
            transition_id=transition_id,
            created_at=now,
            ack_due_at=now + dt.timedelta(minutes=partner.ack_window_minutes),
        )
    )
    return edi_file


def send_997(
    session: Session, partner: TradingPartner, bodies: Sequence[Sequence], *, now: dt.datetime
) -> EdiFile:
    """Write one 997 interchange holding one 997 set per group received."""
    edi_file, _ = _file(session, partner, "997", [("997", body) for body in bodies], now)
    return edi_file


def flag_unacknowledged(session: Session, *, now: dt.datetime) -> int:
    """Flag the live lines of every PO whose 850 got no 997 within the partner's window; return POs flagged."""
    waiting = session.scalars(
        sa.select(EdiPurchaseOrder).where(
            EdiPurchaseOrder.kind == "850",
            EdiPurchaseOrder.acked_at.is_(None),
            EdiPurchaseOrder.flagged_at.is_(None),
            EdiPurchaseOrder.ack_due_at <= now,
        )
    ).all()
    for sent in waiting:
        po = session.get(PurchaseOrder, sent.po_id)
        detail = {
            "interchange_control": f"{sent.interchange_control:09d}",
            "group_control": sent.group_control,
            "set_control": f"{sent.set_control:04d}",
            "sent_at": sent.created_at.isoformat(),
        }
        for line in po.lines:
            if line.unshipped > 0:
                raise_flag(session, line_ref(line), kind=EDI_UNACKNOWLEDGED, now=now, detail=detail)
        sent.flagged_at = now
    return len(waiting)


def clear_unacknowledged(session: Session, po: PurchaseOrder, *, now: dt.datetime) -> None:
    """A 997 came (late): clear the flags its absence raised."""
    flags = open_flags(session, [line.id for line in po.lines], [EDI_UNACKNOWLEDGED])
    if flags:
        resolve_flags(session, flags, resolution="acknowledged", now=now)
