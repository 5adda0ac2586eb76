"""A vendor's limits for the guards against slips (DESIGN §15): one row per vendor that changed the
defaults; a vendor without one gets the defaults a person would choose."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from network.db import Base
from network.errors import InvalidInput

# A count is held when it is more than QUANTITY_FACTOR times the variant's highest count on
# record and more than QUANTITY_FLOOR units above it: 12 -> 1200 is held, 3 -> 40 or 50 -> 60 are not.
DEFAULT_QUANTITY_FACTOR = 10
DEFAULT_QUANTITY_FLOOR = 100
# A cost or MAP that moves by more than this share of its current value is held ($100 -> $10).
DEFAULT_PRICE_SHARE = 0.5


class VendorGuards(Base):
    __tablename__ = "vendor_guards"

    vendor_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(default=True)
    quantity_factor: Mapped[int] = mapped_column(default=DEFAULT_QUANTITY_FACTOR)
    quantity_floor: Mapped[int] = mapped_column(default=DEFAULT_QUANTITY_FLOOR)
    price_share: Mapped[float] = mapped_column(sa.Float, default=DEFAULT_PRICE_SHARE)
    updated_at: Mapped[dt.datetime]

    __table_args__ = (
        sa.CheckConstraint("quantity_factor >= 2 AND quantity_floor >= 0 AND price_share > 0", name="limits"),
    )


@dataclass(frozen=True)
class GuardLimits:
    enabled: bool = True
    quantity_factor: int = DEFAULT_QUANTITY_FACTOR
    quantity_floor: int = DEFAULT_QUANTITY_FLOOR
    price_share: float = DEFAULT_PRICE_SHARE


def guard_limits(session: Session, vendor_id: int) -> GuardLimits:
    row = session.get(VendorGuards, vendor_id)
    if row is None:
        return GuardLimits()
    return GuardLimits(row.enabled, row.quantity_factor, row.quantity_floor, row.price_share)


def set_guard_limits(session: Session, vendor_id: int, *, changes: dict, now: dt.datetime) -> GuardLimits:
    """Change some of a vendor's limits. Raises InvalidInput (nothing changed then)."""
    errors: dict[str, list[str]] = {}
    factor, floor, share = (
        changes.get("quantity_factor"),
        changes.get("quantity_floor"),
        changes.get("price_share"),
    )
    if factor is not None and not 2 <= factor <= 1_000_000:
        errors["quantity_factor"] = ["must be from 2 to 1000000"]
    if floor is not None and not 0 <= floor <= 1_000_000_000:
        errors["quantity_floor"] = ["must be from 0 to 1000000000"]
    if share is not None and not 0.01 <= share <= 100:
        errors["price_share"] = ["must be from 0.01 (1 %) to 100"]
    unknown = set(changes) - {"enabled", "quantity_factor", "quantity_floor", "price_share"}
    for name in unknown:
        errors[name] = ["unknown field"]
    if errors:
        raise InvalidInput("invalid guard limits", errors=errors)
    row = session.get(VendorGuards, vendor_id)
    if row is None:
        row = VendorGuards(vendor_id=vendor_id, updated_at=now, **_defaults())
        session.add(row)
    for name, value in changes.items():
        if value is not None:
            setattr(row, name, value)
    row.updated_at = now
    session.flush()
    return guard_limits(session, vendor_id)


def _defaults() -> dict:
    limits = GuardLimits()
    return {
        "enabled": limits.enabled,
        "quantity_factor": limits.quantity_factor,
        "quantity_floor": limits.quantity_floor,
        "price_share": limits.price_share,
    }
