"""Vendors' reported stock: positions, snapshots and the ledger (DESIGN §4-§6)."""

# Stock reacts to the catalog's new variants (network/signals.py): importing the package connects it.
from network.stock import positions  # noqa: F401
