"""Keeping connectors: create, read, change, pause, delete; their credentials sealed at rest.

Every change goes to the retailer's audit log (network/partners/audit.py) with who made it, from
the API or the console alike; credentials are logged as changed, never with their values.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping, Sequence
from types import ModuleType
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.connectors import shopify, woocommerce
from network.connectors.models import PAUSED, PLATFORMS, STATUSES, Connector, ConnectorListing
from network.errors import InvalidInput, NotFound
from network.feeds.credentials import Credentials
from network.outbox.models import Event
from network.outbox.rules import channel_figure, channel_interval_minutes
from network.partners import audit

MODULES: dict[str, ModuleType] = {shopify.name: shopify, woocommerce.name: woocommerce}
CHANGEABLE = ("shop_url", "credentials", "location_id", "buffer", "max_quantity", "status")
# What the audit log shows of a connector (credentials only as "changed").
AUDITED = ("platform", "shop_url", "location_id", "buffer", "max_quantity", "status")
CREDENTIALS_CHANGED = "(changed)"
# The retailer's outbox events a connector writes to its store (network.connectors.sync).
TYPES = ("po.shipped", "po.cancelled", "po.rejected", "availability.changed")
# How often the worker syncs the stores (network/jobs.py): the time until a figure set on a store
# can next be corrected, over which an automatic buffer is estimated (issue 18).
SYNC_SECONDS = 15


def platform_of(connector: Connector) -> ModuleType:
    return MODULES[connector.platform]


def check_credentials(platform: str, credentials: Mapping[str, object]) -> dict[str, str]:
    """Return exactly the fields the platform needs, each a non-empty line of text; raises InvalidInput."""
    fields = MODULES[platform].credential_fields
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for name in fields:
        value = credentials.get(name)
        if not isinstance(value, str) or not value.strip():
            errors[f"credentials.{name}"] = [f"required for {platform}"]
        elif len(value) > 1000 or "\n" in value or "\r" in value:
            errors[f"credentials.{name}"] = ["one line of at most 1000 characters"]
        else:
            values[name] = value
    for name in sorted(set(credentials) - set(fields)):
        errors[f"credentials.{name}"] = [f"not used by {platform}; it takes {', '.join(fields)}"]
    if errors:
        raise InvalidInput("invalid connector credentials", errors=errors)
    return values


def check_shop_url(url: str, allow_http_hosts: frozenset[str]) -> str:
    """The store's base URL: https to a public host; plain http (and a private host) only to the
    hosts HUB_CONNECTOR_ALLOW_HTTP_HOSTS lists, for a local store in development.

    Names are not resolved here (a store's DNS may not answer from every machine that saves the
    connector): an IP literal or a localhost name is refused at once, like feed URLs.
    """
    url = url.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port raises here
        host = (parts.hostname or "").lower()
    except ValueError:
        host, parts = "", None
    problem = None
    if parts is None or not host:
        problem = "not a URL with a host"
    elif host in allow_http_hosts:
        if parts.scheme not in ("http", "https"):
            problem = "use https"
    elif parts.scheme != "https":
        problem = "use https (plain http only to hosts HUB_CONNECTOR_ALLOW_HTTP_HOSTS lists)"
    elif host == "localhost" or host.endswith(".localhost") or _private_ip(host):
        problem = f"the host {host!r} is a private, loopback or reserved address"
    elif parts.query or parts.fragment or parts.username:
        problem = "the store's base URL, without query, fragment or login"
    if problem:
        raise InvalidInput(f"the shop URL is refused: {problem}", errors={"shop_url": [problem]})
    return url


def _private_ip(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not address.is_global or address.is_multicast


def create_connector(
    session: Session,
    *,
    retailer_id: int,
    platform: str,
    shop_url: str,
    credentials: Mapping[str, object],
    location_id: str | None,
    buffer: int | None,
    max_quantity: int | None,
    sealer: Credentials,
    allow_http_hosts: frozenset[str],
    actor: audit.Actor,
    now: dt.datetime,
) -> Connector:
    if platform not in PLATFORMS:
        raise InvalidInput("unknown platform", errors={"platform": [f"one of {', '.join(PLATFORMS)}"]})
    connector = Connector(
        retailer_id=retailer_id,
        platform=platform,
        shop_url=check_shop_url(shop_url, allow_http_hosts),
        credentials_sealed=sealer.seal(check_credentials(platform, credentials)),
        location_id=location_id,
        buffer=buffer,
        max_quantity=max_quantity,
        status="active",
        created_at=now,
        updated_at=now,
    )
    session.add(connector)
    session.flush()
    _audit(session, connector, "connector.created", None, _shown(connector), actor=actor, now=now)
    return connector


def _shown(connector: Connector) -> dict:
    return {name: getattr(connector, name) for name in AUDITED}


def _audit(
    session: Session,
    connector: Connector,
    action: str,
    before: dict | None,
    after: dict | None,
    *,
    actor: audit.Actor,
    now: dt.datetime,
) -> None:
    audit.record(
        session,
        org_id=connector.retailer_id,
        actor=actor,
        action=action,
        subject=f"connector {connector.id} ({connector.platform} {connector.shop_url})"[:200],
        before=before,
        after=after,
        now=now,
    )


def list_connectors(
    session: Session, *, retailer_id: int, after_id: int = 0, limit: int | None = None
) -> list[Connector]:
    """The retailer's connectors after a position (keyset), oldest first."""
    query = (
        sa.select(Connector)
        .where(Connector.retailer_id == retailer_id, Connector.id > after_id)
        .order_by(Connector.id)
    )
    return list(session.scalars(query if limit is None else query.limit(limit)))


