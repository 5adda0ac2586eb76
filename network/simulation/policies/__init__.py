"""The policies compared on the same world: four usual workarounds and Dropnet as built."""

from __future__ import annotations

from collections.abc import Callable

from network.simulation.config import SimConfig
from network.simulation.engine import Policy
from network.simulation.policies import full_daily, hourly, quarter_hourly, split

BASELINES: dict[str, Callable[[SimConfig], Policy]] = {
    split.NAME: split.make,
    full_daily.NAME: full_daily.make,
    hourly.NAME: hourly.make,
    quarter_hourly.NAME: quarter_hourly.make,
}
DROPNET = "dropnet"
# Dropnet with its retailers on the predictive availability model (issue 18). Chosen by name only:
# `all` keeps the five policies the stored runs hold.
DROPNET_PREDICTIVE = "dropnet_predictive"
HUB_POLICIES = (DROPNET, DROPNET_PREDICTIVE)
NAMES = (*BASELINES, DROPNET)  # `all`
CHOICES = (*NAMES, DROPNET_PREDICTIVE)
