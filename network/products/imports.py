"""Catalog files: a CSV of products read with a column mapping, previewed, then applied.

Rows are checked one by one: a bad row is reported with its line and reason and the others
apply. Blank cells leave a product's field as it is (a spreadsheet with an empty MAP column
does not erase MAPs); columns not mapped to a field become attributes when asked to.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import decimal
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.catalog import services as catalog
from network.catalog.models import VendorVariant
from network.catalog.skus import normal_sku
from network.errors import InvalidFeed, InvalidInput, NotFound
from network.feeds.mapping import normalize_name
from network.feeds.parsing import RowError, decode
from network.products import guards
from network.products import models as m
from network.products.variants import save_many, save_variant
from network.uploads.services import ENCODINGS, file_headers

# Our fields a person maps columns to, in the order the form shows them.
MAPPABLE = ("sku", "title", "gtin", "cost", "msrp", "map_price", "weight", "description", "image_urls")
DECIMALS = ("cost", "msrp", "map_price", "weight")
ALIASES = {
    "sku": ("sku", "vendor sku", "item", "item number", "part number", "product code", "code"),
    "title": ("title", "name", "product name", "product", "description short"),
    "gtin": ("gtin", "upc", "ean", "barcode", "gtin13", "gtin12"),
    "cost": ("cost", "wholesale", "wholesale price", "unit cost", "price"),
    "msrp": ("msrp", "rrp", "retail price", "list price"),
    "map_price": ("map", "map price", "map_price", "minimum advertised price"),
    "weight": ("weight", "weight kg", "shipping weight"),
    "description": ("description", "long description", "body"),
    "image_urls": ("image urls", "image_urls", "images", "image", "image url", "photo"),
}
PREVIEW_ROWS = 50
MAX_ROWS = 100_000


@dataclass(frozen=True)
class CatalogSettings:
    """How to read a catalog file: their column for each of our fields, and what else to take."""

    mapping: Mapping[str, str]
    encoding: str = "utf-8"
    # Columns not mapped to a field become attributes (named by their header).
    attributes: bool = True
    # Create only the SKUs the vendor does not have yet (a stock upload naming unknown SKUs).
    only_new: bool = False

    def problems(self) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        if not self.mapping.get("sku"):
            errors["map_sku"] = ["choose the column that holds the sku"]
        used = [theirs for theirs in self.mapping.values() if theirs]
        if len({normalize_name(t) for t in used}) != len(used):
            errors["mapping"] = ["a column can feed only one field"]
        unknown = set(self.mapping) - set(MAPPABLE)
        if unknown:
            errors["mapping"] = [f"unknown field {name}" for name in sorted(unknown)]
        if self.encoding not in ENCODINGS:
            errors["encoding"] = ["must be utf-8 or cp1252"]
        return errors


@dataclass(frozen=True)
class CatalogRow:
    line: int
    sku: str
    values: dict
    attributes: dict


@dataclass(frozen=True)
class PlannedRow:
    line: int
    sku: str
    # "new", "changed", "unchanged", "held", or "skipped" (exists, and only new ones were asked for)
    outcome: str
    changes: dict  # {field: [before, after]} in JSON values
    values: dict
    reason: str = ""


@dataclass
class CatalogPlan:
    headers: list[str]
    settings: CatalogSettings
    problems: dict[str, list[str]] = field(default_factory=dict)
    problem: str | None = None  # why the file cannot be read this way at all
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows_seen: int = 0

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def sample(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.outcome in ("new", "changed", "held")][:PREVIEW_ROWS]

    @property
    def applicable(self) -> bool:
        return not self.problems and self.problem is None


def suggest_mapping(headers: Sequence[str]) -> dict[str, str]:
    """Guess their column for each of our fields from common names (blank when nothing fits)."""
    by_name = {normalize_name(h).replace("_", " "): h for h in headers}
    suggested = {}
    for ours in MAPPABLE:
        suggested[ours] = next(
            (
                by_name[alias.replace("_", " ")]
                for alias in ALIASES[ours]
                if alias.replace("_", " ") in by_name
            ),
            "",
        )
    return suggested


def read_rows(data: bytes, settings: CatalogSettings) -> tuple[list[CatalogRow], list[RowError], int]:
    """Read and check a catalog file's rows: (good rows, row errors, rows seen). Raises InvalidFeed."""
    text = decode(data, settings.encoding)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", ";", "\t", "|"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    mapped = {ours: theirs for ours, theirs in settings.mapping.items() if theirs}
    rows: list[CatalogRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    count = 0
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip() for cell in record]
                index = {normalize_name(name): i for i, name in enumerate(header)}
                missing = [theirs for theirs in mapped.values() if normalize_name(theirs) not in index]
                if missing:
                    raise InvalidFeed(f"the file has no column {missing[0]!r}")
                columns = {ours: index[normalize_name(theirs)] for ours, theirs in mapped.items()}
                used = set(columns.values())
                extra = (
                    [i for i, name in enumerate(header) if name and i not in used]
                    if settings.attributes
                    else []
                )
                continue
            count += 1
            if count > MAX_ROWS:
                raise InvalidFeed(f"the file has more than {MAX_ROWS} rows; split it")
            line = reader.line_num
            cells = {ours: _cell(record, i) for ours, i in columns.items()}
            cells["sku"] = normal_sku(cells.get("sku", ""))  # as stored: a lookup must find it
            row, problems = _row(line, cells, {header[i]: _cell(record, i) for i in extra})
            sku = cells.get("sku", "")
            if row is not None and row.sku in seen:
                problems = [f"duplicate sku: also on line {seen[row.sku]}"]
            if problems:
                errors.append(RowError(line, sku or None, "; ".join(problems)))
                continue
            seen[row.sku] = line
            rows.append(row)
    except csv.Error as exc:
        raise InvalidFeed(f"line {reader.line_num}: {exc}") from None
    if header is None:
        raise InvalidFeed("the file has no header line")
    return rows, errors, count


