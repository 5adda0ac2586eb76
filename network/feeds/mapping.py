"""Our feed vocabulary: the row and format types, value rules, and the collector that dedups rows.

Every format module (CSV, JSON, X12) turns its records into calls on a
`RowCollector`; the rules for what a valid value is live here once, so a
quantity means the same thing whatever file it came in.
"""

from __future__ import annotations

import codecs
import dataclasses
import datetime
import decimal
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from network.catalog.gtin import has_gtin_shape, is_valid_gtin
from network.catalog.skus import normal_sku, sku_character_problem
from network.stock.rows import FeedRow, RowError

FIELDS: tuple[str, ...] = (
    "sku",
    "quantity",
    "damaged",
    "pending_inspection",
    "incoming",
    "incoming_eta",
    "gtin",
    "title",
    "cost",
    "as_of",
)
REQUIRED: tuple[str, ...] = ("sku", "quantity")

# No vendor holds a billion units of one SKU; a bigger number is a broken export
# (a GTIN pasted into the quantity column, a float overflow) and must not reach stock.
MAX_QUANTITY = 1_000_000_000
MAX_SKU = 255  # a longer "SKU" is a whole line pasted into one cell, not an identifier
KINDS = frozenset({"csv", "json", "x12"})
DECIMAL_POLICIES = frozenset({"reject", "floor"})
X12_MAPPABLE = frozenset({"sku", "gtin"})

