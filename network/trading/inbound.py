"""What the hub does with a file a trading partner drops: every set applied whole or not at all,
through the same order services the vendor API uses, a 997 back, and a report anyone can read.

- 855: per line, accepted / quantity changed / backordered acknowledge (a lower quantity rejects the
  rest, as the API's acknowledge does); rejected lines are rejected with their reason code, so
  `out_of_stock` places the oversell hold exactly as `POST …/reject` does.
- 856: per order level and tracking number, one shipment as `POST …/shipments` records it.
- 810: an invoice matched against ordered and shipped units (network/edi/invoices.py).
- 997: marks the 850s (and 860s) it acknowledges, clearing a missing-997 flag.

A set with envelope errors (bad counts, missing trailer, mixed terminators) is rejected without
being applied; a set whose content breaks a rule (unknown PO, more units than ordered, a line
already shipped) is rolled back to its savepoint and rejected with the reason. Nothing raises out
of `receive`: the worst file still becomes a kept file with a report.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.edi.ack855 import BACKORDERED, REJECTED, read_855
from network.edi.asn856 import read_856
from network.edi.fa997 import SetOutcome, read_997, write_997
from network.edi.inv810 import read_810
from network.edi.x12 import Envelope, SegmentError, TransactionSet, read_envelope, read_interchange
from network.errors import DomainError, InvalidFeed
from network.errors import InvalidInput as Refused
from network.feeds.guards import DEFAULT_HOLD_SHARE
from network.feeds.mapping import FeedFormat
from network.feeds.models import GOOD_STATUSES, HELD, PULL
from network.feeds.services import FeedReceipt, receive_feed
from network.flags.hooks import Refusal
from network.orders import services
from network.orders.models import PurchaseOrder
from network.orders.services import LineQuantity
from network.trading import outbound
from network.trading import partners as setup
from network.trading.invoices import ItemIn, match_line, record_invoice
from network.trading.models import APPLIED, IN, PARTIALLY_APPLIED, EdiFile, EdiPurchaseOrder, TradingPartner

REJECTED_FILE = "rejected"
# Sets the hub applies; any other is acknowledged as rejected ("not a document this hub takes").
APPLIERS = ("855", "856", "810", "997", "846")


@dataclass(frozen=True)
class Context:
    """What applying needs besides the session: the partner, the clock, the oversell hold period."""

    partner: TradingPartner
    now: dt.datetime
    hold_for: dt.timedelta
    file_id: int | None = None
    element: str = "*"
    hold_share: float | None = DEFAULT_HOLD_SHARE


@dataclass
class Received:
    edi_file: EdiFile
    duplicate: bool
    reply: EdiFile | None = None
    lines: list[str] = field(default_factory=list)


def decode(data: bytes) -> str:
    """X12 is ASCII; a partner's UTF-8 (BOM, NBSP) reads as UTF-8, anything else byte for byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def receive(
    session: Session,
    partner: TradingPartner,
    name: str,
    data: bytes,
    *,
    now: dt.datetime,
    hold_for: dt.timedelta,
    hold_share: float | None = DEFAULT_HOLD_SHARE,
) -> Received:
    """Keep and process one inbound file once (name + size + SHA-256); return it with its 997, if any."""
    digest = hashlib.sha256(data).hexdigest()
    seen = session.scalar(
        sa.select(EdiFile).where(
            EdiFile.vendor_id == partner.vendor_id,
            EdiFile.direction == IN,
            EdiFile.name == name[:255],
            EdiFile.size == len(data),
            EdiFile.sha256 == digest,
        )
    )
    if seen is not None:
        return Received(seen, duplicate=True)
    text = decode(data)
    edi_file = EdiFile(
        vendor_id=partner.vendor_id,
        direction=IN,
        name=name[:255],
        size=len(data),
        sha256=digest,
        raw=text.replace("\x00", " "),
        status=REJECTED_FILE,
        documents=[],
        report=[],
        created_at=now,
    )
    session.add(edi_file)
    session.flush()
    context = Context(partner, now, hold_for, edi_file.id, hold_share=hold_share)
    report: list[str] = []
    try:
        envelope = read_envelope(read_interchange(text))
    except InvalidFeed as exc:
        edi_file.report = [f"not processed: {exc.detail}"]
        return Received(edi_file, duplicate=False)
    context = dataclasses.replace(context, element=envelope.interchange.element)
    edi_file.interchange_control = envelope.control[:9]
    edi_file.documents = list(dict.fromkeys(s.kind[:3] for s in envelope.sets))
    report.extend(f"envelope: {note}" for note in envelope.notes[:50])
    sender_problem = _sender_problem(envelope, partner)
    if sender_problem:
        report.append(f"envelope: {sender_problem}; no set applied")
    bodies: list[list[list[str]]] = []
    applied = rejected = 0
    for group in envelope.groups:
        outcomes = []
        for tset in group.sets:
            ok, words = _process_set(session, tset, context, refuse=sender_problem)
            report.append(f"{tset.kind} set {tset.control or '?'}: {words}")
            outcomes.append(SetOutcome(tset, rejected=not ok))
            applied, rejected = applied + ok, rejected + (not ok)
        if group.functional_id.upper() != "FA" and group.sets:  # a 997 is never acknowledged
            bodies.append(write_997(group, outcomes, setup.separators(partner)))
    if not envelope.sets:
        report.append("the file holds no transaction set")
    edi_file.status = APPLIED if applied and not rejected else PARTIALLY_APPLIED if applied else REJECTED_FILE
    edi_file.report = report
    reply = None
    if bodies:
        reply = outbound.send_997(session, partner, bodies, now=now)
        reply.report = [f"997 for {edi_file.name} (interchange {edi_file.interchange_control})"]
        report.append(f"997 written: {reply.name}")
        edi_file.report = list(report)
    return Received(edi_file, duplicate=False, reply=reply, lines=report)


