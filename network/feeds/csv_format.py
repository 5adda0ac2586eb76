"""Read delimited text feeds (CSV, semicolon, tab, pipe) into feed rows.

Header names are matched through the feed's mapping, trimmed and case-insensitively.
Rows may be ragged (PrestaShop ends every row with a stray `;`): a row only needs
the columns we read. A mapped optional column missing from the header is ignored,
so a vendor dropping a column does not stop its stock from flowing; a missing
sku/quantity column or filter column rejects the file. Records a filter excludes
are not counted as seen; neither are blank lines.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from network.errors import InvalidFeed
from network.feeds.mapping import (
    FIELDS,
    MAX_QUANTITY,
    MAX_SKU,
    REQUIRED,
    ClaimSink,
    FeedFormat,
    FeedRow,
    ParsedFeed,
    RowCollector,
    RowSink,
    normalize_name,
    parse_cost,
    parse_count,
    parse_date,
    parse_gtin,
    parse_timestamp,
)

SNIFFED = (",", ";", "\t", "|")


def parse_csv(
    text: str, fmt: FeedFormat, sink: RowSink | None = None, claims: ClaimSink | None = None
) -> ParsedFeed:
    """Parse decoded delimited text (valid rows go to `sink` in chunks when one is given).

    Raises InvalidFeed when the header lacks a required or filter column, or the
    text is not readable as delimited records.
    """
    first = _first_line(text)
    if first is None:
        return ParsedFeed(rows=[], errors=[])
    candidates = [fmt.delimiter] if fmt.delimiter else _candidates(first)
    failure: InvalidFeed | None = None
    for delimiter in candidates:
        reader = _reader(text, delimiter)
        header = reader.header()
        if header is None:
            return ParsedFeed(rows=[], errors=[])
        try:
            columns = _columns(header, fmt, delimiter)
        except InvalidFeed as exc:
            # A wrong sniffed delimiter shows up as missing columns; try the next one
            # but report the most likely delimiter's problem if none fits.
            failure = failure or exc
            continue
        return _rows(reader, header, columns, fmt, sink, claims)
    assert failure is not None
    raise failure


def _first_line(text: str) -> str | None:
    """Return the first line with content, or None for a blank file."""
    for line in _lines(text):
        if line.strip():
            return line
    return None


def _candidates(line: str) -> list[str]:
    """Order the sniffable delimiters by how often they occur in the header line."""
    counts = [(line.count(d), -i, d) for i, d in enumerate(SNIFFED)]
    ordered = [d for count, _, d in sorted(counts, reverse=True) if count]
    return ordered or [","]


def _lines(text: str) -> Iterator[str]:
    """Yield physical lines with their endings, without copying the whole text."""
    newline = "\n" if "\n" in text else "\r"
    start = 0
    end = len(text)
    find = text.find
    while start < end:
        stop = find(newline, start)
        if stop < 0:
            yield text[start:]
            return
        yield text[start : stop + 1]
        start = stop + 1


def _reader(text: str, delimiter: str) -> _Reader:
    """Build a csv reader for the text; tab files are read unquoted, as TSV exports are."""
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    return _Reader(csv.reader(_lines(text), delimiter=delimiter, quoting=quoting))


class _Reader:
    """A csv reader that tracks physical lines, so each record knows the line it starts on."""

    def __init__(self, records: Iterator[list[str]]) -> None:
        self.csv = records
        self.consumed = 0  # physical lines read so far
        self.filters: list[tuple[int, str]] = []

    def header(self) -> list[str] | None:
        """Return the first non-blank record, or None when there is none.

        Raises InvalidFeed when the text before it is not readable.
        """
        try:
            for record in self.csv:
                self.consumed = self.csv.line_num  # type: ignore[attr-defined]
                if any(cell.strip() for cell in record):
                    return record
        except csv.Error as exc:
            line = self.csv.line_num  # type: ignore[attr-defined]
            raise InvalidFeed(f"line {line} cannot be read as delimited text: {exc}") from None
        return None


def _columns(header: list[str], fmt: FeedFormat, delimiter: str) -> dict[str, int]:
    """Map our field names to column indexes.

    Raises InvalidFeed for a missing required/filter column or an ambiguous one.
    """
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        positions.setdefault(normalize_name(name), []).append(i)
    columns: dict[str, int] = {}
    for ours in FIELDS:
        theirs = fmt.column_for(ours)
        found = positions.get(normalize_name(theirs), [])
        if len(found) > 1:
            if ours in REQUIRED or ours in fmt.mapping:
                numbers = ", ".join(str(i + 1) for i in found)
                raise InvalidFeed(f"column {theirs!r} ({ours}) appears more than once (columns {numbers})")
            continue  # an implicit match we cannot trust; the field is optional
        if found:
            columns[ours] = found[0]
    for ours in REQUIRED:
        if ours not in columns:
            theirs = fmt.column_for(ours)
            raise InvalidFeed(
                f"required column {theirs!r} ({ours}) not found; "
                f"the header has {_names(header)} (delimiter {delimiter!r})"
            )
    for theirs in fmt.filter:
        if normalize_name(theirs) not in positions:
            raise InvalidFeed(f"filter column {theirs!r} not found; the header has {_names(header)}")
    return columns


def _names(header: list[str]) -> str:
    """List header names for an error message, shortened for very wide files."""
    names = [name.strip() for name in header]
    shown = ", ".join(repr(n) for n in names[:30])
    return f"[{shown}{', ...' if len(names) > 30 else ''}]"


def _rows(
    reader: _Reader,
    header: list[str],
    columns: dict[str, int],
    fmt: FeedFormat,
    sink: RowSink | None,
    claims: ClaimSink | None = None,
) -> ParsedFeed:
    """Validate every data record after the header."""
    out = RowCollector(fmt, sink, claims)
    positions = {normalize_name(name): i for i, name in reversed(list(enumerate(header)))}
    reader.filters = [(positions[normalize_name(k)], v.strip().casefold()) for k, v in fmt.filter.items()]
    try:
        _validate(reader, out, columns, fmt)
    except csv.Error as exc:
        line = reader.csv.line_num  # type: ignore[attr-defined]
        raise InvalidFeed(f"line {line} cannot be read as delimited text: {exc}") from None
    return out.result()


def _validate(reader: _Reader, out: RowCollector, columns: dict[str, int], fmt: FeedFormat) -> None:
    """Validate each remaining record into the collector (the hot loop: keep it flat)."""
    policy = fmt.decimal_quantities
    filters = reader.filters
    si = columns["sku"]
    qi = columns["quantity"]
    need = max(si, qi)
    di = columns.get("damaged", -1)
    pi = columns.get("pending_inspection", -1)
    ii = columns.get("incoming", -1)
    ei = columns.get("incoming_eta", -1)
    gi = columns.get("gtin", -1)
    ti = columns.get("title", -1)
    ci = columns.get("cost", -1)
    ai = columns.get("as_of", -1)
    sku_name = fmt.column_for("sku")
    qty_name = fmt.column_for("quantity")
    records = reader.csv
    consumed = reader.consumed
    claim = out.claim
    add = out.add

    for record in records:
        line = consumed + 1
        consumed = records.line_num
        n = len(record)
        if not n:
            continue  # blank line
        if filters and not all(i < n and record[i].strip().casefold() == want for i, want in filters):
            continue
        if n <= need:
            if not any(cell.strip() for cell in record):
                continue
            name, index = (qty_name, qi) if n <= qi else (sku_name, si)
            sku_seen = (record[si].strip() or None) if si < n else None
            out.error(
                line,
                sku_seen,
                f"row has {n} fields, too few to reach the {name!r} column (field {index + 1})",
            )
            continue
        sku = record[si].strip()
        if not sku:
            if any(cell.strip() for cell in record):
                out.error(line, None, "blank sku")
            continue
        if len(sku) > MAX_SKU:
            out.error(line, None, f"sku is longer than {MAX_SKU} characters")
            continue
        sku = claim(line, sku)
        if sku is None:
            continue

        problems: list[str] | None = None
        value = record[qi]
        if value.isdigit() and value.isascii() and len(value) <= 10 and int(value) <= MAX_QUANTITY:
            quantity: int | None = int(value)
        else:
            quantity, problem = parse_count(value, "quantity", policy)
            if problem:
                problems = [problem]
            elif quantity is None:
                problems = ["quantity is missing"]

        damaged = pending = incoming = None
        eta = gtin = title = cost = as_of = None
        if di >= 0 and di < n:
            damaged, problem = _count(record[di], "damaged", policy)
            if problem:
                problems = [*(problems or ()), problem]
        if pi >= 0 and pi < n:
            pending, problem = _count(record[pi], "pending_inspection", policy)
            if problem:
                problems = [*(problems or ()), problem]
        if ii >= 0 and ii < n:
            incoming, problem = _count(record[ii], "incoming", policy)
            if problem:
                problems = [*(problems or ()), problem]
        if ei >= 0 and ei < n and record[ei]:
            eta, problem = parse_date(record[ei], "incoming_eta")
            if problem:
                problems = [*(problems or ()), problem]
        if gi >= 0 and gi < n and record[gi]:
            gtin, problem = parse_gtin(record[gi])
            if problem:
                problems = [*(problems or ()), problem]
        if ti >= 0 and ti < n:
            title = record[ti].strip() or None
        if ci >= 0 and ci < n and record[ci]:
            cost, problem = parse_cost(record[ci])
            if problem:
                problems = [*(problems or ()), problem]
        if ai >= 0 and ai < n and record[ai]:
            as_of, problem = parse_timestamp(record[ai], "as_of")
            if problem:
                problems = [*(problems or ()), problem]

        if problems or quantity is None:
            out.error(line, sku, "; ".join(problems or ["quantity is missing"]))
            continue
        add(FeedRow(line, sku, quantity, damaged, pending, incoming, eta, gtin, title, cost, as_of))


def _count(value: str, label: str, policy: str) -> tuple[int | None, str | None]:
    """Parse an optional count, taking the common plain-digits case before the general rules."""
    if value.isdigit() and value.isascii() and len(value) <= 10:
        number = int(value)
        if number <= MAX_QUANTITY:
            return number, None
    return parse_count(value, label, policy)
