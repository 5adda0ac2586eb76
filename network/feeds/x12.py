"""Read X12 846 (inventory inquiry/advice) interchanges into feed rows.

Delimiters come from the ISA itself: the element separator is its 4th character
and the ISA is split on it, never cut at fixed offsets (real ISAs are 105, 107
or any length once NBSP padding sneaks in). The character after ISA16 ends
segments; a missing ISA16 is detected when the GS line ends with the would-be
ISA16. Line breaks always end a segment too, so pretty-printed files and a
segment that lost its terminator still split where a person sees them split.

Items: each LIN starts one record; its line is the LIN's segment number counted
from the ISA (= the physical line in one-segment-per-line files). The SKU is the
LIN id with qualifier VN, else SK, else the first id (mapping {"sku": "UP"}
names another qualifier); gtin comes from UP, EN or UK (or mapping["gtin"]).
Quantities by QTY01 (code list of X12 element 673): 33 "available for sale",
else 34 "noncommitted inventory on shelf", else 17 "on hand" give `quantity`;
63 "on order" gives `incoming`, with the DTM 371/018/017 after it as
`incoming_eta`; 74 "damaged goods" (else 20 "unusable") gives `damaged`. Other
codes (QH on hold, 87 received, 02 cumulative ...) are ignored. Several QTYs
with one code in one item (one per location) are summed; units (QTY03/UIT) are
not converted. A LIN without 33/34/17 is a row error.

File-level as-of: a header DTM 007/009/091/097, else BIA04 with BIA05, else the
GS date/time; a date without a time takes the GS time when the GS is from that
day. Times without a DTM04 zone are UTC. With several 846 sets the earliest
as-of wins, as a count is only as fresh as its stalest part.

Envelope problems (SE01/GE01/IEA01 counts, control numbers that do not match,
missing trailers, other transaction sets, segments that look glued together
because a terminator is missing) do not reject the file: a vendor's counts are
still good when its translator miscounts, and rejecting would only let its stock
go stale. Each is reported as a RowError on line 0 (sku None) so the vendor sees
it beside the row errors and can fix its translator; they count in rows_seen.
A glued segment inside an item that lost the item's quantity is named in that
item's own error instead. Only a file with no readable ISA, or with no 846 set
at all, is rejected as InvalidFeed.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from network.edi.x12 import PAD as _PAD
from network.edi.x12 import Interchange, Segment, TransactionSet, read_interchange, walk_envelope
from network.edi.x12 import parse_date as _date
from network.edi.x12 import parse_time as _time
from network.errors import InvalidFeed
from network.feeds.mapping import (
    FeedFormat,
    FeedRow,
    ParsedFeed,
    RowCollector,
    RowSink,
    gtin_reason,
    parse_cost,
    parse_count,
)

SKU_QUALIFIERS = ("VN", "SK")
GTIN_QUALIFIERS = ("UP", "EN", "UK")
QUANTITY_CODES = ("33", "34", "17")
DAMAGED_CODES = ("74", "20")
ON_ORDER_CODES = ("63",)
ETA_DATES = frozenset({"371", "018", "017"})
AS_OF_DATES = frozenset({"007", "009", "091", "097"})
COST_PRICES = frozenset({"ACT", "CON", "NET", "UCP", "WHL"})
# Most elements a segment may have (X12 4010/5010); more means two segments ran together.
MAX_ELEMENTS = {"REF": 4, "QTY": 4, "DTM": 6, "UIT": 3, "CTT": 7, "CTP": 11, "PID": 9, "SE": 2, "BIA": 6}
KNOWN_TAGS = ("LIN", "QTY", "DTM", "CTT", "REF", "CTP", "PID", "UIT", "SLN", "SDQ", "SCH", "N1", "SE")
_ZONES = {"UT": 0, "GM": 0, "ES": -5, "ED": -4, "CS": -6, "CD": -5, "MS": -7, "MD": -6, "PS": -8, "PD": -7}
_LOCAL_ZONES = {
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
}
_UTC = datetime.UTC


def parse_x12(text: str, fmt: FeedFormat, sink: RowSink | None = None, claims: object = None) -> ParsedFeed:
    """Parse a decoded X12 interchange holding one or more 846 sets (rows to `sink`, if given).

    `claims` is ignored: an 846 item's duplicate is found here (its glitches go to the notes).

    Raises InvalidFeed when the file (unless blank) has no readable ISA or no 846 set.
    """
    if not text.strip(_PAD):
        return ParsedFeed(rows=[], errors=[])
    interchange = read_interchange(text)
    notes: list[str] = []
    sets = walk_envelope(interchange.segments, notes)
    inventory = [s for s in sets if s.kind == "846"]
    if not inventory:
        kinds = ", ".join(sorted({s.kind or "?" for s in sets})) or "no transaction sets"
        raise InvalidFeed(f"no 846 inventory advice in this file (found: {kinds})")
    for other in sets:
        if other.kind != "846":
            notes.append(f"segment {other.start}: transaction set {other.kind!r} ignored; only 846 is read")

    out = RowCollector(fmt, sink)
    moments: list[datetime.datetime] = []
    for inventory_set in inventory:
        moment = _read_846(inventory_set, fmt, interchange, out, notes)
        if moment is not None:
            moments.append(moment)
    for note in notes:
        out.error(0, None, note)
    return out.result(min(moments) if moments else None)


class _Item:
    """The segments of one LIN, read as they come."""

    __slots__ = ("lin", "quantities", "etas", "title", "cost", "glitches", "_last_code")

    def __init__(self, lin: Segment) -> None:
        self.lin = lin
        self.quantities: dict[str, list[str]] = {}
        self.etas: list[str] = []
        self.title: str | None = None
        self.cost: str | None = None
        self.glitches: list[str] = []
        self._last_code = ""

    def take(self, seg: Segment) -> None:
        """Read one segment belonging to this item."""
        if seg.tag == "QTY":
            self._last_code = seg.get(1).upper()
            self.quantities.setdefault(self._last_code, []).append(seg.get(2))
        elif seg.tag == "DTM" and self._last_code in ON_ORDER_CODES and seg.get(1) in ETA_DATES:
            self.etas.append(seg.get(2))
        elif seg.tag == "PID" and seg.get(1) == "F" and self.title is None:
            self.title = seg.get(5) or None
        elif seg.tag == "CTP" and seg.get(2).upper() in COST_PRICES and self.cost is None:
            self.cost = seg.get(3) or None


def _read_846(
    tset: TransactionSet, fmt: FeedFormat, interchange: Interchange, out: RowCollector, notes: list[str]
) -> datetime.datetime | None:
    """Read one 846 set's items into the collector and return its as-of."""
    header_dtm: Segment | None = None
    bia: Segment | None = None
    item: _Item | None = None
    for seg in tset.segments[1:]:
        glitch = _glitch(seg, interchange)
        if seg.tag == "LIN":
            if item is not None:
                _finish(item, fmt, out, notes)
            item = _Item(seg)
        elif seg.tag in ("CTT", "SE"):
            if item is not None:
                _finish(item, fmt, out, notes)
                item = None
        elif item is not None:
            item.take(seg)
        elif seg.tag == "BIA" and bia is None:
            bia = seg
        elif seg.tag == "DTM" and header_dtm is None and seg.get(1) in AS_OF_DATES:
            header_dtm = seg
        if glitch:
            (item.glitches if item is not None else notes).append(glitch)
    if item is not None:
        _finish(item, fmt, out, notes)
    return _as_of(tset, header_dtm, bia, notes)


