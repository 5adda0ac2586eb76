"""An SFTP client (paramiko) for vendors' mailboxes: the address guard, host-key pinning, files
taken only once they stop growing, and uploads under a temporary name renamed into place.

Address guard: the same rules as HTTP feeds (network/feeds/address_guard.py): the host passes the
allow-list, every address it resolves to is checked, and the socket connects to a checked address
(no second lookup). Host keys: the server's key is compared with the pinned one before any
credential is sent; a different key raises HostKeyChanged carrying the key offered, so it can be
shown and confirmed; with no pin the key seen is returned for the caller to record.
"""

from __future__ import annotations

import io
import posixpath
import socket
import stat
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

import paramiko

from network.feeds.address_guard import address_refusal, host_refusal
from network.feeds.pull import (
    FAILED,
    NOT_MODIFIED,
    OK,
    PullResult,
    PullSettings,
    PullSource,
)


class SftpFailed(Exception):
    """The mailbox could not be used; the message is fit for the vendor (never a credential)."""


class HostKeyChanged(SftpFailed):
    def __init__(self, host: str, offered: str) -> None:
        super().__init__(
            f"the SFTP server {host} offered a different host key than the one pinned; "
            "nothing was sent or taken until the new key is confirmed"
        )
        self.offered = offered


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    username: str
    secret: Mapping[str, str] = field(repr=False)  # {"password"} or {"private_key"}
    host_key: str | None = None


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    mtime: int


def key_text(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.get_base64()}"


def _private_key(text: str) -> paramiko.PKey:
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise SftpFailed("the stored private key cannot be read (OpenSSH or PEM, Ed25519, ECDSA or RSA)")


class Connection:
    """An open SFTP session; `seen_key` is the server's key ("<type> <base64>")."""

    def __init__(self, transport: paramiko.Transport, sftp: paramiko.SFTPClient, seen_key: str) -> None:
        self.transport, self.sftp, self.seen_key = transport, sftp, seen_key

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.sftp.close()
        finally:
            self.transport.close()

    # --- taking files --------------------------------------------------------------------------

    def listing(self, folder: str, pattern: str) -> dict[str, RemoteFile]:
        found = {}
        for attr in self.sftp.listdir_attr(folder or "."):
            if attr.st_mode is not None and not stat.S_ISREG(attr.st_mode):
                continue
            if attr.filename.startswith(".") or not fnmatchcase(attr.filename, pattern):
                continue  # dot files are others' uploads in progress (and ours)
            found[attr.filename] = RemoteFile(attr.filename, attr.st_size or 0, attr.st_mtime or 0)
        return found

    def ready(
        self, folder: str, pattern: str, *, settle: float, sleep: Callable[[float], None] = time.sleep
    ) -> list[RemoteFile]:
        """Files whose size and time did not move between two looks `settle` seconds apart."""
        first = self.listing(folder, pattern)
        if not first:
            return []
        sleep(settle)
        second = self.listing(folder, pattern)
        return sorted(
            (f for name, f in second.items() if first.get(name) == f), key=lambda f: (f.mtime, f.name)
        )

    def read(self, folder: str, remote: RemoteFile, max_bytes: int) -> bytes:
        if remote.size > max_bytes:
            raise SftpFailed(f"{remote.name} is {remote.size} bytes, more than the {max_bytes} the hub takes")
        with self.sftp.open(posixpath.join(folder, remote.name), "rb") as handle:
            handle.prefetch(remote.size)
            data = handle.read(max_bytes + 1)
        if len(data) != remote.size:
            raise SftpFailed(
                f"{remote.name} changed while it was read ({remote.size} then {len(data)} bytes)"
            )
        return data

    def archive(self, folder: str, name: str, archive_dir: str) -> None:
        """Move a processed file out of the folder (a name already in the archive gets a suffix)."""
        self._ensure(archive_dir)
        target = posixpath.join(archive_dir, name)
        for attempt in range(1, 100):
            if not self._exists(target):
                break
            target = posixpath.join(archive_dir, f"{name}.{attempt}")
        self.sftp.rename(posixpath.join(folder, name), target)

    # --- dropping files ------------------------------------------------------------------------

    def put(self, folder: str, name: str, data: bytes) -> None:
        """Upload under a dot-name, then rename into place, so the partner never sees half a file.

        A final file already there with the same size is ours from an earlier try whose answer was
        lost: it is left as is (the same name always carries the same bytes).
        """
        final = posixpath.join(folder, name)
        try:
            if self.sftp.stat(final).st_size == len(data):
                return
        except FileNotFoundError:
            pass
        # A name of its own per upload: two workers pushing the same file never share a temporary.
        temporary = posixpath.join(folder, f".{name}.{uuid.uuid4().hex[:12]}.part")
        self.sftp.putfo(io.BytesIO(data), temporary, file_size=len(data), confirm=True)
        try:
            self.sftp.posix_rename(temporary, final)
        except OSError:  # a server without the posix-rename extension
            self.sftp.rename(temporary, final)

    def _exists(self, path: str) -> bool:
        try:
            self.sftp.stat(path)
        except FileNotFoundError:
            return False
        return True

    def _ensure(self, folder: str) -> None:
        if folder and not self._exists(folder):
            self.sftp.mkdir(folder)


