"""Mapping files: a retailer's CSV of items and their sources, read, previewed, then applied.

Columns (a header line, names in any case and order; comma, semicolon or tab separated):
`retailer_sku` (required), `title`, `vendor_id`, `vendor_sku` or `gtin` (a row names one of the
two: the vendor's SKU, or the GTIN its variant carries), `priority`. A row without a vendor_id
lists the item alone, with its `gtin`, for GTIN auto-match to find sources later. Blank cells
keep what the item has (a blank priority: the source's own, 0 for a new one).

A file that cannot be read (not text, no header, an unknown column) is refused with one message
and changes nothing; a row that cannot be applied is reported with its line and reason and the
others apply. `read_mappings` is pure: what a valid row says is exactly what `apply_mappings`
applies.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from network.catalog.gtin import is_valid_gtin
from network.catalog.mappings import MAX_PRIORITY, MAX_SOURCES
from network.catalog.models import ItemSource, RetailerItem, VendorVariant
from network.catalog.services import GTIN_ERROR
from network.catalog.skus import normal_sku, sku_character_problem
from network.errors import InvalidInput
from network.partners import audit
from network.partners.audit import Actor
from network.partners.models import Connection, Organization

COLUMNS = ("retailer_sku", "title", "vendor_id", "vendor_sku", "gtin", "priority")
MAX_ROWS = 50_000
CHUNK = 500
IMPORTED = "catalog.mappings_imported"
PREVIEW_ROWS = 50

# What a planned row does: create the item (with its source, if any), add a source to an item,
# change a source's priority, change only the item's title or GTIN, or nothing.
NEW_ITEM, NEW_SOURCE, PRIORITY, ITEM, UNCHANGED = "new item", "new source", "priority", "item", "unchanged"


@dataclass(frozen=True)
class MappingRow:
    """One valid row, as it will be applied (None: the cell was blank, keep what is there)."""

    line: int
    retailer_sku: str
    title: str | None = None
    vendor_id: int | None = None  # None: the item alone, no source
    vendor_sku: str | None = None
    gtin: str | None = None
    priority: int | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    retailer_sku: str
    reason: str


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, errors={"file": [message]})


def _decode(data: bytes) -> str:
    if not data.strip():
        raise _refuse("The file is empty.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise _refuse("This is not a CSV file (it holds binary data).")
    try:
        return data.decode("cp1252")  # Excel's "CSV" on Windows
    except UnicodeDecodeError:
        raise _refuse("The file is not text: save it as CSV (UTF-8).") from None


def _header_name(cell: str) -> str:
    return cell.strip().lower().replace(" ", "_").replace("-", "_")


def read_mappings(data: bytes) -> tuple[list[MappingRow], list[RowError]]:
    """Read a mapping file: (valid rows, row errors). Raises InvalidInput when the file as a whole
    cannot be read, with a message for a person."""
    text = _decode(data)
    if "\x00" in text:
        raise _refuse("This is not a CSV file (it holds binary data).")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns: dict[str, int] | None = None
    rows: list[MappingRow] = []
    errors: list[RowError] = []
    seen: dict[tuple, int] = {}
    items: dict[str, tuple[int, str | None, str | None]] = {}  # sku: (line, title, gtin) said first
    count = 0
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if columns is None:
                columns = _columns(record)
                continue
            count += 1
            if count > MAX_ROWS:
                raise _refuse(f"The file has more than {MAX_ROWS} rows: split it.")
            line = reader.line_num
            cells = {name: (record[i].strip() if i < len(record) else "") for name, i in columns.items()}
            row, problem = _row(line, cells)
            sku = row.retailer_sku if row else normal_sku(cells.get("retailer_sku", ""))[:100]
            if row is not None:
                problem = _conflict(row, seen, items)
            if problem:
                errors.append(RowError(line, sku, problem))
                continue
            rows.append(row)
    except csv.Error as exc:
        raise _refuse(f"Line {reader.line_num} cannot be read as CSV: {exc}.") from None
    if columns is None:
        raise _refuse("The file has no header line.")
    return rows, errors


def _columns(header: list[str]) -> dict[str, int]:
    names = [_header_name(cell) for cell in header]
    unknown = [cell.strip() for cell, name in zip(header, names, strict=True) if name and name not in COLUMNS]
    if unknown:
        raise _refuse(
            f"The file has a column this import does not know: {unknown[0][:50]!r}. "
            f"The columns are {', '.join(COLUMNS)}."
        )
    doubled = sorted({name for name in names if name and names.count(name) > 1})
    if doubled:
        raise _refuse(f"The column {doubled[0]} appears twice.")
    if "retailer_sku" not in names:
        raise _refuse("The file has no retailer_sku column.")
    if not {"vendor_id", "gtin"} & set(names):
        raise _refuse("The file has neither a vendor_id nor a gtin column: it maps nothing.")
    return {name: i for i, name in enumerate(names) if name}


def _row(line: int, cells: dict[str, str]) -> tuple[MappingRow | None, str]:
    """A row's values, or why it cannot be applied."""
    problems = []
    sku = normal_sku(cells.get("retailer_sku", ""))
    if not sku or len(sku) > 100:
        problems.append("retailer_sku: must be 1 to 100 characters")
    elif problem := sku_character_problem(sku):
        problems.append(f"retailer_sku: {problem}")
    title = cells.get("title") or None
    if title is not None and len(title) > 300:
        problems.append("title: at most 300 characters")
    raw_vendor = cells.get("vendor_id", "")
    vendor_id = None
    if raw_vendor:
        if raw_vendor.isascii() and raw_vendor.isdigit() and 0 < int(raw_vendor) < 2**31:
            vendor_id = int(raw_vendor)
        else:
            problems.append(f"vendor_id: {raw_vendor[:30]!r} is not a vendor's id (a whole number)")
    vendor_sku = normal_sku(cells.get("vendor_sku", "")) or None
    if vendor_sku is not None:
        if len(vendor_sku) > 100:
            problems.append("vendor_sku: must be 1 to 100 characters")
        elif problem := sku_character_problem(vendor_sku):
            problems.append(f"vendor_sku: {problem}")
    gtin = cells.get("gtin") or None
    if gtin is not None and not is_valid_gtin(gtin):
        problems.append(f"gtin: {gtin[:30]!r} is {GTIN_ERROR}")
    if raw_vendor and vendor_sku and gtin:
        problems.append("name the vendor's variant by vendor_sku or by gtin, not both")
    elif raw_vendor and not vendor_sku and not gtin:
        problems.append("name the vendor's variant: a vendor_sku or a gtin")
    elif not raw_vendor and vendor_sku:
        problems.append("vendor_sku: say whose, in vendor_id")
    raw_priority = cells.get("priority", "")
    priority = None
    if raw_priority:
        if raw_priority.isascii() and raw_priority.isdigit() and int(raw_priority) <= MAX_PRIORITY:
            priority = int(raw_priority)
        else:
            problems.append(f"priority: {raw_priority[:30]!r} is not a whole number from 0 to {MAX_PRIORITY}")
        if not raw_vendor:
            problems.append("priority: a priority is a source's, and this row names no vendor")
    if problems:
        return None, "; ".join(problems)
    return MappingRow(line, sku, title, vendor_id, vendor_sku, gtin, priority), ""