_UTC = datetime.UTC
_Moment = TypeVar("_Moment", datetime.date, datetime.datetime)
# re.ASCII: "\d" would otherwise take Arabic-Indic and other digits that Decimal accepts.
_DECIMAL_RE = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)", re.ASCII)
_COST_RE = re.compile(r"\+?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


@dataclass(frozen=True)
class ParsedFeed:
    """The result of parsing one feed: valid rows, rejected records and the file-level as-of."""

    rows: list[FeedRow]
    errors: list[RowError]
    as_of: datetime.datetime | None = None
    streamed: int = 0  # valid rows handed to a sink instead of kept in `rows`

    @property
    def rows_seen(self) -> int:
        """Count every record that ended up either applied or rejected."""
        return len(self.rows) + self.streamed + len(self.errors)


# Where a streaming parse hands its valid rows, a chunk at a time (a staging table, not a list).
RowSink = Callable[[Sequence[FeedRow]], None]
# Where a streaming parse hands every claimed (sku, line), so that duplicate SKUs are found where
# the rows are staged rather than in a dict of every SKU of the file (network.stock.staging).
ClaimSink = Callable[[Sequence[tuple[str, int]]], None]
SINK_CHUNK = 5000


@dataclass(frozen=True)
class FeedFormat:
    """How to read one vendor's feed: kind, column mapping, delimiter, encoding and policies.

    Raises ValueError for a configuration that can never parse anything.
    """

    kind: str = "csv"
    mapping: Mapping[str, str] = field(default_factory=dict, hash=False)
    delimiter: str | None = None
    encoding: str = "utf-8"
    filter: Mapping[str, str] = field(default_factory=dict, hash=False)
    sum_duplicates: bool = False
    decimal_quantities: str = "reject"

    def __post_init__(self) -> None:
        """Check the configuration and freeze the mappings."""
        if self.kind not in KINDS:
            raise ValueError(f"unknown feed kind {self.kind!r}; use one of {sorted(KINDS)}")
        if self.decimal_quantities not in DECIMAL_POLICIES:
            raise ValueError(
                f"decimal_quantities must be one of {sorted(DECIMAL_POLICIES)}, "
                f"not {self.decimal_quantities!r}"
            )
        if self.delimiter is not None and (len(self.delimiter) != 1 or self.delimiter in '"\r\n'):
            raise ValueError(
                f"delimiter must be one character other than a quote or newline, not {self.delimiter!r}"
            )
        try:
            codec = codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {self.encoding!r}") from None
        # bytes.decode refuses "hex", "rot13" and other non-text codecs by this same flag.
        if not getattr(codec, "_is_text_encoding", True):
            raise ValueError(f"{self.encoding!r} is not a text encoding")
        allowed = X12_MAPPABLE if self.kind == "x12" else frozenset(FIELDS)
        for ours, theirs in self.mapping.items():
            if ours not in allowed:
                raise ValueError(f"cannot map {ours!r}: {self.kind} feeds map only {sorted(allowed)}")
            if not isinstance(theirs, str) or not theirs.strip():
                raise ValueError(f"mapping for {ours!r} must be a non-blank name")
        if self.kind == "x12" and self.filter:
            raise ValueError("x12 feeds cannot be filtered by column")
        for theirs, value in self.filter.items():
            if not isinstance(theirs, str) or not theirs.strip() or not isinstance(value, str):
                raise ValueError(f"filter {theirs!r}: {value!r} must map a column name to a text value")
        # Copy into read-only views so a caller mutating its dict later cannot change a
        # format that may already be cached or shared between runs.
        object.__setattr__(self, "mapping", MappingProxyType(dict(self.mapping)))
        object.__setattr__(self, "filter", MappingProxyType(dict(self.filter)))

    def column_for(self, ours: str) -> str:
        """Return their column name for our field (our own name when unmapped)."""
        return self.mapping.get(ours, ours)


def normalize_name(name: str) -> str:
    """Return a header/key name in the form used for matching (trimmed, case-folded)."""
    return name.strip().casefold()


# --- value rules -------------------------------------------------------------------
# Each parser returns (value, None) or (None, reason); rows are rejected, never raised on.


def parse_count(raw: str, label: str, policy: str) -> tuple[int | None, str | None]:
    """Parse a unit count from text ("12", " 12 ", "12.0000"); blank gives (None, None)."""
    text = raw.strip()
    if not text:
        return None, None
    if text.isascii() and text.isdigit():
        digits = text.lstrip("0")
        if len(digits) > 10:
            return None, f"{label} {show(text)} is absurdly large (over {MAX_QUANTITY:,})"
        value = int(text)
    elif "," in text:
        return None, f"{label} {show(text)} has a comma; write whole numbers without thousands separators"
    elif text[0] == "-" and text[1:].replace(".", "", 1).isdigit() and text[1:].isascii():
        return None, f"{label} {show(text)} is negative"
    elif _DECIMAL_RE.fullmatch(text) or (text[0] == "+" and text[1:].isascii() and text[1:].isdigit()):
        if len(text) > 40:
            return None, f"{label} {show(text)} is too long to be a count"
        number = decimal.Decimal(text)
        return whole_units(number, text, label, policy)
    else:
        return None, f"{label} {show(text)} is not a number"
    if value > MAX_QUANTITY:
        return None, f"{label} {show(text)} is absurdly large (over {MAX_QUANTITY:,})"
    return value, None


def whole_units(number: decimal.Decimal, text: str, label: str, policy: str) -> tuple[int | None, str | None]:
    """Turn a decimal count into whole units, applying the feed's decimal policy."""
    if number < 0:
        return None, f"{label} {show(text)} is negative"
    if number > MAX_QUANTITY:
        return None, f"{label} {show(text)} is absurdly large (over {MAX_QUANTITY:,})"
    whole = int(number)  # truncates toward zero, which is floor for non-negatives
    if whole != number and policy != "floor":
        return None, f"{label} {show(text)} is not a whole number"
    return whole, None


def gtin_reason(gtin: str) -> str | None:
    """Return why a GTIN is invalid, or None when it is a valid GTIN-8/12/13/14."""
    if not has_gtin_shape(gtin):
        return f"GTIN {show(gtin)} must be 8, 12, 13 or 14 digits"
    if not is_valid_gtin(gtin):
        return f"GTIN {gtin} has a wrong check digit"
    return None


def parse_gtin(raw: str) -> tuple[str | None, str | None]:
    """Parse a GTIN kept as a string (leading zeros matter); blank gives (None, None)."""
    text = raw.strip()
    if not text:
        return None, None
    reason = gtin_reason(text)
    return (None, reason) if reason else (text, None)


def parse_date(raw: str, label: str) -> tuple[datetime.date | None, str | None]:
    """Parse an ISO date or datetime into a date; blank gives (None, None)."""
    text = raw.strip()
    if not text:
        return None, None
    try:
        if len(text) <= 10:
            return datetime.date.fromisoformat(text), None
        return datetime.datetime.fromisoformat(text).date(), None
    except ValueError:
        return None, f"{label} {show(text)} is not an ISO date (YYYY-MM-DD)"


def parse_timestamp(raw: str, label: str) -> tuple[datetime.datetime | None, str | None]:
    """Parse an RFC 3339 timestamp into an aware UTC datetime (naive means UTC)."""
    text = raw.strip()
    if not text:
        return None, None
    # A bare date would silently mean midnight and shift the in-flight order rule by up
    # to a day, so an as-of must say when in the day the count was true.
    if len(text) <= 10:
        return None, f"{label} {show(text)} needs a time, e.g. 2024-05-01T08:00:00Z"
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None, f"{label} {show(text)} is not an RFC 3339 timestamp"
    if moment.tzinfo is None:
        return moment.replace(tzinfo=_UTC), None
    try:
        return moment.astimezone(_UTC), None
    except OverflowError:
        return None, f"{label} {show(text)} is out of range"


def parse_cost(raw: str) -> tuple[decimal.Decimal | None, str | None]:
    """Parse a non-negative decimal cost such as "12.50"; blank gives (None, None)."""
    text = raw.strip()
    if not text:
        return None, None
    if len(text) > 30 or not _COST_RE.fullmatch(text):
        if text.startswith("-") and _COST_RE.fullmatch(text[1:]):
            return None, f"cost {show(text)} is negative"
        return None, f"cost {show(text)} is not a plain decimal like 12.50"
    return decimal.Decimal(text), None


def show(text: str) -> str:
    """Quote a vendor value for a reason, cut short so a junk cell cannot flood the report."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


# --- collecting rows -------------------------------------------------------------------


class RowCollector:
    """Accumulate rows and errors for one file, enforcing the one-record-per-SKU rule.

    With a `sink`, valid rows leave in chunks as they are read, so a file's rows are never all in
    memory at once; only a summed feed keeps them to the end, since a later record of a SKU can
    still change or void an earlier one.
    """

    def __init__(self, fmt: FeedFormat, sink: RowSink | None = None, claims: ClaimSink | None = None) -> None:
        self.rows: list[FeedRow] = []
        self.errors: list[RowError] = []
        self._sink = sink
        self._streamed = 0
        self._sum = fmt.sum_duplicates
        # With a claim sink (and a sink for the rows), duplicates are the stage's to find: every
        # claimed line goes there and is kept here as if it were the first of its SKU.
        self._claims = claims if sink is not None and not self._sum else None
        self._claimed: list[tuple[str, int]] = []
        self._first_line: dict[str, int] = {}
        self._index: dict[str, int] = {}  # sku -> position in self.rows
        self._failed: dict[str, int] = {}  # sku -> line of its first rejected record (sum mode)

    def error(self, line: int, sku: str | None, reason: str) -> None:
        """Reject one record."""
        self.errors.append(RowError(line, sku, reason))
        if self._sum and sku is not None and sku not in self._failed:
            self._failed[sku] = line

    def claim(self, line: int, sku: str) -> str | None:
        """Register a record's SKU and return its normal form; None (and reject it) when it has a
        refused character or is a duplicate."""
        sku = normal_sku(sku)
        problem = sku_character_problem(sku)
        if problem:
            self.errors.append(RowError(line, None, problem))
            return None
        if self._claims is not None:
            self._claimed.append((sku, line))
            if len(self._claimed) >= SINK_CHUNK:
                self._claims(self._claimed)
                self._claimed = []
            return sku
        first = self._first_line.get(sku)
        if first is None:
            self._first_line[sku] = line
            return sku
        if self._sum:
            return sku
        # Duplicates count even when the first record was itself rejected: two
        # conflicting counts for one SKU leave no count we can trust.
        self.errors.append(duplicate_error(line, sku, first))
        return None

    def add(self, row: FeedRow) -> None:
        """Accept a valid row, summing it into an earlier one of the same SKU in sum mode."""
        if not self._sum:
            self.rows.append(row)
            if self._sink is not None and len(self.rows) >= SINK_CHUNK:
                self._flush()
            return
        at = self._index.get(row.sku)
        if at is None:
            self._index[row.sku] = len(self.rows)
            self.rows.append(row)
            return
        merged, reason = _merge(self.rows[at], row)
        if merged is None:
            self.error(row.line, row.sku, reason or "cannot be summed")
        else:
            self.rows[at] = merged

    def result(self, as_of: datetime.datetime | None = None) -> ParsedFeed:
        """Finish the file and return what was parsed."""
        rows = self.rows
        if self._failed:
            # A summed total missing one warehouse's count would publish too little (or,
            # with a later fix, flip-flop); a SKU with any bad record is held back whole.
            kept: list[FeedRow] = []
            for row in rows:
                bad = self._failed.get(row.sku)
                if bad is None:
                    kept.append(row)
                else:
                    self.errors.append(
                        RowError(
                            row.line,
                            row.sku,
                            f"not applied: another record of SKU {show(row.sku)} (line {bad}) "
                            "was rejected, so its total would be incomplete",
                        )
                    )
            rows = kept
        self.errors.sort(key=lambda e: e.line)
        if self._claims is not None and self._claimed:
            self._claims(self._claimed)
            self._claimed = []
        if self._sink is not None:
            self.rows = rows
            self._flush()
            rows = []
        return ParsedFeed(rows=rows, errors=self.errors, as_of=as_of, streamed=self._streamed)

    def _flush(self) -> None:
        assert self._sink is not None
        for start in range(0, len(self.rows), SINK_CHUNK):
            chunk = self.rows[start : start + SINK_CHUNK]
            self._sink(chunk)
            self._streamed += len(chunk)
        self.rows = []


def duplicate_error(line: int, sku: str, first: int) -> RowError:
    """The rejection of a record whose SKU an earlier line (`first`) already claimed."""
    return RowError(line, sku, f"duplicate SKU {show(sku)}: first seen on line {first}")


def with_duplicates(
    parsed: ParsedFeed, duplicates: Sequence[tuple[int, str, int]], removed: int
) -> ParsedFeed:
    """A streamed parse with the duplicates its stage found: (line, sku, first line of the sku).

    Each duplicate line is rejected as a duplicate whatever else it had (as RowCollector.claim does
    before reading the record); `removed` of them were valid rows the stage took back out.
    """
    if not duplicates:
        return parsed
    lines = {line for line, _, _ in duplicates}
    errors = [error for error in parsed.errors if error.line not in lines]
    errors += [duplicate_error(line, sku, first) for line, sku, first in duplicates]
    errors.sort(key=lambda e: e.line)
    return dataclasses.replace(parsed, errors=errors, streamed=parsed.streamed - removed)


def _merge(first: FeedRow, later: FeedRow) -> tuple[FeedRow | None, str | None]:
    """Sum two records of one SKU (e.g. two warehouses) into one row."""
    if first.gtin is not None and later.gtin is not None and first.gtin != later.gtin:
        return None, f"GTIN {later.gtin} differs from GTIN {first.gtin} on line {first.line} for the same SKU"
    quantity = first.quantity + later.quantity
    if quantity > MAX_QUANTITY:
        return None, f"summed quantity {quantity} is absurdly large (over {MAX_QUANTITY:,})"
    return (
        dataclasses.replace(
            first,
            quantity=quantity,
            damaged=_add(first.damaged, later.damaged),
            pending_inspection=_add(first.pending_inspection, later.pending_inspection),
            incoming=_add(first.incoming, later.incoming),
            incoming_eta=_earliest(first.incoming_eta, later.incoming_eta),
            gtin=first.gtin or later.gtin,
            title=first.title or later.title,
            cost=first.cost if first.cost is not None else later.cost,
            # A sum is only as fresh as its stalest part.
            as_of=_earliest(first.as_of, later.as_of),
        ),
        None,
    )


def _add(a: int | None, b: int | None) -> int | None:
    """Add two optional counts."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _earliest(a: _Moment | None, b: _Moment | None) -> _Moment | None:
    """Return the earlier of two optional moments."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
