"""What both platform clients share: one requests session, rate-limit waits, errors that say why.

Plain `requests`: Shopify's Python client (ShopifyAPI) is built around the REST Admin API, which
Shopify marks legacy; its GraphQL use is a bare POST anyway. WooCommerce's Python client is a
thin wrapper over requests with the same basic-auth call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30
# A Retry-After beyond this is not waited out in a worker: the sync stops and tries again later.
MAX_WAIT_SECONDS = 60.0


class StoreError(Exception):
    """The store refused or failed a call; the message says why (never a credential)."""


class RateLimited(StoreError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"the store asks to wait {retry_after:.0f} s (429)")
        self.retry_after = retry_after


@dataclass
class Transport:
    """A requests session with timeouts and the waits the store asked for, counted."""

    session: requests.Session = field(default_factory=requests.Session)
    sleep: Callable[[float], None] = time.sleep
    requests_sent: int = 0
    refused_for_rate: int = 0

    def send(self, method: str, url: str, *, attempts: int = 4, **kwargs) -> requests.Response:
        """Send, waiting out a 429's Retry-After (at most MAX_WAIT_SECONDS) a few times."""
        for _ in range(attempts):
            self.requests_sent += 1
            try:
                response = self.session.request(
                    method, url, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), **kwargs
                )
            except requests.RequestException as exc:
                raise StoreError(f"the store did not answer: {type(exc).__name__}") from None
            if response.status_code != 429:
                return response
            self.refused_for_rate += 1
            wait = retry_after(response)
            if wait > MAX_WAIT_SECONDS:
                raise RateLimited(wait)
            self.sleep(wait)
        raise RateLimited(retry_after(response))


def retry_after(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "2")))
    except ValueError:
        return 2.0
