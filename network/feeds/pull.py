"""Fetch a vendor's feed URL: conditional GET, timeouts, a size cap, redirects and an address guard.

`pull` never raises for anything the remote side or the network does; it returns a `PullResult`
whose `reason` says what went wrong in words fit for the vendor. Reasons name the host only,
never the path, query or credentials (vendors put API keys in query strings).

The address guard (which hosts and addresses the hub fetches from, and the session that checks
them as it connects) is `network.feeds.address_guard`.
"""

from __future__ import annotations

import logging
import socket
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError

from network.feeds.address_guard import AddressRefused, address_refusal, host_refusal, resolve

# urllib3 logs each request line, query string included, at DEBUG; vendors put API keys there.
logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)

OK = "ok"
NOT_MODIFIED = "not_modified"
FAILED = "failed"

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024
USER_AGENT = "Dropnet-Hub/1 (+feed pull)"


@dataclass(frozen=True)
class PullSettings:
    """How the hub fetches feeds (HUB_FEED_* settings)."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0
    max_bytes: int = 50 * 1024 * 1024
    max_redirects: int = 5
    allowed_hosts: frozenset[str] = frozenset()
    allow_private: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> PullSettings:
        hosts = config.get("HUB_FEED_ALLOWED_HOSTS") or ""
        if isinstance(hosts, str):
            hosts = hosts.split(",")
        return cls(
            connect_timeout=float(config.get("HUB_FEED_CONNECT_TIMEOUT", cls.connect_timeout)),
            read_timeout=float(config.get("HUB_FEED_READ_TIMEOUT", cls.read_timeout)),
            total_timeout=float(config.get("HUB_FEED_TOTAL_TIMEOUT", cls.total_timeout)),
            max_bytes=int(config.get("HUB_FEED_MAX_BYTES", cls.max_bytes)),
            max_redirects=int(config.get("HUB_FEED_MAX_REDIRECTS", cls.max_redirects)),
            allowed_hosts=frozenset(h.strip().lower() for h in hosts if str(h).strip()),
            allow_private=bool(config.get("HUB_FEED_ALLOW_PRIVATE", False)),
        )


@dataclass(frozen=True)
class PullSource:
    """What to fetch: the URL, the auth (kind and opened parameters) and the validators we hold."""

    url: str
    auth_kind: str = "none"
    auth: Mapping[str, str] = field(default_factory=dict, repr=False)
    etag: str | None = None
    last_modified: str | None = None
    host_key: str | None = None  # sftp:// only: the pinned server key


@dataclass(frozen=True)
class PullResult:
    """The outcome of one fetch: OK with the body, NOT_MODIFIED (304), or FAILED with a reason."""

    outcome: str
    data: bytes = field(default=b"", repr=False)
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    http_status: int | None = None
    reason: str | None = None
    elapsed_ms: int = 0
    host_key: str | None = None  # sftp:// only: the server key seen


class PullFailed(Exception):
    """A fetch that cannot give a body; the message is the vendor-facing reason."""


def pull(http: requests.Session, source: PullSource, settings: PullSettings) -> PullResult:
    """Fetch a feed URL once, following redirects; never raises for remote or network trouble."""
    if source.url.startswith("sftp://"):
        from network.feeds.sftp import pull_file  # the SFTP client builds on this module's guard

        return pull_file(source, settings)
    started = time.monotonic()
    try:
        response, body = _fetch(http, source, settings, started)
    except PullFailed as exc:
        return PullResult(FAILED, reason=str(exc), elapsed_ms=_ms(started))
    if response.status_code == 304:
        return PullResult(
            NOT_MODIFIED,
            http_status=304,
            etag=response.headers.get("ETag") or source.etag,
            last_modified=response.headers.get("Last-Modified") or source.last_modified,
            elapsed_ms=_ms(started),
        )
    return PullResult(
        OK,
        data=body,
        content_type=response.headers.get("Content-Type", "")[:100],
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        http_status=response.status_code,
        elapsed_ms=_ms(started),
    )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _fetch(
    http: requests.Session, source: PullSource, settings: PullSettings, started: float
) -> tuple[requests.Response, bytes]:
    url = source.url
    origin = _origin(url)
    seen = {url}
    for _ in range(settings.max_redirects + 1):
        parts = _check_url(url, settings)
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
        if source.etag:
            headers["If-None-Match"] = source.etag
        if source.last_modified:
            headers["If-Modified-Since"] = source.last_modified
        auth = None
        if _origin(url) == origin:  # credentials never follow a redirect to another site
            auth = _apply_auth(source, headers)
        response = _request(http, url, headers, auth, settings, parts.hostname or "")
        if response.status_code in REDIRECT_CODES and response.headers.get("Location"):
            response.close()
            url = urljoin(url, response.headers["Location"])
            if url in seen:
                raise PullFailed(f"redirect loop: {_where(url)} redirects back to an address already visited")
            seen.add(url)
            continue
        if response.status_code == 304:
            response.close()
            return response, b""
        if not 200 <= response.status_code < 300:
            response.close()
            raise PullFailed(
                f"{_where(url)} answered HTTP {response.status_code} {response.reason or ''}".strip()
            )
        return response, _read_body(response, settings, started, _where(url))
    raise PullFailed(f"more than {settings.max_redirects} redirects, starting at {_where(source.url)}")


def _check_url(url: str, settings: PullSettings):  # noqa: ANN202
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise PullFailed("the feed URL is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PullFailed("the feed URL must be an http:// or https:// URL with a host")
    refusal = host_refusal(parts.hostname, settings)
    if refusal is None:
        try:
            addresses = resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        except (socket.gaierror, UnicodeError):
            raise PullFailed(f"could not resolve host {parts.hostname}") from None
        refusal = address_refusal(parts.hostname, addresses, settings)
    if refusal:
        raise PullFailed(refusal)
    return parts


def _apply_auth(source: PullSource, headers: dict[str, str]) -> tuple[str, str] | None:
    if source.auth_kind == "basic":
        return source.auth["username"], source.auth["password"]
    if source.auth_kind == "bearer":
        headers["Authorization"] = f"Bearer {source.auth['token']}"
    elif source.auth_kind == "header":
        headers[source.auth["name"]] = source.auth["value"]
    return None


def _request(
    http: requests.Session,
    url: str,
    headers: dict[str, str],
    auth: tuple[str, str] | None,
    settings: PullSettings,
    host: str,
) -> requests.Response:
    try:
        return http.get(
            url,
            headers=headers,
            auth=auth,
            timeout=(settings.connect_timeout, settings.read_timeout),
            stream=True,
            allow_redirects=False,
        )
    except requests.exceptions.ConnectTimeout:
        raise PullFailed(f"no connection to {host} within {settings.connect_timeout:g} s") from None
    except requests.exceptions.ReadTimeout:
        raise PullFailed(f"{host} sent no answer within {settings.read_timeout:g} s") from None
    except requests.exceptions.SSLError as exc:
        raise PullFailed(f"TLS error with {host}: {_tls_reason(exc)}") from None
    except requests.exceptions.ConnectionError as exc:
        raise PullFailed(_connection_reason(exc, host)) from None
    except (requests.exceptions.RequestException, ValueError) as exc:
        raise PullFailed(f"request to {host} failed ({type(exc).__name__})") from None


def _read_body(response: requests.Response, settings: PullSettings, started: float, where: str) -> bytes:
    limit = settings.max_bytes
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and "Content-Encoding" not in response.headers and int(declared) > limit:
        response.close()
        raise PullFailed(f"{where} sent a body of {int(declared):,} bytes, over the {limit:,}-byte limit")
    body = bytearray()
    try:
        for chunk in response.iter_content(CHUNK):
            body += chunk
            if len(body) > limit:
                raise PullFailed(f"{where} sent more than the {limit:,}-byte limit")
            if time.monotonic() - started > settings.total_timeout:
                raise PullFailed(f"{where} took longer than {settings.total_timeout:g} s to send the feed")
    except requests.exceptions.ChunkedEncodingError:
        raise PullFailed(f"{where} closed the connection before the whole body arrived (truncated)") from None
    except requests.exceptions.ContentDecodingError:
        raise PullFailed(f"{where} sent a compressed body that cannot be decompressed") from None
    except requests.exceptions.ConnectionError as exc:
        raise PullFailed(_connection_reason(exc, where)) from None
    except requests.exceptions.RequestException as exc:
        raise PullFailed(f"reading the body from {where} failed ({type(exc).__name__})") from None
    finally:
        response.close()
    if body[:2] == b"\x1f\x8b":  # a .gz file served as is, without Content-Encoding
        return _gunzip(bytes(body), limit, where)
    return bytes(body)


def _gunzip(data: bytes, limit: int, where: str) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise PullFailed(f"{where} sent a gzip file that cannot be decompressed") from None
    if len(out) > limit:
        raise PullFailed(f"{where} sent a gzip file that unpacks to more than the {limit:,}-byte limit")
    if not inflater.eof:
        raise PullFailed(f"{where} sent a gzip file that is cut short (truncated)")
    return out


def _origin(url: str) -> tuple[str, str, int | None]:
    try:
        parts = urlsplit(url)
        return parts.scheme, (parts.hostname or ""), parts.port
    except ValueError:
        return "", "", None


def _where(url: str) -> str:
    """Name a URL by scheme and host only: paths and queries may hold the vendor's keys."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}"
    except ValueError:
        return "the feed URL"


def _causes(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(
            e
            for e in (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args)
            if isinstance(e, BaseException)
        )


def _connection_reason(exc: BaseException, host: str) -> str:
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, AddressRefused):
            return cause._message
    checks: tuple[tuple[type | tuple[type, ...], str], ...] = (
        ((NameResolutionError, socket.gaierror), f"could not resolve host {host}"),
        (ConnectionRefusedError, f"{host} refused the connection"),
        (ConnectionResetError, f"{host} reset the connection"),
        (TimeoutError, f"no connection to {host} in time"),
    )
    for kinds, reason in checks:
        if any(isinstance(cause, kinds) for cause in causes):
            return reason
    if any(type(cause) is ConnectTimeoutError for cause in causes):
        return f"no connection to {host} in time"
    return f"could not connect to {host}"


def _tls_reason(exc: BaseException) -> str:
    text = " ".join(str(cause) for cause in _causes(exc))
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "certificate verify failed"
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return "the server does not speak TLS on that port"
    if "hostname" in text.lower() and "match" in text.lower():
        return "the certificate does not match the host"
    return "handshake failed"
