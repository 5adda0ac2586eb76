"""The address guard of feed fetches: the hub must not be turned into a probe of its own network.

A host resolving to a non-public address (private, loopback, link-local, reserved, multicast) is
refused unless `allow_private` is set or the host is listed exactly in `allowed_hosts`; a non-empty
`allowed_hosts` also refuses every host not on it (an entry ".example.com" allows its
subdomains). The check runs before each request and, with a session from `http_session`, again
on the addresses the connection actually uses, so a DNS answer that changes in between
(rebinding) cannot slip through. HTTP pulls (`pull`), SFTP feeds and trading partners share it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

if TYPE_CHECKING:
    from network.feeds.pull import PullSettings


class AddressRefused(NewConnectionError):
    """The host resolves to an address the hub does not fetch from."""


def host_refusal(host: str, settings: PullSettings) -> str | None:
    """Return why a host may not be fetched by name (allow-list), or None."""
    host = host.lower().rstrip(".")
    if settings.allowed_hosts and not _listed(host, settings.allowed_hosts):
        return f"host {host} is not on the hub's list of allowed feed hosts"
    return None


def address_refusal(host: str, addresses: Iterable[str], settings: PullSettings) -> str | None:
    """Return why a host's resolved addresses may not be fetched, or None."""
    host = host.lower().rstrip(".")
    if settings.allow_private or host in settings.allowed_hosts:
        return None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            return (
                f"host {host} resolves to a non-public address; the hub fetches feeds from public "
                "addresses only"
            )
    return None


def literal_refusal(host: str, settings: PullSettings) -> str | None:
    """Return why a host whose address is known without DNS may not be fetched, or None.

    For a feed's settings: an IP literal (in any form the resolver accepts, 127.1 or 2130706433
    too) or a localhost name is refused when it is saved, not only when it is fetched. Names
    that need DNS are left to the fetch, which checks every address it connects to.
    """
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return address_refusal(host, ["127.0.0.1"], settings)
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError:
        try:
            address = socket.inet_ntoa(socket.inet_aton(host))  # legacy IPv4 forms; no lookup
        except (OSError, UnicodeError):
            return None
    return address_refusal(host, [address], settings)


def _listed(host: str, allowed: frozenset[str]) -> bool:
    return host in allowed or any(entry.startswith(".") and host.endswith(entry) for entry in allowed)


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


class _GuardedConnectionMixin:
    """Resolve, check every address, then connect to a checked address (never re-resolving)."""

    settings: PullSettings

    def _new_conn(self) -> socket.socket:
        host = self._dns_host
        try:
            addresses = resolve(host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        refusal = address_refusal(host, addresses, self.settings)
        if refusal:
            raise AddressRefused(self, refusal)
        error: OSError | None = None
        for address in addresses:
            try:
                return urllib3_connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"connection to {self.host} timed out") from exc
            except OSError as exc:
                error = exc
        raise NewConnectionError(self, f"failed to establish a new connection: {error}") from error


def http_session(settings: PullSettings) -> requests.Session:
    """Return a requests session that applies the address guard when it connects.

    It ignores proxy and .netrc settings from the environment: a proxy would hide the real
    destination from the guard, and .netrc could attach someone else's credentials.
    """

    class Connection(_GuardedConnectionMixin, HTTPConnection):
        pass

    class SecureConnection(_GuardedConnectionMixin, HTTPSConnection):
        pass

    Connection.settings = SecureConnection.settings = settings

    class Pool(HTTPConnectionPool):
        ConnectionCls = Connection

    class SecurePool(HTTPSConnectionPool):
        ConnectionCls = SecureConnection

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": SecurePool}

    session = requests.Session()
    session.trust_env = False
    session.mount("http://", Adapter(max_retries=0))
    session.mount("https://", Adapter(max_retries=0))
    return session