def _cell(record: list[str], i: int) -> str:
    return record[i].strip() if i < len(record) else ""


def _row(line: int, cells: dict[str, str], extra: dict[str, str]) -> tuple[CatalogRow | None, list[str]]:
    sku = cells.pop("sku", "")
    problems: list[str] = []
    values: dict[str, object] = {}
    for name, raw in cells.items():
        if not raw:
            continue  # a blank cell keeps what the product has
        if name in DECIMALS:
            number = parse_decimal(raw)
            if number is None:
                problems.append(f"{name}: {raw!r} is not a number (write 12.50)")
                continue
            values[name] = number
        elif name == "image_urls":
            values[name] = [url for url in raw.replace("|", " ").replace(";", " ").split() if url]
        else:
            values[name] = raw
    attributes = {name: raw for name, raw in extra.items() if raw}
    if attributes:
        values["attributes"] = attributes
    for name, messages in catalog.variant_errors(sku, values).items():
        problems += [f"{name}: {message}" for message in messages]
    if problems:
        return None, problems
    return CatalogRow(line, sku, values, attributes), []


def parse_decimal(raw: str) -> decimal.Decimal | None:
    """Read an amount as people type it: `12.50`, `$12.50`, `12`; None when it is not one."""
    text = raw.strip().lstrip("$€£").strip()
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation:
        return None
    return value if value.is_finite() else None


def plan_import(
    session: Session,
    *,
    vendor_id: int,
    data: bytes,
    settings: CatalogSettings | None,
    limits: guards.CatalogLimits,
    first_look: CatalogSettings | None = None,
) -> CatalogPlan:
    """Say what importing the file with these settings would do, writing nothing.

    With no settings, a mapping is suggested from the file's header names, the other settings
    taken from `first_look` (a stock file offered for creating products takes no attributes).
    """
    given = settings or first_look or CatalogSettings(mapping={})
    try:
        headers = file_headers(data, given.encoding if given.encoding in ENCODINGS else "utf-8")
    except InvalidFeed as exc:
        return CatalogPlan(headers=[], settings=given, problem=exc.detail)
    if settings is None:
        settings = dataclasses.replace(given, mapping=suggest_mapping(headers))
    plan = CatalogPlan(headers=headers, settings=settings, problems=settings.problems())
    if plan.problems:
        return plan
    try:
        rows, plan.errors, plan.rows_seen = read_rows(data, settings)
    except InvalidFeed as exc:
        plan.problem = exc.detail
        return plan
    existing = _existing(session, vendor_id, [row.sku for row in rows])
    for row in rows:
        variant = existing.get(row.sku)
        if variant is not None and settings.only_new:
            plan.rows.append(PlannedRow(row.line, row.sku, "skipped", {}, {}))
            continue
        values = dict(row.values)
        if variant is not None and row.attributes:
            values["attributes"] = {**variant.attributes, **row.attributes}
        diff = catalog.json_diff(catalog.variant_changes(variant, values, replace=False))
        if variant is None:
            plan.rows.append(PlannedRow(row.line, row.sku, "new", diff, values))
            continue
        reason = guards.catalog_slip(variant, values, limits)
        outcome = "held" if reason else ("changed" if diff else "unchanged")
        plan.rows.append(PlannedRow(row.line, row.sku, outcome, diff, values, reason or ""))
    return plan


