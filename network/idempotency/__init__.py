"""Idempotency keys: a repeated write answers what the first one answered and creates nothing."""
