"""The only place that reads the wall clock; rules take `now` as an argument."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
