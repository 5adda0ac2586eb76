"""Import every model so that SQLAlchemy's metadata (and Alembic) sees the whole schema."""

from network.availability.models import VariantHold
from network.catalog.models import ItemSource, RetailerItem, VendorVariant
from network.connectors.models import Connector, ConnectorListing, ConnectorOrder
from network.feeds.models import Feed, FeedRun, FeedRunPayload, StaleSource
from network.flags.models import Flag, NoticeClaim, NoticeCursor
from network.idempotency.models import IdempotencyRecord
from network.orders.models import (
    Order,
    OrderLine,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderTransition,
    Return,
    ReturnLine,
    Shipment,
    ShipmentLine,
)
from network.outbox.models import Event
from network.partners.audit import AuditEntry
from network.partners.guards import VendorGuards
from network.partners.models import (
    AccessToken,
    ApiClient,
    Connection,
    Invite,
    LoginAttempt,
    Organization,
    PasswordReset,
    SignupAttempt,
    User,
)
from network.products.models import CatalogImport
from network.read_marks import ReadMark
from network.stock.models import StockLedgerEntry, StockPosition, StockSnapshot
from network.trading.models import EdiFile, EdiPurchaseOrder, Invoice, InvoiceLine, TradingPartner
from network.uploads.models import UploadDraft

__all__ = [
    "AccessToken",
    "ApiClient",
    "AuditEntry",
    "CatalogImport",
    "Connection",
    "Connector",
    "ConnectorListing",
    "ConnectorOrder",
    "EdiFile",
    "EdiPurchaseOrder",
    "Event",
    "Feed",
    "FeedRun",
    "FeedRunPayload",
    "Flag",
    "IdempotencyRecord",
    "Invite",
    "Invoice",
    "InvoiceLine",
    "ItemSource",
    "LoginAttempt",
    "NoticeClaim",
    "NoticeCursor",
    "Order",
    "OrderLine",
    "Organization",
    "PasswordReset",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderTransition",
    "ReadMark",
    "RetailerItem",
    "Return",
    "ReturnLine",
    "Shipment",
    "ShipmentLine",
    "SignupAttempt",
    "StaleSource",
    "StockLedgerEntry",
    "StockPosition",
    "StockSnapshot",
    "TradingPartner",
    "UploadDraft",
    "User",
    "VendorGuards",
    "VariantHold",
    "VendorVariant",
]