def _sender_problem(envelope: Envelope, partner: TradingPartner) -> str | None:
    qualifier, sender = envelope.sender
    if sender.upper() != partner.isa_id.strip().upper():
        return f"ISA06 is {sender[:15]!r} but this partner's id is {partner.isa_id!r}"
    _, receiver = envelope.receiver
    if receiver.upper() != partner.hub_isa_id.strip().upper():
        return f"ISA08 is {receiver[:15]!r} but the hub's id is {partner.hub_isa_id!r}"
    return None


def _process_set(
    session: Session, tset: TransactionSet, context: Context, *, refuse: str | None
) -> tuple[bool, str]:
    """Apply one set in a savepoint; return (applied, what happened in words)."""
    if refuse:
        return False, f"rejected: {refuse}"
    if not tset.accepted:
        return False, "rejected: its envelope is in error (see the envelope lines); nothing applied"
    if tset.kind not in APPLIERS:
        tset.errors.append("1")  # AK502 1: transaction set not supported
        return False, f"rejected: the hub does not take {tset.kind[:3]!r} sets from vendors"
    savepoint = session.begin_nested()
    try:
        words = _APPLY[tset.kind](session, tset, context)
    except sa.exc.DBAPIError:
        # A value the rules let through but a column cannot hold: still this set's fault, not fatal.
        savepoint.rollback()
        tset.segment_errors.append(SegmentError(tset.segments[0], 1, "8", text="a value out of range"))
        return False, "rejected: a value in it is out of range for the hub; nothing of it applied"
    except DomainError as exc:
        savepoint.rollback()
        tset.segment_errors.append(
            SegmentError(_blame(exc, tset), _position(exc, tset), "8", text=exc.detail)
        )
        return False, f"rejected: {exc.detail}; nothing of it applied"
    savepoint.commit()
    return True, f"applied: {words}"


class SetRefused(Refused):
    """A rule a set breaks, with the segment to name in the 997."""

    def __init__(self, detail: str, segment=None) -> None:  # noqa: ANN001
        super().__init__(detail)
        self.segment = segment


def _blame(exc: DomainError, tset: TransactionSet):  # noqa: ANN202
    return getattr(exc, "segment", None) or tset.segments[min(1, len(tset.segments) - 1)]


def _position(exc: DomainError, tset: TransactionSet) -> int:
    return tset.position(_blame(exc, tset))


