"""A file sent to an upload feed (the vendor API's POST /feeds/<id>/upload): read with the feed's
format and mapping, then the feed pipeline. Files and counts a person enters in the portal are in
`network.uploads.services`; both are the hand-sent side of stock, above `network.feeds`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from network.errors import Conflict
from network.feeds import configs
from network.feeds import models as m
from network.feeds.services import FeedReceipt, receive_feed


def receive_upload(
    session: Session,
    feed_id: int,
    *,
    vendor_id: int,
    data: bytes,
    content_type: str,
    now: dt.datetime,
    hold_share: float | None,
) -> m.FeedRun:
    """Run an uploaded file through an upload feed. Raises NotFound, Conflict for other transports."""
    receipt = upload_receipt(session, feed_id, vendor_id=vendor_id, data=data, content_type=content_type)
    feed = configs.get_feed(session, feed_id, vendor_id=vendor_id)
    run = receive_feed(session, receipt, now=now, hold_share=hold_share)
    configs.note_upload(feed, run, now=now)
    return run


def upload_receipt(
    session: Session, feed_id: int, *, vendor_id: int, data: bytes, content_type: str
) -> FeedReceipt:
    """Return how an upload feed reads a file sent to it. Raises NotFound, Conflict for other transports."""
    feed = configs.get_feed(session, feed_id, vendor_id=vendor_id)
    if feed.transport != m.UPLOAD:
        raise Conflict(
            f"feed {feed_id} is a {feed.transport} feed; files are uploaded to upload feeds "
            "(or pushed to POST /vendor-api/v1/inventory)"
        )
    return FeedReceipt(
        vendor_id=vendor_id,
        transport=m.UPLOAD,
        mode=feed.mode,
        basis=feed.basis,
        data=data,
        content_type=content_type or "application/octet-stream",
        fmt=configs.feed_format(feed),
        feed_id=feed.id,
    )
