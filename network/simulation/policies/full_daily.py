"""The full reported quantity on every channel, synced once a day (docs/simulation.md)."""

from __future__ import annotations

from network.simulation.config import SimConfig
from network.simulation.policies.periodic import PeriodicSync

NAME = "full_daily"


def make(config: SimConfig) -> PeriodicSync:
    return PeriodicSync(NAME, sync_minutes=1440, first_minute=config.baselines.daily_sync_hour * 60)