def connect(mailbox: Mailbox, settings: PullSettings) -> Connection:
    """Open an SFTP session after the address guard and the host-key check. Raises SftpFailed."""
    host = mailbox.host.lower().rstrip(".")
    refusal = host_refusal(host, settings)
    if refusal:
        raise SftpFailed(refusal)
    try:
        infos = socket.getaddrinfo(host, mailbox.port, type=socket.SOCK_STREAM)
    except OSError:
        raise SftpFailed(f"the SFTP host {host} does not resolve") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    refusal = address_refusal(host, addresses, settings)
    if refusal:
        raise SftpFailed(refusal.replace("fetches feeds", "connects"))
    try:
        sock = socket.create_connection((addresses[0], mailbox.port), timeout=settings.connect_timeout)
    except OSError as exc:
        raise SftpFailed(
            f"cannot connect to the SFTP server {host}:{mailbox.port} ({exc.strerror or exc})"
        ) from None
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = transport.auth_timeout = settings.connect_timeout
        transport.start_client(timeout=settings.connect_timeout)
        seen = key_text(transport.get_remote_server_key())
        if mailbox.host_key and mailbox.host_key.split()[:2] != seen.split()[:2]:
            raise HostKeyChanged(host, seen)
        if "private_key" in mailbox.secret:
            transport.auth_publickey(mailbox.username, _private_key(mailbox.secret["private_key"]))
        else:
            transport.auth_password(mailbox.username, mailbox.secret.get("password", ""))
        sftp = paramiko.SFTPClient.from_transport(transport)
        sftp.get_channel().settimeout(settings.read_timeout)
    except SftpFailed:
        transport.close()
        raise
    except paramiko.AuthenticationException:
        transport.close()
        raise SftpFailed(f"the SFTP server {host} refused the login for {mailbox.username}") from None
    except (paramiko.SSHException, OSError, EOFError) as exc:
        transport.close()
        raise SftpFailed(f"SFTP session with {host} failed: {exc}") from None
    return Connection(transport, sftp, seen)


# --- sftp:// pull feeds ----------------------------------------------------------------------

# A feed file is taken once its size and time held across two looks this far apart.
FEED_SETTLE_SECONDS = 1.0
_CONTENT_TYPES = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".edi": "application/edi-x12",
    ".x12": "application/edi-x12",
}


def pull_file(
    source: PullSource, settings: PullSettings, *, settle: float = FEED_SETTLE_SECONDS
) -> PullResult:
    """Fetch an sftp:// feed: a file, or the newest settled file matching a glob, as the HTTP pull does.

    The path is taken from the login folder (sftp://host/outbound/stock_*.csv reads outbound/ there).
    The file's name, size and time act as its ETag: the same file again is `not_modified`.
    """
    started = time.monotonic()
    parts = urllib.parse.urlsplit(source.url)
    path = urllib.parse.unquote(parts.path).lstrip("/")
    folder, pattern = posixpath.split(path)
    mailbox = Mailbox(
        parts.hostname or "",
        parts.port or 22,
        source.auth.get("username", ""),
        {"private_key": source.auth["private_key"]}
        if "private_key" in source.auth
        else {"password": source.auth.get("password", "")},
        source.host_key,
    )
    seen = None
    try:
        with connect(mailbox, settings) as conn:
            seen = conn.seen_key
            ready = conn.ready(folder, pattern, settle=settle)
            if not ready:
                raise SftpFailed(
                    f"no settled file matching {pattern!r} in {folder or 'the login folder'} on {mailbox.host}"
                )
            newest = max(ready, key=lambda f: (f.mtime, f.name))
            etag = f"{newest.name}:{newest.size}:{newest.mtime}"
            elapsed = int((time.monotonic() - started) * 1000)
            if source.etag == etag:
                return PullResult(NOT_MODIFIED, etag=etag, elapsed_ms=elapsed, host_key=seen)
            data = conn.read(folder, newest, settings.max_bytes)
            content_type = _CONTENT_TYPES.get(
                posixpath.splitext(newest.name)[1].lower(), "application/octet-stream"
            )
            return PullResult(
                OK,
                data=data,
                content_type=content_type,
                etag=etag,
                elapsed_ms=int((time.monotonic() - started) * 1000),
                host_key=seen,
            )
    except SftpFailed as exc:
        reason = str(exc)
    except (OSError, EOFError, paramiko.SSHException) as exc:
        reason = f"SFTP session with {mailbox.host} failed: {exc}"
    return PullResult(
        FAILED, reason=reason, elapsed_ms=int((time.monotonic() - started) * 1000), host_key=seen
    )