def _glitch(seg: Segment, interchange: Interchange) -> str | None:
    """Describe a segment that looks like two run together (a lost terminator), if it does."""
    tag = seg.tag
    count = len(seg.elements) - 1
    limit = MAX_ELEMENTS.get(tag)
    if limit is not None and count > limit:
        problem = f"has {count} elements where {tag} allows {limit}"
        suspects = seg.elements[1:]
    elif tag == "QTY" and len(seg.get(3)) > 2 and (interchange.component or ">") not in seg.get(3):
        problem = f"QTY03 {seg.get(3)[:20]!r} is not a unit code"
        suspects = [seg.get(3)]
    else:
        return None
    glued = next((t for s in suspects for t in KNOWN_TAGS if len(s) > len(t) and s.endswith(t)), None)
    terminator = "a line break" if interchange.terminator == "\n" else repr(interchange.terminator)
    hint = f"; a segment terminator ({terminator}) looks missing before {glued!r}" if glued else ""
    text = interchange.element.join(seg.elements)
    return f"segment {seg.number} {text[:60]!r} {problem}{hint}"


def _finish(item: _Item, fmt: FeedFormat, out: RowCollector, notes: list[str]) -> None:
    """Validate one item and hand it to the collector as a row or an error."""
    line = item.lin.number
    ids: dict[str, str] = {}  # qualifier -> first id with it, in LIN order
    elements = item.lin.elements
    for i in range(2, len(elements) - 1, 2):
        qualifier, value = elements[i].strip(_PAD).upper(), elements[i + 1].strip(_PAD)
        if qualifier and value:
            ids.setdefault(qualifier, value)
    wanted = fmt.mapping.get("sku", "").strip().upper()
    if wanted:
        sku, missing = ids.get(wanted, ""), f"LIN has no {wanted!r} product id"
    else:
        sku = ids.get("VN") or ids.get("SK") or next(iter(ids.values()), "")
        missing = "LIN has no product id"
    claimed = out.claim(line, sku) if sku else None
    if claimed is None:
        if not sku:
            out.error(line, None, missing)
        notes.extend(item.glitches)
        return
    sku = claimed
    policy = fmt.decimal_quantities
    problems: list[str] = []
    quantity = _total(item, QUANTITY_CODES, "quantity", policy, problems)
    if quantity is None and not problems:
        problems.append(f"no stock quantity: the item has no QTY with code {'/'.join(QUANTITY_CODES)}")
        problems.extend(item.glitches)
        item.glitches = []
    damaged = _total(item, DAMAGED_CODES, "damaged", policy, problems)
    incoming = _total(item, ON_ORDER_CODES, "incoming", policy, problems)
    etas = [_date(raw) for raw in item.etas]
    if None in etas:
        problems.append(f"incoming date {item.etas[etas.index(None)][:20]!r} is not CCYYMMDD")
    gtin_wanted = fmt.mapping.get("gtin", "").strip().upper()
    gtin = ids.get(gtin_wanted) if gtin_wanted else next((ids[q] for q in GTIN_QUALIFIERS if q in ids), None)
    if gtin is not None and (reason := gtin_reason(gtin)):
        problems.append(reason)
    cost = None
    if item.cost is not None:
        cost, problem = parse_cost(item.cost)
        if problem:
            problems.append(problem)
    notes.extend(item.glitches)
    if problems or quantity is None:
        out.error(line, sku, "; ".join(problems))
        return
    known = [eta for eta in etas if eta is not None]
    out.add(
        FeedRow(
            line,
            sku,
            quantity,
            damaged=damaged,
            incoming=incoming,
            incoming_eta=min(known) if known else None,
            gtin=gtin,
            title=item.title,
            cost=cost,
        )
    )