def get_connector(session: Session, connector_id: int, *, retailer_id: int | None) -> Connector:
    """Another retailer's connector is NotFound, as if it did not exist."""
    connector = session.get(Connector, connector_id)
    if connector is None or (retailer_id is not None and connector.retailer_id != retailer_id):
        raise NotFound(f"no connector {connector_id}")
    return connector


def update_connector(
    session: Session,
    connector: Connector,
    changes: Mapping[str, object],
    *,
    sealer: Credentials,
    allow_http_hosts: frozenset[str],
    actor: audit.Actor,
    now: dt.datetime,
) -> Connector:
    """Change some fields; `status` paused|active pauses or resumes it. Raises InvalidInput.

    The audit log gets what changed (nothing when a save changed nothing).
    """
    was = _shown(connector)
    if "shop_url" in changes:
        connector.shop_url = check_shop_url(str(changes["shop_url"]), allow_http_hosts)
    if "credentials" in changes:
        connector.credentials_sealed = sealer.seal(
            check_credentials(connector.platform, changes["credentials"])
        )
    if "status" in changes:
        if changes["status"] not in STATUSES:
            raise InvalidInput("unknown status", errors={"status": [f"one of {', '.join(STATUSES)}"]})
        connector.status = changes["status"]
    for name in ("location_id", "buffer", "max_quantity"):
        if name in changes:
            setattr(connector, name, changes[name])
    connector.updated_at = now
    now_shown = _shown(connector)
    moved = [name for name in AUDITED if was[name] != now_shown[name]]
    before = {name: was[name] for name in moved}
    after = {name: now_shown[name] for name in moved}
    if "credentials" in changes:
        before["credentials"] = after["credentials"] = CREDENTIALS_CHANGED
    if before:
        action = "connector.changed"
        if moved == ["status"] and "credentials" not in changes:
            action = "connector.paused" if connector.status == PAUSED else "connector.resumed"
        _audit(session, connector, action, before, after, actor=actor, now=now)
    return connector


def delete_connector(session: Session, connector: Connector, *, actor: audit.Actor, now: dt.datetime) -> None:
    _audit(session, connector, "connector.deleted", _shown(connector), None, actor=actor, now=now)
    session.delete(connector)


def record_repair(
    session: Session, connector: Connector, count: int, *, actor: audit.Actor, now: dt.datetime
) -> None:
    """A person set the drifted listings again ("repair now"): who, and how many."""
    _audit(session, connector, "connector.repaired", None, {"listings": count}, actor=actor, now=now)


def record_success(connector: Connector, now: dt.datetime) -> None:
    connector.last_success_at = now


def record_error(connector: Connector, message: str, now: dt.datetime) -> None:
    connector.last_error_at = now
    connector.last_error = message[:500]


def open_credentials(connector: Connector, sealer: Credentials) -> dict[str, str]:
    """The connector's credentials in the clear, for the platform client or the signature check only."""
    return sealer.open(connector.credentials_sealed)


def health(session: Session, connector: Connector) -> dict:

    return {
        "last_success_at": connector.last_success_at,
        "last_error_at": connector.last_error_at,
        "last_error": connector.last_error,
        "backlog": backlog(session, connector),
    }


def healths(session: Session, connectors: Sequence[Connector]) -> dict[int, dict]:
    """`health` of many connectors in two queries (a page of the console's list)."""
    ids = [connector.id for connector in connectors]
    if not ids:
        return {}
    owed = dict(
        session.execute(
            sa.select(ConnectorListing.connector_id, sa.func.count())
            .where(ConnectorListing.connector_id.in_(ids), ConnectorListing.pending)
            .group_by(ConnectorListing.connector_id)
        ).all()
    )
    unread = dict(
        session.execute(
            sa.select(Connector.id, sa.func.count(Event.id))
            .join(Event, sa.and_(Event.org_id == Connector.retailer_id, Event.seq > Connector.events_seq))
            .where(Connector.id.in_(ids), Event.type.in_(TYPES))
            .group_by(Connector.id)
        ).all()
    )
    return {
        c.id: {
            "last_success_at": c.last_success_at,
            "last_error_at": c.last_error_at,
            "last_error": c.last_error,
            "backlog": int(owed.get(c.id, 0)) + int(unread.get(c.id, 0)),
        }
        for c in connectors
    }


def backlog(session: Session, connector: Connector) -> int:
    """Store updates owed: figures not yet sent, plus outbox events the sync has not read."""
    owed = session.scalar(
        sa.select(sa.func.count())
        .select_from(ConnectorListing)
        .where(ConnectorListing.connector_id == connector.id, ConnectorListing.pending)
    )
    unread = session.scalar(
        sa.select(sa.func.count())
        .select_from(Event)
        .where(Event.org_id == connector.retailer_id, Event.seq > connector.events_seq, Event.type.in_(TYPES))
    )
    return int(owed or 0) + int(unread or 0)


def figure(available: int, automatic: int, buffer: int | None, cap: int | None) -> int:
    """What the store shows: the retailer's availability after the connector's buffer and cap.

    `buffer` None is automatic: `automatic` held back instead (network/outbox/rules.py channel_figure).
    """
    return channel_figure(available, buffer=buffer, max_quantity=cap, automatic=automatic)


def channel_minutes(connector: Connector) -> float:
    """The interval a connector's automatic buffer is estimated over: one sync (none when set)."""
    return channel_interval_minutes(connector.buffer, SYNC_SECONDS)
