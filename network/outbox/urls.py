"""Which webhook URLs the hub will call: https, public addresses (no calling into our own network)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from network.errors import InvalidInput
from network.outbox.settings import WebhookSettings

MAX_URL_LENGTH = 2000


def check_url(url: str, settings: WebhookSettings) -> str:
    """Return the URL if the hub may deliver to it.

    Raises InvalidInput: not https (plain http only to hosts the settings allow), no host, or a
    host resolving to a private, loopback or link-local address while those are not allowed.
    """
    problem = url_problem(url, settings)
    if problem:
        raise InvalidInput(f"the webhook URL is refused: {problem}", errors={"url": [problem]})
    return url


def url_problem(url: str, settings: WebhookSettings) -> str | None:
    """Return why the hub must not call a URL, or None; checked at registration and at each send."""
    if len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a valid URL"
    host = (parts.hostname or "").lower()
    if not host:
        return "the URL has no host"
    if parts.scheme == "http":
        if host not in settings.allow_http_hosts:
            return "use https (plain http is not allowed to this host)"
    elif parts.scheme != "https":
        return "use https"
    if settings.allow_private:
        return None
    try:
        infos = socket.getaddrinfo(
            host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError):
        return f"the host {host!r} does not resolve"
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            return f"the host {host!r} is a private, loopback or reserved address"
    return None