def _existing(session: Session, vendor_id: int, skus: list[str]) -> dict[str, VendorVariant]:
    found: dict[str, VendorVariant] = {}
    for start in range(0, len(skus), 1000):
        chunk = skus[start : start + 1000]
        found.update(
            (v.vendor_sku, v)
            for v in session.scalars(
                sa.select(VendorVariant).where(
                    VendorVariant.vendor_id == vendor_id, VendorVariant.vendor_sku.in_(chunk)
                )
            )
        )
    return found


def apply_import(
    session: Session,
    *,
    vendor_id: int,
    user_id: int | None,
    filename: str,
    data: bytes,
    settings: CatalogSettings,
    limits: guards.CatalogLimits,
    now: dt.datetime,
) -> m.CatalogImport:
    """Import the file: create and update the good rows, hold the slips, record the import.

    Raises InvalidInput when the settings cannot read the file (nothing is recorded then).
    """
    plan = plan_import(session, vendor_id=vendor_id, data=data, settings=settings, limits=limits)
    if plan.problems:
        raise InvalidInput("check the mapping", errors=plan.problems)
    if plan.problem:
        raise InvalidInput(plan.problem, errors={"file": [plan.problem]})
    record = m.CatalogImport(
        vendor_id=vendor_id,
        user_id=user_id,
        filename=(filename or "catalog.csv")[-255:],
        rows_seen=plan.rows_seen,
        created=plan.count("new"),
        updated=plan.count("changed"),
        unchanged=plan.count("unchanged") + plan.count("skipped"),
        rows_rejected=len(plan.errors),
        errors=[{"line": e.line, "sku": e.sku, "reason": e.reason} for e in plan.errors[:1000]],
        held=[
            {"line": r.line, "sku": r.sku, "reason": r.reason, "values": _jsonable_values(r.values)}
            for r in plan.rows
            if r.outcome == "held"
        ],
        created_at=now,
        status=m.REJECTED,
    )
    changed = [row for row in plan.rows if row.outcome == "changed"]
    existing = _existing(session, vendor_id, [row.sku for row in changed])
    save_many(
        session,
        vendor_id=vendor_id,
        new=[(row.sku, row.values) for row in plan.rows if row.outcome == "new"],
        changed=[(existing[row.sku], row.values) for row in changed],
        now=now,
    )
    applied = record.created + record.updated + record.unchanged
    record.status = (
        m.APPLIED if not plan.errors else m.PARTIALLY_APPLIED if applied or record.held else m.REJECTED
    )
    session.add(record)
    session.flush()
    if record.held:
        guards.announce_held(session, record, now=now)
    return record


def _jsonable_values(values: dict) -> dict:
    return {name: catalog.jsonable(value) for name, value in values.items()}


def get_import(session: Session, import_id: int, *, vendor_id: int) -> m.CatalogImport:
    """Raises NotFound."""
    record = session.get(m.CatalogImport, import_id)
    if record is None or record.vendor_id != vendor_id:
        raise NotFound(f"catalog import {import_id} not found")
    return record


def resolve_held(
    session: Session, import_id: int, *, vendor_id: int, sku: str, confirm: bool, now: dt.datetime
) -> m.CatalogImport:
    """Apply (confirm) or drop one held row of an import. Raises NotFound."""
    record = get_import(session, import_id, vendor_id=vendor_id)
    held = [row for row in record.held if row["sku"] == sku]
    if not held:
        raise NotFound(f"no held row for {sku!r} in catalog import {import_id}")
    if confirm:
        values = {
            name: decimal.Decimal(value) if name in DECIMALS and value is not None else value
            for name, value in held[0]["values"].items()
        }
        save_variant(session, vendor_id=vendor_id, vendor_sku=sku, values=values, replace=False, now=now)
        record.updated += 1
    record.held = [row for row in record.held if row["sku"] != sku]
    if not record.held:
        record.resolved_at = now
    return record