def _total(item: _Item, codes: tuple[str, ...], label: str, policy: str, problems: list[str]) -> int | None:
    """Sum the item's QTYs of the first code present; None (and a problem) if one is unreadable."""
    for code in codes:
        raws = item.quantities.get(code)
        if raws is None:
            continue
        amount = 0
        for raw in raws:
            value, problem = parse_count(raw, f"{label} (QTY*{code})", policy)
            if value is None:
                problems.append(problem or f"{label} (QTY*{code}) has no number")
                return None
            amount += value
        return amount
    return None


def _as_of(
    tset: TransactionSet, dtm: Segment | None, bia: Segment | None, notes: list[str]
) -> datetime.datetime | None:
    """Work out when a set's counts were true, from the most specific date it carries."""
    candidates = []
    if dtm is not None:
        candidates.append((dtm, dtm.get(2), dtm.get(3), dtm.get(4)))
    if bia is not None and bia.get(4):
        candidates.append((bia, bia.get(4), bia.get(5), ""))
    if tset.gs_date:
        candidates.append((None, tset.gs_date, tset.gs_time, ""))
    for seg, date_text, time_text, zone in candidates:
        day = _date(date_text)
        if not time_text and day is not None and _date(tset.gs_date) == day:
            time_text = tset.gs_time
        clock = _time(time_text) if time_text else datetime.time()
        tz = _zone(zone)
        if day is not None and clock is not None and tz is not None:
            try:
                return datetime.datetime.combine(day, clock, tz).astimezone(_UTC)
            except OverflowError:  # 9999-12-31 late in the day, west of UTC
                pass
        where = f"segment {seg.number} {seg.tag}" if seg else "GS"
        notes.append(f"{where}: date/time {date_text[:12]!r} {time_text[:8]!r} {zone[:4]!r} is unreadable")
    return None


def _zone(code: str) -> datetime.tzinfo | None:
    """Turn a DTM04 time code into a zone; blank means UTC."""
    code = code.upper()
    if not code or code == "UTC":
        return _UTC
    if code in _ZONES:
        return datetime.timezone(datetime.timedelta(hours=_ZONES[code]))
    if code in _LOCAL_ZONES:
        try:
            return ZoneInfo(_LOCAL_ZONES[code])
        except ZoneInfoNotFoundError:
            return None
    return None
