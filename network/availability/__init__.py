"""What a retailer can sell: the availability formula over stock, holds and connections (DESIGN §5)."""

# Availability reacts to changes below it (network/signals.py): importing the package connects it.
from network.availability import reactions  # noqa: F401
