"""Store sync: shipments and vendor cancellations written back, availability set, from the outbox.

Each connector reads its retailer's outbox by cursor (Event.seq: commit order, so nothing is
skipped), like a webhook endpoint would, and is driven by the worker's `sync_connectors` job:

- `po.shipped` of an order the store sent: a fulfillment on the store for exactly the shipped
  quantities of the platform's lines (a partial shipment, a partial fulfillment), with tracking;
- `po.cancelled` by the vendor, or `po.rejected` (units refused before it accepted them): a
  private note on the store's order, so the merchant hears it where it works (the retailer also
  has the `vendor_cancelled` / `vendor_rejected` flag);
- `availability.changed`: the listing is owed a figure. Owed figures are read when they are sent
  (so many changes of one item coalesce into one figure, and a figure older than one already sent
  can never be sent: there is one sender per connector, holding the connector's lease).

The cursor only passes an event once its write-back is done, and done write-backs are recorded on
the order, so a failed round is retried from where it stopped and never writes one twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability.aging import Moves
from network.availability.models import PREDICTIVE, AvailabilitySettings
from network.availability.services import read_availability
from network.connectors import drift, intake, shopify, woocommerce
from network.connectors.http import StoreError, Transport
from network.connectors.models import ACTIVE, SHOPIFY, Connector, ConnectorListing, ConnectorOrder
from network.connectors.platform import UPDATE
from network.connectors.services import TYPES, channel_minutes, figure, record_error, record_success
from network.connectors.shopify_client import ShopifyClient
from network.connectors.woocommerce_client import WooClient
from network.db import transaction
from network.feeds.credentials import Credentials, CredentialsUnreadable
from network.orders.models import Order, OrderLine
from network.outbox.services import read_events

log = logging.getLogger(__name__)

EVENTS_PER_ROUND = 1000
LEASE = dt.timedelta(minutes=5)
# Where a customer follows a parcel, for the carriers the vendors name most.
TRACKING_URLS = {
    "ups": "https://www.ups.com/track?tracknum={}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "dhl": "https://www.dhl.com/en/express/tracking.html?AWB={}",
}


def tracking_url(carrier: str, number: str) -> str | None:
    template = TRACKING_URLS.get(carrier.strip().lower())
    return template.format(number) if template else None


@dataclass
class Report:
    connector_id: int
    fulfillments: int = 0
    notes: int = 0
    figures_sent: int = 0
    error: str | None = None
    requests_sent: int = 0
    refused_for_rate: int = 0


@dataclass
class Clients:
    """Builds a platform client for a connector; tests and the bench give their own transport."""

    sealer: Credentials
    transport: Callable[[], Transport] = field(default=Transport)

    def __call__(self, connector: Connector) -> ShopifyClient | WooClient:
        """Raises StoreError when the credentials cannot be read (SECRET_KEY changed)."""
        try:
            secret = self.sealer.open(connector.credentials_sealed)
        except CredentialsUnreadable:
            raise StoreError(
                "the connector's credentials cannot be read (was SECRET_KEY changed?); set them again"
            ) from None
        if connector.platform == SHOPIFY:
            return ShopifyClient(connector.shop_url, secret["access_token"], self.transport())
        return WooClient(
            connector.shop_url, secret["consumer_key"], secret["consumer_secret"], self.transport()
        )


def sync_due(session: Session, clients: Clients, *, now: dt.datetime) -> list[Report]:
    """Sync every active connector no other worker holds."""
    ids = session.scalars(
        sa.select(Connector.id).where(Connector.status == ACTIVE).order_by(Connector.id)
    ).all()
    session.rollback()
    return [
        report for connector_id in ids if (report := sync_connector(session, clients, connector_id, now=now))
    ]


def sync_connector(
    session: Session, clients: Clients, connector_id: int, *, now: dt.datetime
) -> Report | None:
    """One round for one connector; None when another worker holds it."""
    with transaction(session):
        claimed = session.execute(
            sa.update(Connector)
            .where(
                Connector.id == connector_id,
                Connector.status == ACTIVE,
                sa.or_(Connector.sync_lease_until.is_(None), Connector.sync_lease_until < now),
            )
            .values(sync_lease_until=now + LEASE)
        ).rowcount
    if not claimed:
        return None
    report = Report(connector_id)
    try:
        connector = session.get(Connector, connector_id)
        client = None
        try:
            client = clients(connector)
            _write_back(session, connector, client, report, now=now)
            _push_stock(session, connector, client, report, now=now)
        except StoreError as exc:
            report.error = str(exc)
        except (ValueError, KeyError, TypeError) as exc:  # an answer not shaped as documented
            session.rollback()
            report.error = f"unexpected answer from the store ({type(exc).__name__})"
        if client is not None:
            report.requests_sent = client.transport.requests_sent
            report.refused_for_rate = client.transport.refused_for_rate
        with transaction(session):
            connector = session.get(Connector, connector_id)
            if report.error:
                record_error(connector, report.error, now)
                log.warning("connector %s: %s", connector_id, report.error)
            elif report.fulfillments or report.notes or report.figures_sent:
                record_success(connector, now)
    finally:
        with transaction(session):
            session.execute(
                sa.update(Connector).where(Connector.id == connector_id).values(sync_lease_until=None)
            )
    return report


def _write_back(session: Session, connector: Connector, client, report: Report, *, now: dt.datetime) -> None:
    events = read_events(
        session,
        org_id=connector.retailer_id,
        after_seq=connector.events_seq,
        limit=EVENTS_PER_ROUND,
        types=TYPES,
    )
    owed: set[str] = set()
    done_seq = connector.events_seq
    try:
        for event in events:
            if event.type == "availability.changed":
                owed.add(event.data["retailer_sku"])
            else:
                _write_event(session, connector, client, event, report)
            done_seq = event.seq
    finally:  # what was done stays done, even when a later event failed
        with transaction(session):
            connector = session.get(Connector, connector.id)
            connector.events_seq = done_seq
            _owe(session, connector, owed)


def _write_event(session: Session, connector: Connector, client, event, report: Report) -> None:
    record = session.scalar(
        sa.select(ConnectorOrder).where(
            ConnectorOrder.connector_id == connector.id, ConnectorOrder.order_id == event.data["order_id"]
        )
    )
    if record is None or event.id in record.written_back:
        return  # an order the store did not send, or already written
    data = event.data
    platform_lines = record.line_map
    if event.type == "po.shipped":
        lines = [
            (platform_lines[str(line["order_line_id"])], line["quantity"])
            for line in data["lines"]
            if str(line["order_line_id"]) in platform_lines
        ]
        if not lines:
            return
        url = tracking_url(data["carrier"], data["tracking_number"])
        if connector.platform == SHOPIFY:
            client.fulfill(
                record.platform_order_id,
                lines,
                carrier=data["carrier"],
                number=data["tracking_number"],
                url=url,
            )
        else:
            shipped = ", ".join(f"{qty} × line {line}" for line, qty in lines)
            client.fulfill(
                record.platform_order_id,
                carrier=data["carrier"],
                number=data["tracking_number"],
                url=url,
                complete=_all_shipped(session, record.order_id),
                note=f"Shipped {shipped} with {data['carrier']} {data['tracking_number']}",
            )
        report.fulfillments += 1
    elif (event.type == "po.cancelled" and data.get("by") == "vendor") or event.type == "po.rejected":
        skus = dict(
            session.execute(
                sa.select(OrderLine.id, OrderLine.retailer_sku).where(OrderLine.order_id == record.order_id)
            ).all()
        )
        units = ", ".join(
            f"{line['quantity']} × {skus.get(line['order_line_id'], '?')}" for line in data["lines"]
        )
        reason = f": {data['reason']}" if data.get("reason") else ""
        did = "cancelled" if event.type == "po.cancelled" else "refused"
        client.add_note(record.platform_order_id, f"Dropnet: the vendor {did} {units}{reason}")
        report.notes += 1
    else:
        return
    with transaction(session):
        record = session.get(ConnectorOrder, record.id)
        record.written_back = [*record.written_back, event.id]


def _all_shipped(session: Session, order_id: int) -> bool:
    order = session.get(Order, order_id)
    session.refresh(order)
    return all(sum(pl.unshipped for pl in line.po_lines) == 0 for line in order.lines)


def automatic_connectors(session: Session) -> dict[int, dict[float, list[int]]]:
    """Predictive retailers' active connectors whose buffer is automatic: retailer -> the interval
    their automatic buffer is estimated over (one sync, in minutes) -> connector ids."""
    found: dict[int, dict[float, list[int]]] = {}
    for connector in session.scalars(
        sa.select(Connector)
        .join(AvailabilitySettings, AvailabilitySettings.retailer_id == Connector.retailer_id)
        .where(
            AvailabilitySettings.model == PREDICTIVE, Connector.status == ACTIVE, Connector.buffer.is_(None)
        )
        .order_by(Connector.id)
    ):
        by_minutes = found.setdefault(connector.retailer_id, {})
        by_minutes.setdefault(channel_minutes(connector), []).append(connector.id)
    return found


def owe_aging(session: Session, moves: Moves, connectors: Mapping[int, Mapping[float, list[int]]]) -> int:
    """The aging job (network/availability/aging.py): owe each automatic connector the items whose
    term over its interval moved while the hub's figure did not; its next sync sets them. Returns
    how many (connector, item) pairs were owed."""
    owed = 0
    for (retailer_id, minutes), skus in sorted(moves.channels.items()):
        for connector_id in connectors.get(retailer_id, {}).get(minutes, ()):
            connector = session.get(Connector, connector_id)
            if connector is not None:
                _owe(session, connector, set(skus))
                owed += len(skus)
    return owed


def _owe(session: Session, connector: Connector, skus: set[str]) -> None:
    if not skus:
        return
    listings = {
        listing.retailer_sku: listing
        for listing in session.scalars(
            sa.select(ConnectorListing).where(
                ConnectorListing.connector_id == connector.id, ConnectorListing.retailer_sku.in_(sorted(skus))
            )
        )
    }
    for sku in sorted(skus):
        if sku in listings:
            listings[sku].pending = True
        else:
            session.add(ConnectorListing(connector_id=connector.id, retailer_sku=sku, pending=True))
    session.flush()


def _push_stock(session: Session, connector: Connector, client, report: Report, *, now: dt.datetime) -> None:
    """Send the owed figures, read now; listings the store has no SKU for stay owed (and say so)."""
    owed = session.scalars(
        sa.select(ConnectorListing).where(
            ConnectorListing.connector_id == connector.id, ConnectorListing.pending
        )
    ).all()
    if not owed:
        return
    skus = [listing.retailer_sku for listing in owed]
    unknown = [listing.retailer_sku for listing in owed if listing.inventory_item_id is None]
    found = (
        client.inventory_items(unknown) if connector.platform == SHOPIFY else client.products_by_sku(unknown)
    )
    current = {
        a.retailer_sku: (a.available, a.channel_units)
        for a in read_availability(
            session,
            retailer_id=connector.retailer_id,
            skus=skus,
            after_id=0,
            limit=len(skus),
            now=now,
            channel_minutes=channel_minutes(connector),
        )
    }
    to_send: list[tuple[ConnectorListing, int]] = []
    with transaction(session):
        for listing in owed:
            listing = session.merge(listing)
            if listing.retailer_sku in found:
                platform_id, extra = found[listing.retailer_sku]
                if connector.platform == SHOPIFY:
                    listing.platform_variant_id = (
                        listing.platform_variant_id or platform_id.rsplit("/", 1)[-1]
                    )
                    listing.inventory_item_id = extra
                else:
                    listing.inventory_item_id, listing.platform_product_id = platform_id, extra
            if listing.inventory_item_id is None or listing.retailer_sku not in current:
                listing.pending = False  # not on the store (or no longer an item): nothing to set
                continue
            wanted = figure(*current[listing.retailer_sku], connector.buffer, connector.max_quantity)
            if wanted == listing.last_sent:
                listing.pending = False
            else:
                to_send.append((listing, wanted))
        send = [
            (listing.inventory_item_id, listing.platform_product_id, wanted) for listing, wanted in to_send
        ]
        ids = [(listing.id, wanted) for listing, wanted in to_send]
    if not send:
        return
    if connector.platform == SHOPIFY:
        if not connector.location_id:
            raise StoreError("the connector has no location_id: set the Shopify location to stock")
        client.set_available(connector.location_id, [(item, qty) for item, _, qty in send])
    else:
        client.set_stock(send)
    with transaction(session):
        for listing_id, wanted in ids:
            listing = session.get(ConnectorListing, listing_id)
            listing.last_sent, listing.last_sent_at, listing.pending = wanted, now, False
    report.figures_sent += len(ids)


def config_clients(config: Mapping[str, object]) -> Clients:
    return Clients(Credentials(str(config["SECRET_KEY"])))


def repair_drift(session: Session, clients: Clients, *, now: dt.datetime) -> dict[int, int]:
    """For every active connector: listings whose store figure drifted are owed it again, and set."""
    repaired: dict[int, int] = {}
    ids = session.scalars(
        sa.select(Connector.id).where(Connector.status == ACTIVE).order_by(Connector.id)
    ).all()
    for connector_id in ids:
        try:
            count = repair_connector(session, clients, connector_id, now=now)
        except StoreError:
            continue
        if count:
            repaired[connector_id] = count
    return repaired


def repair_connector(session: Session, clients: Clients, connector_id: int, *, now: dt.datetime) -> int:
    """Check one connector's drift and set the drifted listings again now; return how many.

    Raises StoreError (also recorded as the connector's last error) when the store cannot be read,
    or when the round that sets the figures fails.
    """
    connector = session.get(Connector, connector_id)
    try:
        found = drift.drift(session, connector, clients(connector), now=now)
    except (StoreError, ValueError, KeyError, TypeError) as exc:
        session.rollback()
        with transaction(session):
            record_error(session.get(Connector, connector_id), f"drift check: {exc}", now)
        raise StoreError(f"drift check: {exc}") from None
    session.rollback()
    count = drift.repair(session, connector_id, found)
    if count:
        report = sync_connector(session, clients, connector_id, now=now)
        if report is not None and report.error:
            raise StoreError(report.error)
    return count


def poll_orders(session: Session, clients: Clients, connector_id: int, *, now: dt.datetime) -> int:
    """The polling fallback: take in the orders updated on the store since the connector's cursor
    (webhooks the platform never delivered). The same intake as a webhook, so an order the webhook
    already brought creates nothing. Returns how many orders this created or cancelled."""
    connector = session.get(Connector, connector_id)
    if connector is None or connector.status != ACTIVE:
        return 0
    cursor = connector.orders_cursor or connector.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    session.rollback()  # no transaction held while the store answers
    try:
        found = clients(connector).orders_since(cursor)
    except (StoreError, ValueError, KeyError, TypeError) as exc:
        with transaction(session):
            record_error(session.get(Connector, connector_id), f"order polling: {exc}", now)
        return 0
    changed = 0
    for raw in found:
        with transaction(session):
            connector = session.get(Connector, connector_id)
            if connector.platform == SHOPIFY:
                order, updated = shopify.parse_graphql_order(raw), raw.get("updatedAt")
            else:
                order, updated = woocommerce.parse_order(raw), raw.get("date_modified_gmt")
            outcome = intake.receive(session, connector, UPDATE, order, now=now)
            changed += outcome.created
            if updated and (connector.orders_cursor or "") < updated:
                connector.orders_cursor = str(updated)[:64]
    return changed


def poll_due(session: Session, clients: Clients, *, now: dt.datetime) -> int:
    ids = session.scalars(
        sa.select(Connector.id).where(Connector.status == ACTIVE).order_by(Connector.id)
    ).all()
    session.rollback()
    return sum(poll_orders(session, clients, connector_id, now=now) for connector_id in ids)
