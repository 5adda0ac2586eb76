"""The flags' background jobs (the Flask-aware wiring of network/flags): evaluate, and email vendor notices."""

from __future__ import annotations

import datetime as dt
import logging

from flask import current_app

from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.flags import evaluation, notices
from network.mail import MailNotSent

log = logging.getLogger(__name__)

EVALUATE_SECONDS = 30
NOTICES_SECONDS = 30
# One notice job sends at most this many batches; the next tick carries on.
MAX_NOTICE_BATCHES = 20


def evaluate_flags(*, now: dt.datetime | None = None) -> evaluation.Evaluation | None:
    """Raise and clear the clock-driven flags, lift expired holds, reroute what the policies allow."""
    with transaction(db.session):
        result = evaluation.evaluate(db.session, now=now or utcnow())
    if result is not None and (result.raised or result.resolved or result.rerouted or result.holds_expired):
        log.info(
            "flags: %d raised, %d resolved, %d rerouted, %d holds expired",
            len(result.raised),
            result.resolved,
            result.rerouted,
            result.holds_expired,
        )
    return result


def send_vendor_notices(*, now: dt.datetime | None = None) -> int:
    """Email vendors what their outbox events say; return how many emails went out.

    The batch is claimed in one transaction and the cursor moved in another: no email is sent
    with a transaction open. A batch the mail server refused entirely is kept for the next tick.
    """
    mailer = current_app.extensions["hub_mailer"]
    public_url = str(current_app.config["PUBLIC_URL"])
    total = 0
    for _ in range(MAX_NOTICE_BATCHES):
        with transaction(db.session):
            batch = notices.claim_notices(db.session, now=now or utcnow(), public_url=public_url)
        if batch is None:
            break
        sent = failed = 0
        for email in batch.emails:
            try:
                mailer.send(email)
                sent += 1
            except MailNotSent:
                failed += 1
        delivered = sent > 0 or failed == 0
        with transaction(db.session):
            notices.finish_notices(db.session, batch, sent=delivered, now=now or utcnow())
        total += sent
        if failed:
            log.warning("vendor notices: %d of %d emails not sent", failed, len(batch.emails))
        if not delivered:
            break
    return total
