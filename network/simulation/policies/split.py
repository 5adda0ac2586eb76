"""Split stock 30/30/40 with a daily sync: every unit on exactly one channel (docs/simulation.md)."""

from __future__ import annotations

from network.simulation.config import SimConfig
from network.simulation.policies.periodic import PeriodicSync

NAME = "split_daily"


def make(config: SimConfig) -> PeriodicSync:
    return PeriodicSync(
        NAME,
        sync_minutes=1440,
        first_minute=config.baselines.daily_sync_hour * 60,
        shares=config.baselines.split_shares,
    )
