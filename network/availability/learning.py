"""Learning outside sales from counts as they are applied (DESIGN §14, issue 18): the depletion
estimates of network/availability/depletion.py, kept per vendor variant in `depletion_estimates`,
and per vendor the cold start of its variants and its import delay.

Feeds call `learn` after applying a count, with what only the orders area knows passed in (the
hub's own units in each span, the vendor's import delay). Only vendors connected to a retailer on
the predictive model learn: for every other retailer nothing here runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.availability import depletion
from network.availability.models import PREDICTIVE, AvailabilitySettings, DepletionEstimate, VendorDepletion
from network.partners.models import Connection
from network.stock.models import StockPosition
from network.stock.snapshot import CountMove

# The import delay is measured again at most this often (it moves slowly, and costs a query).
DELAY_REFRESH = dt.timedelta(hours=1)


def learns(session: Session, vendor_id: int) -> bool:
    """Does a retailer on the predictive model source from the vendor (through an active connection)?"""
    return (
        session.scalar(
            sa.select(Connection.id)
            .join(AvailabilitySettings, AvailabilitySettings.retailer_id == Connection.retailer_id)
            .where(
                Connection.vendor_id == vendor_id,
                Connection.status == "active",
                AvailabilitySettings.model == PREDICTIVE,
            )
            .limit(1)
        )
        is not None
    )


def learn(
    session: Session,
    *,
    vendor_id: int,
    moves: Sequence[CountMove],
    hub_units: Mapping[int, int],
    import_delay_minutes: Callable[[], float | None],
    as_of: dt.datetime,
    now: dt.datetime,
) -> None:
    """Learn from a count's moves: each variant's outside sales between its previous count and this
    one are its fall less the hub's units in that span (`hub_units`); a rise beyond them (a
    restock, a graded return) is censored. Variants never estimated start from the vendor's prior,
    as of this count. `import_delay_minutes` measures the vendor's import delay (None: too few
    lines to tell); it is called at most once per `DELAY_REFRESH`."""
    vendor = session.get(VendorDepletion, vendor_id)
    if vendor is None:
        vendor = VendorDepletion(vendor_id=vendor_id, prior_rate=0.0, updated_at=now - DELAY_REFRESH)
        session.add(vendor)
    if now - vendor.updated_at >= DELAY_REFRESH:
        vendor.import_delay_minutes = import_delay_minutes()
        vendor.updated_at = now
    prior_rate = vendor.prior_rate
    _start_missing(session, vendor_id, prior_rate, as_of)
    by_variant = {move.variant_id: move for move in moves if move.since is not None}
    if by_variant:
        rows = session.scalars(
            sa.select(DepletionEstimate).where(DepletionEstimate.variant_id.in_(sorted(by_variant)))
        ).all()
        for row in rows:
            move = by_variant[row.variant_id]
            fell = move.before - move.after - hub_units.get(row.variant_id, 0)
            estimate = depletion.observe(
                _estimate(row),
                prior_rate=prior_rate,
                start=move.since,
                end=move.at,
                sales=fell if fell >= 0 else None,
            )
            row.shape, row.exposure, row.at = estimate.shape, estimate.exposure, estimate.at
            row.recent_sales, row.recent_minutes = estimate.recent_sales, estimate.recent_minutes
    session.flush()
    # The cold start of the vendor's next unseen variant: its variants' mean pace.
    mean = session.scalar(
        sa.select(sa.func.avg(DepletionEstimate.shape / DepletionEstimate.exposure)).where(
            DepletionEstimate.vendor_id == vendor_id
        )
    )
    vendor.prior_rate = float(mean or 0.0)
    session.flush()


def _estimate(row: DepletionEstimate) -> depletion.Estimate:
    return depletion.Estimate(row.shape, row.exposure, row.at, row.recent_sales, row.recent_minutes)


def _start_missing(session: Session, vendor_id: int, prior_rate: float, as_of: dt.datetime) -> None:
    """Give every position of the vendor that has no estimate one: the prior, as of this count."""
    start = depletion.prior(prior_rate, as_of)
    missing = sa.select(
        StockPosition.variant_id,
        StockPosition.vendor_id,
        sa.literal(start.shape, sa.Float),
        sa.literal(start.exposure, sa.Float),
        sa.literal(0.0, sa.Float),
        sa.literal(0.0, sa.Float),
        sa.literal(as_of, DepletionEstimate.__table__.c.at.type),
    ).where(
        StockPosition.vendor_id == vendor_id,
        ~sa.exists().where(DepletionEstimate.variant_id == StockPosition.variant_id),
    )
    session.execute(
        DepletionEstimate.__table__.insert().from_select(
            ["variant_id", "vendor_id", "shape", "exposure", "recent_sales", "recent_minutes", "at"], missing
        )
    )
