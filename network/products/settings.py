"""Per-vendor limits of the guards against slips, as the catalog guards take them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from network.partners.guards import guard_limits
from network.products.guards import CatalogLimits


@dataclass(frozen=True)
class VendorLimits:
    catalog: CatalogLimits


def limits_for(session: Session, vendor_id: int) -> VendorLimits:
    limits = guard_limits(session, vendor_id)
    return VendorLimits(catalog=CatalogLimits(price_share=limits.price_share if limits.enabled else None))
