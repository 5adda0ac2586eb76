"""Read models for the vendor portal's pages: bounded queries (paginated, indexed, no N+1)."""
