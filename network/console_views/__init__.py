"""Read models for the retailer console's pages: bounded queries (limited, indexed, no N+1)."""
