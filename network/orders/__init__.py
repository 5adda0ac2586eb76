"""Orders, routing, purchase orders and returns (DESIGN §7)."""
