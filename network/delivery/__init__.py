"""Webhook delivery: claiming due deliveries, reading fresh figures, sending, recording outcomes.

It stands above availability (a coalesced push reads the figures as they are when sent) and the
outbox (events, endpoints and the fan-out to deliveries, which every area writes to).
"""
