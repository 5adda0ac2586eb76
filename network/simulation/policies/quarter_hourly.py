"""The full reported quantity on every channel, synced every 15 minutes, without in-flight accounting.

The fastest of the periodic syncs: still nothing is subtracted for orders a vendor has not
processed yet, so each sync puts those units back on sale (docs/simulation.md).
"""

from __future__ import annotations

from network.simulation.config import SimConfig
from network.simulation.policies.periodic import PeriodicSync

NAME = "full_15min"


def make(config: SimConfig) -> PeriodicSync:
    return PeriodicSync(NAME, sync_minutes=15)
