"""Per-vendor limits of the guards against slips (DESIGN §15), with the defaults a person would pick."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from network.products.guards import CatalogLimits


@dataclass(frozen=True)
class VendorLimits:
    catalog: CatalogLimits


def limits_for(session: Session, vendor_id: int) -> VendorLimits:
    return VendorLimits(catalog=CatalogLimits())
