"""Feed configurations: a vendor's feeds, their transport, URL and auth, schedule and format."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.db import is_postgres
from network.errors import InvalidInput, NotFound
from network.feeds import models as m
from network.feeds.address_guard import host_refusal, literal_refusal
from network.feeds.credentials import Credentials, check_auth
from network.feeds.parsing import FeedFormat
from network.feeds.pull import PullSettings, PullSource
from network.feeds.services import format_settings
from network.stock.models import BASES

SETTINGS = ("name", "transport", "url", "interval_minutes", "mode", "basis", "active")
FORMAT_COLUMNS = {
    "kind": "format_kind",
    "mapping": "mapping",
    "delimiter": "delimiter",
    "encoding": "encoding",
    "filter": "filter",
    "sum_duplicates": "sum_duplicates",
    "decimal_quantities": "decimal_quantities",
}
# Changing these means the next pull must fetch and read the file afresh.
_REFETCH = ("url", "auth", "format", "mode", "basis")


def feed_format(feed: m.Feed) -> FeedFormat:
    """Return how to read the feed's files."""
    return FeedFormat(**feed.format_settings)


def pull_source(feed: m.Feed, credentials: Credentials) -> PullSource:
    """Return the feed's URL and opened auth for a plain (unconditional) fetch, as a preview makes.

    Raises CredentialsUnreadable.
    """
    auth = credentials.open(feed.auth_sealed) if feed.auth_sealed else {}
    return PullSource(url=feed.url or "", auth_kind=feed.auth_kind, auth=auth, host_key=feed.host_key)


def create_feed(
    session: Session,
    *,
    vendor_id: int,
    values: Mapping[str, object],
    credentials: Credentials,
    pull_settings: PullSettings,
    now: dt.datetime,
) -> m.Feed:
    """Create a feed from validated API values. Raises InvalidInput for settings that cannot work."""
    feed = m.Feed(
        vendor_id=vendor_id,
        interval_minutes=60,
        mode="full",
        basis="available",
        active=True,
        auth_kind="none",
        mapping={},
        filter={},
        consecutive_failures=0,
        late_notified=False,
        created_at=now,
        updated_at=now,
    )
    values = {"format": {}, **values}
    _assign(feed, values, credentials)
    _check(feed, pull_settings)
    if feed.transport == m.PULL:
        feed.next_run_at = now
    session.add(feed)
    session.flush()
    return feed


def update_feed(
    session: Session,
    feed_id: int,
    *,
    vendor_id: int,
    changes: Mapping[str, object],
    credentials: Credentials,
    pull_settings: PullSettings,
    now: dt.datetime,
) -> m.Feed:
    """Change some settings of a feed. Raises NotFound, InvalidInput."""
    feed = get_feed(session, feed_id, vendor_id=vendor_id, lock=True)
    was_pulled = feed.transport == m.PULL and feed.active
    _assign(feed, changes, credentials)
    _check(feed, pull_settings)
    if any(name in changes for name in _REFETCH):
        feed.etag = feed.last_modified = None
    pulled = feed.transport == m.PULL and feed.active
    if pulled and (not was_pulled or "url" in changes or "auth" in changes):
        # A new source is fetched at once, and its failure streak starts afresh.
        feed.next_run_at = now
        feed.consecutive_failures = 0
        feed.last_error = None
    elif pulled and "interval_minutes" in changes and feed.next_run_at is not None:
        base = feed.last_run_at or now
        feed.next_run_at = min(feed.next_run_at, base + dt.timedelta(minutes=feed.interval_minutes))
    feed.updated_at = now
    session.flush()
    return feed


def delete_feed(session: Session, feed_id: int, *, vendor_id: int) -> None:
    """Delete a feed; its runs stay in the history. Raises NotFound."""
    session.delete(get_feed(session, feed_id, vendor_id=vendor_id, lock=True))
    session.flush()


def get_feed(session: Session, feed_id: int, *, vendor_id: int, lock: bool = False) -> m.Feed:
    """Raises NotFound (also for another vendor's feed).

    `lock` for a change or a delete: the row stays locked until commit, so a concurrent delete
    makes the change find nothing (404) instead of updating a row that is gone (StaleDataError).
    """
    query = sa.select(m.Feed).where(m.Feed.id == feed_id, m.Feed.vendor_id == vendor_id)
    if lock and is_postgres(session):
        query = query.with_for_update()
    feed = session.scalar(query)
    if feed is None:
        raise NotFound(f"feed {feed_id} not found")
    return feed


