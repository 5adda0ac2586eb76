"""Read JSON feeds and already-decoded records (the push API) into feed rows.

A document is either an array of records or an object holding exactly one array
(`{"rows": [...]}`, `{"items": [...]}`), possibly beside scalar keys such as the
push API's `as_of`, `mode` and `basis`; a top-level `as_of` becomes the feed's
file-level as-of. Keys are matched through the mapping, trimmed and
case-insensitively. JSON objects are sparse, so a record lacking a key is a row
error; only when no record at all carries `sku` or `quantity` is the whole feed
rejected, as that is a mapping mistake rather than a bad row.
"""

from __future__ import annotations

import datetime
import decimal
import json
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from network.errors import InvalidFeed
from network.feeds.mapping import (
    FIELDS,
    MAX_QUANTITY,
    MAX_SKU,
    ClaimSink,
    FeedFormat,
    FeedRow,
    ParsedFeed,
    RowCollector,
    RowSink,
    gtin_reason,
    normalize_name,
    parse_cost,
    parse_count,
    parse_date,
    parse_gtin,
    parse_timestamp,
    show,
    whole_units,
)

_T = TypeVar("_T")
_KEYSET_CACHE = 64  # distinct key layouts remembered; real feeds have one or two


def parse_json(
    text: str, fmt: FeedFormat, sink: RowSink | None = None, claims: ClaimSink | None = None
) -> ParsedFeed:
    """Parse a decoded JSON document (valid rows go to `sink` in chunks when one is given).

    Raises InvalidFeed for text that is not JSON or not a list of records.
    """
    if not text.strip():
        return ParsedFeed(rows=[], errors=[])
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidFeed(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        # Numbers past Python's digit limit and absurdly deep nesting land here.
        raise InvalidFeed(f"JSON cannot be read: {exc}") from None
    records, as_of = _unwrap(document, fmt)
    return collect(records, fmt, first_line=1, as_of=as_of, sink=sink, claims=claims)


def _unwrap(document: object, fmt: FeedFormat) -> tuple[list[object], datetime.datetime | None]:
    """Find the array of records in a document, and its file-level as-of if any.

    Raises InvalidFeed when there is no single array of records.
    """
    if isinstance(document, list):
        return _records(document, "the top-level array"), None
    if not isinstance(document, dict):
        raise InvalidFeed(f"expected an array of records or an object holding one, not {_kind(document)}")
    arrays = [key for key, value in document.items() if isinstance(value, list)]
    if len(arrays) > 1:
        # Prefer the one array that actually holds records over side lists like "tags".
        arrays = [k for k in arrays if document[k] and all(isinstance(v, dict) for v in document[k])]
    if len(arrays) != 1:
        keys = ", ".join(repr(k) for k in list(document)[:20]) or "none"
        what = "several arrays" if arrays else "no array of records"
        raise InvalidFeed(
            f"expected an object holding exactly one array of records; found {what} (keys: {keys})"
        )
    as_of = None
    wanted = normalize_name(fmt.column_for("as_of"))
    for key, value in document.items():
        if normalize_name(key) != wanted or value is None:
            continue
        if not isinstance(value, str):
            raise InvalidFeed(f"{key!r} must be an RFC 3339 timestamp string, not {_kind(value)}")
        as_of, problem = parse_timestamp(value, key)
        if problem:
            raise InvalidFeed(problem)
    return _records(document[arrays[0]], f"the array under {arrays[0]!r}"), as_of


def _records(array: list[object], where: str) -> list[object]:
    """Return an array of records; one holding no object at all is the wrong file, not bad rows.

    Raises InvalidFeed when a non-empty array holds no object.
    """
    if array and not any(isinstance(value, dict) for value in array):
        raise InvalidFeed(f"{where} holds no records (objects), only {_kind(array[0])} values")
    return array


def collect(
    records: Iterable[object],
    fmt: FeedFormat,
    *,
    first_line: int = 1,
    as_of: datetime.datetime | None = None,
    sink: RowSink | None = None,
    claims: ClaimSink | None = None,
) -> ParsedFeed:
    """Validate decoded records; line numbers count from first_line.

    Raises InvalidFeed when records exist but none carries a sku or quantity key.
    """
    out = RowCollector(fmt, sink, claims)
    policy = fmt.decimal_quantities
    wanted = {ours: normalize_name(fmt.column_for(ours)) for ours in FIELDS}
    filters = [(normalize_name(k), v.strip().casefold()) for k, v in fmt.filter.items()]
    layouts: dict[tuple[object, ...], dict[str, str]] = {}
    seen = with_sku = with_quantity = total = filterable = 0
    first_keys: list[str] = []

    for offset, record in enumerate(records):
        line = first_line + offset
        if not isinstance(record, Mapping):
            seen += 1
            out.error(line, None, f"record is {_kind(record)}, not an object")
            continue
        if not first_keys:
            first_keys = [k for k in record if isinstance(k, str)][:30]
        layout = tuple(record)
        keys = layouts.get(layout)
        if keys is None:
            if len(layouts) >= _KEYSET_CACHE:
                layouts.clear()
            keys = _resolve(record, wanted, filters)
            layouts[layout] = keys
        if filters:
            total += 1
            if all("filter:" + k in keys for k, _ in filters):
                filterable += 1
            if not all(_matches(record, keys.get("filter:" + k), want) for k, want in filters):
                continue
        seen += 1
        sku_key = keys.get("sku")
        quantity_key = keys.get("quantity")
        with_sku += sku_key is not None
        with_quantity += quantity_key is not None

        raw_sku = record[sku_key] if sku_key is not None else None
        sku, problem = text_from_json(raw_sku, "sku")
        if problem:
            out.error(line, None, problem)
            continue
        sku = (sku or "").strip()
        if not sku:
            out.error(
                line, None, "blank sku" if sku_key is not None else f"no {fmt.column_for('sku')!r} field"
            )
            continue
        if len(sku) > MAX_SKU:
            out.error(line, None, f"sku is longer than {MAX_SKU} characters")
            continue
        sku = out.claim(line, sku)
        if sku is None:
            continue

        problems: list[str] = []
        quantity, problem = count_from_json(_get(record, keys, "quantity"), "quantity", policy)
        if problem:
            problems.append(problem)
        elif quantity is None:
            name = fmt.column_for("quantity")
            problems.append("quantity is missing" if quantity_key is not None else f"no {name!r} field")
        damaged, problem = count_from_json(_get(record, keys, "damaged"), "damaged", policy)
        if problem:
            problems.append(problem)
        pending, problem = count_from_json(
            _get(record, keys, "pending_inspection"), "pending_inspection", policy
        )
        if problem:
            problems.append(problem)
        incoming, problem = count_from_json(_get(record, keys, "incoming"), "incoming", policy)
        if problem:
            problems.append(problem)
        eta, problem = _text_then(_get(record, keys, "incoming_eta"), "incoming_eta", parse_date)
        if problem:
            problems.append(problem)
        gtin, problem = gtin_from_json(_get(record, keys, "gtin"))
        if problem:
            problems.append(problem)
        title, problem = text_from_json(_get(record, keys, "title"), "title")
        if problem:
            problems.append(problem)
        cost, problem = cost_from_json(_get(record, keys, "cost"))
        if problem:
            problems.append(problem)
        row_as_of, problem = _text_then(_get(record, keys, "as_of"), "as_of", parse_timestamp)
        if problem:
            problems.append(problem)

        if problems or quantity is None:
            out.error(line, sku, "; ".join(problems))
            continue
        out.add(
            FeedRow(
                line,
                sku,
                quantity,
                damaged,
                pending,
                incoming,
                eta,
                gtin,
                (title or "").strip() or None,
                cost,
                row_as_of,
            )
        )

    if total and not filterable:
        names = ", ".join(repr(k) for k in fmt.filter)
        raise InvalidFeed(
            f"no record has the filter field(s) {names}; the first record's keys are {first_keys}"
        )
    if seen:
        for ours, count in (("sku", with_sku), ("quantity", with_quantity)):
            if not count:
                raise InvalidFeed(
                    f"no record has a {fmt.column_for(ours)!r} field ({ours}); "
                    f"the first record's keys are {first_keys}"
                )
    return out.result(as_of)


def _resolve(
    record: Mapping[object, object], wanted: dict[str, str], filters: list[tuple[str, str]]
) -> dict[str, str]:
    """Map our field names (and filter keys, prefixed "filter:") to this key layout's actual keys."""
    by_name: dict[str, str] = {}
    for key in record:
        if isinstance(key, str):
            by_name.setdefault(normalize_name(key), key)
    keys = {ours: by_name[name] for ours, name in wanted.items() if name in by_name}
    for name, _ in filters:
        if name in by_name:
            keys["filter:" + name] = by_name[name]
    return keys


def _matches(record: Mapping[object, object], key: str | None, want: str) -> bool:
    """Tell whether a record's filter value equals the wanted text."""
    if key is None:
        return False
    value = record[key]
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = ""
    elif isinstance(value, int):
        text = _digits(value) or ""
    elif isinstance(value, (str, float)):
        text = str(value)
    else:
        return False
    return text.strip().casefold() == want


def _text_then(
    value: object, label: str, parse: Callable[[str, str], tuple[_T | None, str | None]]
) -> tuple[_T | None, str | None]:
    """Parse a JSON string with a text parser; other JSON types are rejected."""
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, f"{label} must be a text date, not {_kind(value)}"
    return parse(value, label)


def _get(record: Mapping[object, object], keys: dict[str, str], ours: str) -> object:
    """Return a record's value for our field, None when it has no such key."""
    key = keys.get(ours)
    return None if key is None else record[key]


def count_from_json(value: object, label: str, policy: str) -> tuple[int | None, str | None]:
    """Parse a unit count from a decoded JSON value; null gives (None, None)."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return None, f"{label} {str(value).lower()} is not a number"
    if isinstance(value, int):
        if value < 0:
            return None, f"{label} {value} is negative"
        if value > MAX_QUANTITY:
            return None, f"{label} {show(_digits(value) or '...')} is absurdly large (over {MAX_QUANTITY:,})"
        return value, None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None, f"{label} {value} is not a number"
        return whole_units(decimal.Decimal(repr(value)), repr(value), label, policy)
    if isinstance(value, str):
        return parse_count(value, label, policy)
    return None, f"{label} must be a number, not {_kind(value)}"


def gtin_from_json(value: object) -> tuple[str | None, str | None]:
    """Parse a GTIN from a JSON value; a number is accepted only when no leading zero was lost."""
    if value is None:
        return None, None
    if isinstance(value, str):
        return parse_gtin(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        text = _digits(value) or "..."
        if gtin_reason(text) is None:
            return text, None
        return None, f"GTIN {show(text)} is not a valid GTIN; send GTINs as strings so leading zeros survive"
    return None, f"GTIN must be a string, not {_kind(value)}"


def cost_from_json(value: object) -> tuple[decimal.Decimal | None, str | None]:
    """Parse a cost from a JSON number or string."""
    if value is None:
        return None, None
    if isinstance(value, str):
        return parse_cost(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return parse_cost(repr(value) if isinstance(value, float) else _digits(value) or "...")
    return None, f"cost must be a number, not {_kind(value)}"


def text_from_json(value: object, label: str) -> tuple[str | None, str | None]:
    """Return a JSON scalar as text (numbers allowed, as vendors often send numeric SKUs)."""
    if value is None:
        return None, None
    if isinstance(value, str):
        return value, None
    if isinstance(value, int) and not isinstance(value, bool):
        text = _digits(value)
        return (text, None) if text else (None, f"{label} is a number too long to be an identifier")
    return None, f"{label} must be text, not {_kind(value)}"


def _digits(value: int) -> str | None:
    """Return an integer's decimal digits, or None past 60 digits (str() of a huge int is slow or refused)."""
    return str(value) if value.bit_length() <= 200 else None


def _kind(value: object) -> str:
    """Name a JSON value's type for a message."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    return "an object"