def _conflict(row: MappingRow, seen: dict[tuple, int], items: dict[str, tuple]) -> str:
    """Why a valid row contradicts an earlier one (the same source twice, another title or GTIN)."""
    key = (row.retailer_sku, row.vendor_id, row.vendor_sku, row.gtin if row.vendor_id else None)
    if key in seen:
        return f"the same mapping is also on line {seen[key]}"
    said = items.get(row.retailer_sku)
    if said is not None:
        line, title, gtin = said
        if row.title and title and row.title != title:
            return f"title: line {line} gives {row.retailer_sku} another title"
        if row.gtin and gtin and row.gtin != gtin:
            return f"gtin: line {line} gives {row.retailer_sku} another GTIN"
    seen[key] = row.line
    line, title, gtin = said or (row.line, None, None)
    items[row.retailer_sku] = (line, title or row.title, gtin or row.gtin)
    return ""


# --- what a file would change, and applying it ---------------------------------------------------


@dataclass(frozen=True)
class PlannedRow:
    line: int
    retailer_sku: str
    outcome: str
    vendor: str = ""  # the vendor's name
    vendor_sku: str = ""
    priority: int | None = None
    before: int | None = None  # the source's priority before (a priority change)


@dataclass
class MappingPlan:
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # What applying needs, resolved once: (row, variant id or None) and the existing items.
    resolved: list[tuple[MappingRow, int | None]] = field(default_factory=list)
    items: dict[str, RetailerItem] = field(default_factory=dict)

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def changes(self) -> int:
        return sum(1 for row in self.rows if row.outcome != UNCHANGED)

    @property
    def sample(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.outcome != UNCHANGED][:PREVIEW_ROWS]


