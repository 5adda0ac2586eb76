"""Flags on at-risk order lines, reroutes, oversell holds and vendor notices (DESIGN §9)."""