def list_feeds(session: Session, *, vendor_id: int, after_id: int, limit: int) -> list[m.Feed]:
    """Return a vendor's feeds in creation order, after a cursor."""
    query = (
        sa.select(m.Feed)
        .where(m.Feed.vendor_id == vendor_id, m.Feed.id > after_id)
        .order_by(m.Feed.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def _assign(feed: m.Feed, values: Mapping[str, object], credentials: Credentials) -> None:
    for name in SETTINGS:
        if name in values:
            setattr(feed, name, values[name])
    if "format" in values:
        # A new feed starts from the default format.
        current = format_settings(FeedFormat()) if feed.format_kind is None else feed.format_settings
        given = dict(values["format"])
        if "kind" in given and given["kind"] != current["kind"]:
            # A mapping made for CSV headers means nothing to an X12 reader, and the reverse.
            current.update(mapping={}, filter={})
        try:
            fmt = FeedFormat(**{**current, **given})
        except (TypeError, ValueError) as exc:
            raise InvalidInput("invalid feed format", errors={"format": [str(exc)]}) from None
        for ours, value in format_settings(fmt).items():
            setattr(feed, FORMAT_COLUMNS[ours], value)
    if values.get("transport", m.PULL) != m.PULL and "auth" not in values:
        values = {**values, "auth": None}  # only pull feeds fetch; their credentials go with it
    if "auth" in values:
        auth = dict(values["auth"] or {"kind": "none"})
        kind = str(auth.get("kind", "none"))
        parameters = check_auth(kind, auth)
        feed.auth_kind = kind
        feed.auth_sealed = credentials.seal(parameters) if parameters else None


def _check(feed: m.Feed, pull_settings: PullSettings) -> None:
    errors: dict[str, list[str]] = {}
    if feed.transport not in m.FEED_TRANSPORTS:
        errors["transport"] = [f"must be one of {', '.join(m.FEED_TRANSPORTS)}"]
    if feed.mode not in ("full", "delta"):
        errors["mode"] = ["must be full or delta"]
    if feed.basis not in BASES:
        errors["basis"] = ["must be available or on_hand"]
    if not feed.name or not str(feed.name).strip():
        errors["name"] = ["required"]
    if feed.transport == m.PULL:
        reason = url_problem(feed.url, pull_settings)
        if reason:
            errors["url"] = [reason]
        elif str(feed.url).startswith("sftp://") and feed.auth_kind not in ("basic", "ssh_key"):
            errors["auth"] = ["an sftp:// feed logs in with basic (username, password) or ssh_key auth"]
        elif not str(feed.url).startswith("sftp://") and feed.auth_kind == "ssh_key":
            errors["auth"] = ["ssh_key auth is for sftp:// feeds"]
    elif feed.auth_kind != "none":
        errors["auth"] = ["only pull feeds fetch with credentials"]
    if errors:
        raise InvalidInput("invalid feed settings", errors=errors)


def url_problem(url: str | None, pull_settings: PullSettings) -> str | None:
    """Return why a URL cannot be a pull feed's URL, or None."""
    if not url:
        return "a pull feed needs the URL to fetch"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https", "sftp") or not parts.hostname:
        return "must be an http://, https:// or sftp:// URL with a host"
    if parts.scheme == "sftp" and parts.path.rstrip("/") in ("", "/"):
        return "an sftp:// feed names a file or a glob in a folder, e.g. sftp://host/outbound/stock_*.csv"
    if parts.username is not None or parts.password is not None:
        return "put credentials in auth, not in the URL"
    return host_refusal(parts.hostname, pull_settings) or literal_refusal(parts.hostname, pull_settings)


def note_upload(feed: m.Feed, run: m.FeedRun, *, now: dt.datetime) -> None:
    """Move an upload feed's cadence marks after one of its files was processed (sent now or queued)."""
    feed.last_run_at = now
    if run.status in m.GOOD_STATUSES:
        feed.last_success_at = now
        feed.late_notified = False