def _po(session: Session, number: str, context: Context, segment) -> PurchaseOrder:  # noqa: ANN001
    po_id = int(number) if number.isascii() and number.isdigit() and len(number) < 12 else None
    po = session.get(PurchaseOrder, po_id) if po_id is not None else None
    if po is None or po.vendor_id != context.partner.vendor_id:
        raise SetRefused(f"purchase order {number[:22]!r} is not one of this vendor's", segment)
    return po


def _apply_855(session: Session, tset: TransactionSet, context: Context) -> str:
    ack, problems = read_855(tset)
    if problems:
        raise SetRefused(problems[0][1], problems[0][0])
    po = _po(session, ack.po_number, context, tset.segments[1] if len(tset.segments) > 1 else None)
    accept: dict[int, int] = defaultdict(int)
    refusals: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    notes = []
    for entry in ack.lines:
        line = match_line(po, entry.line_no, entry.vendor_part)
        if line is None:
            raise SetRefused(
                f"line {entry.line_no or entry.vendor_part!r} is not on purchase order {po.id}", entry.segment
            )
        quantity = entry.quantity if entry.quantity is not None else line.live
        if quantity < 0:
            raise SetRefused("a negative quantity", entry.segment)
        if entry.status == REJECTED:
            if quantity:
                refusals[(entry.reason_code, entry.reason)][line.id] += quantity
        elif quantity:
            accept[line.id] += quantity
            if entry.status == BACKORDERED:
                notes.append(
                    f"line {entry.line_no}: backordered" + (f" to {entry.date}" if entry.date else "")
                )
    for (code, reason), lines in sorted(refusals.items()):
        services.reject(
            session,
            vendor_id=po.vendor_id,
            po_id=po.id,
            lines=[LineQuantity(i, q) for i, q in sorted(lines.items())],
            reason=reason,
            now=context.now,
            refusal=Refusal(code=code, hold_for=context.hold_for),
        )
    if accept:
        services.acknowledge(
            session,
            vendor_id=po.vendor_id,
            po_id=po.id,
            lines=[LineQuantity(i, q) for i, q in sorted(accept.items())],
            now=context.now,
        )
    done = f"PO {po.id}: {sum(accept.values())} units acknowledged"
    rejected = sum(q for lines in refusals.values() for q in lines.values())
    if rejected:
        done += f", {rejected} rejected ({', '.join(sorted({code for code, _ in refusals}))})"
    return "; ".join([done, *notes])


def _apply_856(session: Session, tset: TransactionSet, context: Context) -> str:
    asn, problems = read_856(tset)
    if problems:
        raise SetRefused(problems[0][1], problems[0][0])
    if not asn.orders:
        raise SetRefused("the 856 ships no item", tset.segments[0])
    done = []
    for order in asn.orders:
        po = _po(session, order.po_number, context, order.items[0].segment)
        by_tracking: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for item in order.items:
            line = match_line(po, item.line_no, item.vendor_part)
            if line is None:
                raise SetRefused(
                    f"item {item.line_no or item.vendor_part!r} is not on purchase order {po.id}",
                    item.segment,
                )
            if item.quantity:
                by_tracking[item.tracking or asn.shipment_id or "unknown"][line.id] += item.quantity
        for tracking, lines in by_tracking.items():
            services.ship(
                session,
                vendor_id=po.vendor_id,
                po_id=po.id,
                carrier=(order.carrier or "unknown")[:100],
                tracking_number=tracking[:200],
                lines=[LineQuantity(i, q) for i, q in sorted(lines.items())],
                now=context.now,
            )
            done.append(f"PO {po.id}: {sum(lines.values())} units shipped, tracking {tracking}")
    return "; ".join(done)