def _chunks(values: Sequence, size: int = CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _vendors(session: Session, retailer_id: int) -> dict[int, str]:
    """The vendors the retailer may source from (connections not ended), by id: their names."""
    return dict(
        session.execute(
            sa.select(Organization.id, Organization.name)
            .join(Connection, Connection.vendor_id == Organization.id)
            .where(Connection.retailer_id == retailer_id, Connection.status != "ended")
        ).all()
    )


def _variants(session: Session, rows: list[MappingRow], vendors: dict[int, str]):
    """{(vendor id, sku): (variant id, sku)} and {(vendor id, gtin): [(variant id, sku), ...]}."""
    by_sku: dict[tuple[int, str], tuple[int, str]] = {}
    by_gtin: dict[tuple[int, str], list[tuple[int, str]]] = {}
    for vendor_id in vendors:
        skus = {r.vendor_sku for r in rows if r.vendor_id == vendor_id and r.vendor_sku}
        gtins = {r.gtin for r in rows if r.vendor_id == vendor_id and r.gtin and not r.vendor_sku}
        for chunk in _chunks(sorted(skus)):
            for variant_id, sku in session.execute(
                sa.select(VendorVariant.id, VendorVariant.vendor_sku).where(
                    VendorVariant.vendor_id == vendor_id, VendorVariant.vendor_sku.in_(chunk)
                )
            ):
                by_sku[vendor_id, sku] = (variant_id, sku)
        for chunk in _chunks(sorted(gtins)):
            for variant_id, sku, gtin in session.execute(
                sa.select(VendorVariant.id, VendorVariant.vendor_sku, VendorVariant.gtin)
                .where(VendorVariant.vendor_id == vendor_id, VendorVariant.gtin.in_(chunk))
                .order_by(VendorVariant.id)
            ):
                by_gtin.setdefault((vendor_id, gtin), []).append((variant_id, sku))
    return by_sku, by_gtin


def _items(session: Session, retailer_id: int, skus: set[str]) -> dict[str, RetailerItem]:
    found: dict[str, RetailerItem] = {}
    for chunk in _chunks(sorted(skus)):
        found.update(
            (item.retailer_sku, item)
            for item in session.scalars(
                sa.select(RetailerItem)
                .options(selectinload(RetailerItem.sources))
                .where(RetailerItem.retailer_id == retailer_id, RetailerItem.retailer_sku.in_(chunk))
            )
        )
    return found


def plan_mappings(
    session: Session, *, retailer_id: int, rows: list[MappingRow], errors: list[RowError]
) -> MappingPlan:
    """Say what applying the rows would change, writing nothing; rows naming a vendor the retailer
    is not connected to, or a variant that vendor does not have, become row errors."""
    plan = MappingPlan(errors=list(errors))
    vendors = _vendors(session, retailer_id)
    by_sku, by_gtin = _variants(session, rows, vendors)
    plan.items = _items(session, retailer_id, {r.retailer_sku for r in rows})
    # The state as the file's earlier rows leave it: {sku: {variant id: priority}}, titles, GTINs.
    sources = {sku: {s.variant_id: s.priority for s in item.sources} for sku, item in plan.items.items()}
    for row in rows:
        variant: tuple[int, str] | None = None
        if row.vendor_id is not None:
            if row.vendor_id not in vendors:
                plan.errors.append(
                    RowError(row.line, row.retailer_sku, f"you are not connected to vendor {row.vendor_id}")
                )
                continue
            if row.vendor_sku:
                variant = by_sku.get((row.vendor_id, row.vendor_sku))
                missing = f"vendor {row.vendor_id} has no variant {row.vendor_sku!r}"
            else:
                found = by_gtin.get((row.vendor_id, row.gtin), [])
                variant = found[0] if len(found) == 1 else None
                missing = (
                    f"vendor {row.vendor_id} has {len(found)} variants of GTIN {row.gtin}: name the vendor_sku"
                    if found
                    else f"vendor {row.vendor_id} has no variant of GTIN {row.gtin}"
                )
            if variant is None:
                plan.errors.append(RowError(row.line, row.retailer_sku, missing))
                continue
        item = plan.items.get(row.retailer_sku)
        have = sources.get(row.retailer_sku)
        outcome = UNCHANGED
        before = None
        if have is None:
            outcome, have = NEW_ITEM, {}
        if variant is not None:
            variant_id = variant[0]
            if variant_id not in have and len(have) >= MAX_SOURCES:
                plan.errors.append(
                    RowError(row.line, row.retailer_sku, f"an item has at most {MAX_SOURCES} sources")
                )
                continue
            if variant_id not in have:
                outcome = outcome if outcome == NEW_ITEM else NEW_SOURCE
                have[variant_id] = row.priority or 0
            elif row.priority is not None and have[variant_id] != row.priority:
                outcome, before = (outcome if outcome == NEW_ITEM else PRIORITY), have[variant_id]
                have[variant_id] = row.priority
        sources[row.retailer_sku] = have
        # A row's GTIN is its item's too (the variant named by it carries it; or the item alone).
        if (
            outcome == UNCHANGED
            and item is not None
            and ((row.title and row.title != item.title) or (row.gtin and row.gtin != item.gtin))
        ):
            outcome = ITEM
        plan.resolved.append((row, variant[0] if variant else None))
        plan.rows.append(
            PlannedRow(
                row.line,
                row.retailer_sku,
                outcome,
                vendors.get(row.vendor_id, "") if row.vendor_id else "",
                variant[1] if variant else "",
                have.get(variant[0]) if variant else None,
                before,
            )
        )
    plan.errors.sort(key=lambda e: e.line)
    return plan


@dataclass(frozen=True)
class Imported:
    rows_applied: int
    rows_rejected: int
    items_created: int
    sources_added: int
    priorities_changed: int
    item_ids: list[int]  # the items whose sources changed (to publish)


def apply_mappings(
    session: Session,
    *,
    retailer_id: int,
    data: bytes,
    filename: str,
    actor: Actor,
    now: dt.datetime,
) -> Imported:
    """Apply a mapping file's valid rows (read and planned afresh: the catalog may have moved since
    the preview), and record the import in the audit log. Raises InvalidInput (an unreadable file)."""
    rows, errors = read_mappings(data)
    plan = plan_mappings(session, retailer_id=retailer_id, rows=rows, errors=errors)
    created = added = reprioritized = 0
    touched: dict[str, RetailerItem] = {}
    for row, variant_id in plan.resolved:
        item = plan.items.get(row.retailer_sku)
        if item is None:
            item = RetailerItem(
                retailer_id=retailer_id,
                retailer_sku=row.retailer_sku,
                title=row.title or "",
                gtin=None,
                created_at=now,
                updated_at=now,
            )
            session.add(item)
            plan.items[row.retailer_sku] = item
            created += 1
        changed = False
        if row.title and item.title != row.title:
            item.title, changed = row.title, True
        if row.gtin and item.gtin != row.gtin:
            item.gtin, changed = row.gtin, True
        if variant_id is not None:
            source = next((s for s in item.sources if s.variant_id == variant_id), None)
            if source is None:
                item.sources.append(ItemSource(variant_id=variant_id, priority=row.priority or 0))
                added += 1
                changed = True
            elif row.priority is not None and source.priority != row.priority:
                source.priority = row.priority
                reprioritized += 1
                changed = True
        if changed:
            item.updated_at = now
            touched[item.retailer_sku] = item
    session.flush()
    summary = {
        "file": filename[-200:],
        "rows_applied": len(plan.resolved),
        "rows_rejected": len(plan.errors),
        "items_created": created,
        "sources_added": added,
        "priorities_changed": reprioritized,
    }
    audit.record(
        session,
        org_id=retailer_id,
        actor=actor,
        action=IMPORTED,
        subject=f"mapping file {filename[-150:]}",
        before=None,
        after=summary,
        now=now,
    )
    return Imported(
        rows_applied=len(plan.resolved),
        rows_rejected=len(plan.errors),
        items_created=created,
        sources_added=added,
        priorities_changed=reprioritized,
        item_ids=sorted(item.id for item in touched.values()),
    )
