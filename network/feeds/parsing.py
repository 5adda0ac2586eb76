"""Parse vendor stock feeds: bytes in, validated rows out.

This is the public entry point of the parsing layer; it decodes the bytes and
hands the text to the reader for the feed's kind (csv_format, json_format,
x12). Nothing here touches a database, a clock or the network.

Every data record ends up either in `rows` or in `errors` (`rows_seen` is their
sum). Records a `filter` excludes are not counted, and with `sum_duplicates`
several records of one SKU count once. Errors on line 0 are about the file as a
whole (X12 envelope problems) and count as seen, so the vendor sees them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from network.errors import InvalidFeed
from network.feeds.csv_format import parse_csv
from network.feeds.json_format import collect, parse_json
from network.feeds.mapping import ClaimSink, FeedFormat, FeedRow, ParsedFeed, RowError, RowSink
from network.feeds.x12 import parse_x12

__all__ = [
    "FeedFormat",
    "FeedRow",
    "ParsedFeed",
    "RowError",
    "RowSink",
    "parse_feed",
    "parse_records",
    "decode",
]

DEFAULT_FORMAT = FeedFormat()
_BOM = b"\xef\xbb\xbf"
_READERS = {"csv": parse_csv, "json": parse_json, "x12": parse_x12}


def parse_feed(
    data: bytes,
    fmt: FeedFormat = DEFAULT_FORMAT,
    *,
    sink: RowSink | None = None,
    claims: ClaimSink | None = None,
) -> ParsedFeed:
    """Parse a feed file in the given format.

    With a `sink`, valid rows are handed to it in chunks as they are read and the result keeps
    only their count (`streamed`), the errors and the as-of: a big file's rows never sit in a list.

    Raises InvalidFeed when the file cannot be read at all (encoding, missing
    required column, broken JSON or X12 envelope).
    """
    return _READERS[fmt.kind](decode(data, fmt.encoding), fmt, sink, claims)


def parse_records(
    records: Iterable[Mapping[str, object]],
    fmt: FeedFormat = DEFAULT_FORMAT,
    *,
    first_line: int = 1,
    sink: RowSink | None = None,
    claims: ClaimSink | None = None,
) -> ParsedFeed:
    """Validate already-decoded records (the JSON push API); line numbers start at first_line.

    Raises InvalidFeed when there are records but none has a sku or quantity key.
    """
    return collect(records, fmt, first_line=first_line, sink=sink, claims=claims)


def decode(data: bytes, encoding: str = "utf-8") -> str:
    """Decode feed bytes, dropping a UTF-8 byte-order mark whatever the encoding.

    Raises InvalidFeed naming the encoding and the byte offset that failed.
    """
    # A BOM on a file configured as cp1252 would decode to "ï»¿" glued to the first
    # header; it only ever means "this is UTF-8 from Excel", so it always goes.
    skipped = len(_BOM) if data.startswith(_BOM) else 0
    try:
        text = str(memoryview(data)[skipped:], encoding)  # a view: no second copy of the file
    except UnicodeDecodeError as exc:
        offset = exc.start + skipped
        byte = data[offset : offset + 1].hex().upper()
        hint = (
            " (is it latin-1/cp1252? set the feed's encoding)" if encoding.lower().startswith("utf") else ""
        )
        raise InvalidFeed(
            f"the file is not valid {encoding}: byte 0x{byte} at offset {offset} cannot be decoded{hint}"
        ) from None
    return text[1:] if text.startswith("\ufeff") else text
