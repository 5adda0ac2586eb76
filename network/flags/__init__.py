"""Flags on at-risk order lines, reroutes, oversell holds and vendor notices (DESIGN §9)."""

# Flags react to purchase-order transitions (network/signals.py): importing the package connects
# them, so orders never import flags.
from network.flags import hooks, likely_short, unfillable  # noqa: F401
