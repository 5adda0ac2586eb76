"""The full reported quantity on every channel, synced every hour (docs/simulation.md)."""

from __future__ import annotations

from network.simulation.config import SimConfig
from network.simulation.policies.periodic import PeriodicSync

NAME = "full_hourly"


def make(config: SimConfig) -> PeriodicSync:
    return PeriodicSync(NAME, sync_minutes=60)