def _apply_810(session: Session, tset: TransactionSet, context: Context) -> str:
    bill, problems = read_810(tset)
    if problems:
        raise SetRefused(problems[0][1], problems[0][0])
    po = _po(session, bill.po_number, context, tset.segments[1] if len(tset.segments) > 1 else None)
    items = [
        ItemIn(
            match_line(po, item.line_no, item.vendor_part), item.vendor_part, item.quantity, item.unit_price
        )
        for item in bill.items
    ]
    invoice = record_invoice(
        session,
        po=po,
        number=bill.number,
        invoice_date=bill.date,
        items=items,
        stated_total=bill.total,
        source="edi",
        now=context.now,
        edi_file_id=context.file_id,
    )
    shown = f"invoice {invoice.number} for PO {po.id}, total {invoice.total.normalize()}"
    if invoice.mismatches:
        return (
            shown
            + f"; {len(invoice.mismatches)} mismatches flagged: "
            + "; ".join(m["message"] for m in invoice.mismatches)
        )
    return shown + "; matches the order and shipments"


def _apply_997(session: Session, tset: TransactionSet, context: Context) -> str:
    ack = read_997(tset)
    group = int(ack.group_control) if ack.group_control.isdigit() and len(ack.group_control) < 10 else None
    sent = (
        session.scalars(
            sa.select(EdiPurchaseOrder).where(
                EdiPurchaseOrder.vendor_id == context.partner.vendor_id,
                EdiPurchaseOrder.group_control == group,
            )
        ).all()
        if group is not None
        else []
    )
    if not sent:
        raise SetRefused(f"the 997 acknowledges group {ack.group_control[:9]!r}, which the hub never sent")
    marked = []
    for row in sent:
        status = (
            ack.sets.get(f"{row.set_control:04d}") or ack.sets.get(str(row.set_control)) or ack.group_status
        )
        row.ack_status, row.acked_at = (status or "A")[:1], context.now
        if row.flagged_at is not None:
            outbound.clear_unacknowledged(session, session.get(PurchaseOrder, row.po_id), now=context.now)
        marked.append(f"{row.kind} for PO {row.po_id}: {row.ack_status}")
    return "; ".join(marked)


def _apply_846(session: Session, tset: TransactionSet, context: Context) -> str:
    """An 846 (inventory advice) in the mailbox is a stock feed: the feed pipeline reads it, with its
    guards and history, as if the vendor had pushed it (a run of its own, linked from this report)."""
    if "846" not in context.partner.documents:
        raise SetRefused("846 is not among the documents agreed with this partner", tset.segments[0])
    receipt = FeedReceipt(
        vendor_id=context.partner.vendor_id,
        transport=PULL,
        mode="full",
        basis="available",
        data=_standalone(tset, context.element, context.now).encode(),
        content_type="application/edi-x12",
        fmt=FeedFormat(kind="x12"),
    )
    run = receive_feed(session, receipt, now=context.now, hold_share=context.hold_share)
    if run.status not in GOOD_STATUSES and run.status != HELD:
        why = run.message or "; ".join(str(error.get("message", error)) for error in (run.errors or [])[:3])
        raise SetRefused(f"the 846 was {run.status} by the feed pipeline (feed run {run.id}): {why}")
    return f"stock feed run {run.id}: {run.status}, {run.rows_applied or 0} rows applied"


def _standalone(tset: TransactionSet, element: str, now: dt.datetime) -> str:
    """One set in an envelope of its own (line breaks end segments), as the 846 feed parser reads files;
    the GS date and time are the partner's (the count's as-of when the set has no DTM)."""
    e = element
    day, clock = tset.gs_date or now.strftime("%Y%m%d"), tset.gs_time or now.strftime("%H%M")
    isa = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        "ZZ",
        "VENDOR".ljust(15),
        "ZZ",
        "DROPNET".ljust(15),
        "000101",
        "0000",
        "U",
        "00401",
        "000000001",
        "0",
        "P",
        ">",
    ]
    lines = [e.join(isa), e.join(["GS", "IB", "VENDOR", "DROPNET", day, clock, "1", "X", "004010"])]
    lines += [e.join(seg.elements) for seg in tset.segments]
    lines += [e.join(["GE", "1", "1"]), e.join(["IEA", "1", "000000001"])]
    return "\n".join(lines) + "\n"


_APPLY: Mapping = {
    "855": _apply_855,
    "856": _apply_856,
    "810": _apply_810,
    "997": _apply_997,
    "846": _apply_846,
}
