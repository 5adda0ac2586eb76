"""Stock a vendor person enters in the portal: quantities edited in place, and CSV files uploaded
with a column mapping checked on a preview first. Both go through the feed pipeline as runs of
transport `upload`, so the ledger, the in-flight rule and publishing work as for any feed."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.catalog.models import VendorVariant
from network.errors import InvalidFeed, InvalidInput, NotFound
from network.feeds import jumps
from network.feeds.mapping import FIELDS, REQUIRED, normalize_name
from network.feeds.models import FeedRun
from network.feeds.parsing import FeedFormat, RowError, decode, parse_feed
from network.feeds.services import FeedReceipt, receive_feed
from network.partners.guards import guard_limits
from network.stock import services as stock
from network.stock.models import BASES, StockPosition
from network.stock.snapshot import plan_snapshot
from network.uploads.models import UploadDraft

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
DRAFT_LIFETIME = dt.timedelta(days=1)
PREVIEW_ROWS = 20
ENCODINGS = ("utf-8", "cp1252")
MODES = ("delta", "full")
# Our fields a person maps columns to, in the order the form shows them.
MAPPABLE = ("sku", "quantity", "damaged", "pending_inspection", "incoming", "incoming_eta", "as_of")
# Column names vendors' spreadsheets use for our fields, recognised without a mapping.
ALIASES = {
    "sku": ("sku", "item", "item number", "item no", "part number", "vendor sku", "product code", "code"),
    "quantity": (
        "quantity",
        "qty",
        "stock",
        "available",
        "qty available",
        "on hand",
        "qty on hand",
        "inventory",
    ),
    "damaged": ("damaged", "qty damaged"),
    "pending_inspection": ("pending inspection", "pending_inspection", "returns"),
    "incoming": ("incoming", "on order", "qty on order"),
    "incoming_eta": ("incoming eta", "incoming_eta", "eta", "next delivery"),
    "as_of": ("as of", "as_of", "updated at", "timestamp"),
}


# --- quantities edited in place --------------------------------------------------------------


@dataclass(frozen=True)
class QuantityEdit:
    variant_id: int
    quantity: int
    # The quantity the person saw; a different current one means someone else changed it since.
    expected: int | None = None


@dataclass
class SaveResult:
    runs: list[FeedRun] = field(default_factory=list)
    # (sku, the quantity now held) of edits refused because the count changed since the page loaded
    conflicts: list[tuple[str, int]] = field(default_factory=list)


def save_quantities(
    session: Session, *, vendor_id: int, edits: Sequence[QuantityEdit], now: dt.datetime
) -> SaveResult:
    """Record edited quantities as a delta feed run of transport `upload`, as of now.

    Positions keep their basis (one run per basis when they differ). Raises InvalidInput for a
    negative quantity, NotFound for a variant that is not the vendor's.
    """
    bad = [e.variant_id for e in edits if e.quantity < 0]
    if bad:
        raise InvalidInput("quantities cannot be negative", errors={"quantity": ["must be 0 or more"]})
    wanted = {e.variant_id: e for e in edits}
    rows = session.execute(
        sa.select(VendorVariant.id, VendorVariant.vendor_sku, StockPosition.quantity, StockPosition.basis)
        .join(StockPosition, StockPosition.variant_id == VendorVariant.id)
        .where(VendorVariant.vendor_id == vendor_id, VendorVariant.id.in_(list(wanted)))
        .order_by(VendorVariant.vendor_sku)
    ).all()
    if len(rows) != len(wanted):
        raise NotFound("a variant of the edit is not one of yours")
    result = SaveResult()
    by_basis: dict[str, list[tuple[str, int]]] = {}
    for row in rows:
        edit = wanted[row.id]
        if edit.expected is not None and edit.expected != row.quantity:
            result.conflicts.append((row.vendor_sku, row.quantity))
        elif edit.quantity != row.quantity:
            by_basis.setdefault(row.basis, []).append((row.vendor_sku, edit.quantity))
    for basis, changes in sorted(by_basis.items()):
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["sku", "quantity"])
        writer.writerows(changes)
        receipt = FeedReceipt(
            vendor_id=vendor_id,
            transport="upload",
            mode="delta",
            basis=basis,
            data=text.getvalue().encode(),
            fmt=FeedFormat(kind="csv", delimiter=","),
            as_of=now,
        )
        result.runs.append(receive_feed(session, receipt, now=now))
    return result


# --- CSV uploads with a mapping preview ------------------------------------------------------


def stage_upload(
    session: Session, *, vendor_id: int, user_id: int | None, filename: str, data: bytes, now: dt.datetime
) -> UploadDraft:
    """Keep an uploaded file until its mapping is confirmed. Raises InvalidInput (empty or too big)."""
    if not data.strip():
        raise InvalidInput("the file is empty", errors={"file": ["the file is empty"]})
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            "the file is too big", errors={"file": [f"at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"]}
        )
    # Drafts nobody came back to are dropped as new ones arrive.
    session.execute(
        sa.delete(UploadDraft).where(
            UploadDraft.vendor_id == vendor_id, UploadDraft.created_at < now - DRAFT_LIFETIME
        )
    )
    draft = UploadDraft(
        vendor_id=vendor_id,
        user_id=user_id,
        filename=(filename or "upload.csv")[-255:],
        size=len(data),
        gzipped=gzip.compress(data, compresslevel=1),
        created_at=now,
    )
    session.add(draft)
    session.flush()
    return draft


def get_draft(session: Session, draft_id: int, *, vendor_id: int) -> UploadDraft:
    """Raises NotFound."""
    draft = session.get(UploadDraft, draft_id)
    if draft is None or draft.vendor_id != vendor_id:
        raise NotFound(f"upload {draft_id} not found (it may have been applied or discarded)")
    return draft


def discard_upload(session: Session, draft_id: int, *, vendor_id: int) -> None:
    """Raises NotFound."""
    session.delete(get_draft(session, draft_id, vendor_id=vendor_id))
    session.flush()


@dataclass(frozen=True)
class UploadSettings:
    """How to read an uploaded file: their column for each of our fields, mode, basis, encoding."""

    mapping: Mapping[str, str]
    mode: str = "delta"
    basis: str = "available"
    encoding: str = "utf-8"

    def check(self) -> None:
        """Raises InvalidInput with the problems()."""
        errors = self.problems()
        if errors:
            raise InvalidInput("check the mapping", errors=errors)

    def problems(self) -> dict[str, list[str]]:
        """Say what keeps these settings from reading a file, per form field (empty: none)."""
        errors: dict[str, list[str]] = {}
        for ours in REQUIRED:
            if not self.mapping.get(ours):
                errors[f"map_{ours}"] = [f"choose the column that holds the {ours}"]
        used = [theirs for theirs in self.mapping.values() if theirs]
        if len({normalize_name(t) for t in used}) != len(used):
            errors["mapping"] = ["a column can feed only one field"]
        unknown = set(self.mapping) - set(FIELDS)
        if unknown:
            errors["mapping"] = [f"unknown field {name}" for name in sorted(unknown)]
        if self.mode not in MODES:
            errors["mode"] = ["must be delta or full"]
        if self.basis not in BASES:
            errors["basis"] = ["must be available or on_hand"]
        if self.encoding not in ENCODINGS:
            errors["encoding"] = ["must be utf-8 or cp1252"]
        return errors

    def feed_format(self) -> FeedFormat:
        return FeedFormat(
            kind="csv", mapping={k: v for k, v in self.mapping.items() if v}, encoding=self.encoding
        )


@dataclass(frozen=True)
class PreviewRow:
    line: int
    sku: str
    before: int | None  # None: the sku is not one of the vendor's variants
    after: int


@dataclass(frozen=True)
class UploadPreview:
    headers: list[str]
    # The settings shown: the person's choices, or a mapping suggested from the header names.
    settings: UploadSettings
    # Per form field, what keeps the settings from being applied (then nothing below is filled).
    problems: dict[str, list[str]] = field(default_factory=dict)
    # Why the file cannot be read with the settings at all (encoding, missing column).
    problem: str | None = None
    sample: list[PreviewRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows_seen: int = 0
    rows_valid: int = 0
    changes: int = 0
    zeroed: int = 0
    # Rows naming SKUs the vendor has no product for (the portal offers to create them).
    unknown_skus: int = 0
    # Why rows would be held apart for confirmation (a count far beyond its history).
    held: list[str] = field(default_factory=list)


def file_headers(data: bytes, encoding: str = "utf-8") -> list[str]:
    """Return the header names of a delimited file (its first non-blank line). Raises InvalidFeed."""
    text = decode(data[:65536], encoding)
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        raise InvalidFeed("the file has no header line")
    delimiter = max((",", ";", "\t", "|"), key=first.count)
    return [name.strip() for name in next(csv.reader([first], delimiter=delimiter)) if name.strip()]


def suggest_mapping(headers: Sequence[str]) -> dict[str, str]:
    """Guess their column for each of our fields from common names (blank when nothing fits)."""
    by_name = {normalize_name(h).replace("_", " "): h for h in headers}
    suggested = {}
    for ours in MAPPABLE:
        for alias in ALIASES[ours]:
            if alias.replace("_", " ") in by_name:
                suggested[ours] = by_name[alias.replace("_", " ")]
                break
        else:
            suggested[ours] = ""
    return suggested


def preview_upload(
    session: Session,
    draft: UploadDraft,
    *,
    mapping: Mapping[str, str] | None,
    mode: str = "delta",
    basis: str = "available",
    encoding: str = "utf-8",
    now: dt.datetime,
) -> UploadPreview:
    """Show what applying the file with these settings would change, writing nothing.

    With no mapping, one is suggested from the file's header names.
    """
    data = gzip.decompress(draft.gzipped)
    settings = UploadSettings(mapping=mapping or {}, mode=mode, basis=basis, encoding=encoding)
    try:
        headers = file_headers(data, encoding if encoding in ENCODINGS else "utf-8")
    except InvalidFeed as exc:
        return UploadPreview(headers=[], settings=settings, problem=exc.detail)
    if mapping is None:
        settings = UploadSettings(mapping=suggest_mapping(headers), mode=mode, basis=basis, encoding=encoding)
    problems = settings.problems()
    if problems:
        return UploadPreview(headers=headers, settings=settings, problems=problems)
    try:
        parsed = parse_feed(data, settings.feed_format())
    except InvalidFeed as exc:
        return UploadPreview(headers=headers, settings=settings, problem=exc.detail)
    current = stock.current_positions(session, draft.vendor_id)
    plan = plan_snapshot(current, parsed.rows, full=mode == "full", basis=basis, as_of=now)
    limits = guard_limits(session, draft.vendor_id)
    jumped = jumps.find_jumps(session, vendor_id=draft.vendor_id, rows=parsed.rows, plan=plan, limits=limits)
    sample = [
        PreviewRow(
            line=row.line,
            sku=row.sku,
            before=current[row.sku].quantity if row.sku in current else None,
            after=row.quantity,
        )
        for row in parsed.rows[:PREVIEW_ROWS]
    ]
    return UploadPreview(
        headers=headers,
        settings=settings,
        sample=sample,
        errors=sorted([*parsed.errors, *plan.errors], key=lambda e: e.line),
        rows_seen=parsed.rows_seen,
        rows_valid=plan.applied,
        changes=sum(1 for _, _, diff in plan.changes if diff),
        zeroed=plan.zeroed,
        unknown_skus=sum(1 for row in parsed.rows if row.sku not in current),
        held=[jump.reason(limits) for jump in jumped],
    )


def apply_upload(
    session: Session,
    draft_id: int,
    *,
    vendor_id: int,
    settings: UploadSettings,
    hold_share: float | None,
    now: dt.datetime,
) -> FeedRun:
    """Run the uploaded file through the feed pipeline and drop the draft.

    A full file that looks like a broken export is held like any feed (`hold_share`, see
    network.feeds.guards) for the vendor to confirm on its run's page. Raises NotFound, InvalidInput.
    """
    settings.check()
    draft = get_draft(session, draft_id, vendor_id=vendor_id)
    receipt = FeedReceipt(
        vendor_id=vendor_id,
        transport="upload",
        mode=settings.mode,
        basis=settings.basis,
        data=gzip.decompress(draft.gzipped),
        fmt=settings.feed_format(),
    )
    run = receive_feed(session, receipt, now=now, hold_share=hold_share)
    session.delete(draft)
    session.flush()
    return run
