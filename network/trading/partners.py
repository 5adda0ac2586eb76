"""Trading-partner setup: validate and store a vendor's X12 ids, version, separators, documents and
SFTP mailbox; hand out control numbers; pin the mailbox's host key.

Credentials (a password or a private key) are sealed like feed credentials
(network/feeds/credentials.py) and only the SFTP client opens them. The SFTP host passes the same
allow-list as HTTP feed hosts (network/feeds/address_guard.py); the resolved addresses are checked again
when the transport connects.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.db import is_postgres
from network.edi.x12 import Party, Separators
from network.errors import InvalidInput, NotFound
from network.feeds.address_guard import host_refusal
from network.feeds.credentials import Credentials
from network.feeds.pull import PullSettings
from network.trading.models import AFTER_PULL, DOCUMENTS, VERSIONS, TradingPartner

# ISA05/07 qualifiers seen in retail: 01 DUNS, 08 UCC EDI comm id, 12 phone, 14 DUNS+4, 16 DUNS+4
# (alt.), ZZ mutually defined.
QUALIFIERS = ("01", "02", "08", "09", "12", "14", "16", "20", "27", "28", "29", "30", "ZZ")
_ISA_ID = re.compile(r"[A-Za-z0-9 .\-_/&]{1,15}")
_HOST = re.compile(r"[A-Za-z0-9.\-:\[\]]{1,255}")
_DIR = re.compile(r"[^\x00-\x1f\x7f]{0,500}")
_PATTERN = re.compile(r"[A-Za-z0-9*?._\-\[\]]{1,100}")
# What the hub sends and what it takes in, for the default list of documents.
DEFAULT_DOCUMENTS = ["850", "855", "856", "810", "860", "997"]


@dataclass(frozen=True)
class HubIds:
    """The hub's own ISA/GS identity (HUB_ISA_QUALIFIER, HUB_ISA_ID)."""

    qualifier: str = "ZZ"
    id: str = "DROPNET"

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> HubIds:
        return cls(str(config.get("HUB_ISA_QUALIFIER") or "ZZ"), str(config.get("HUB_ISA_ID") or "DROPNET"))


def get_partner(session: Session, *, vendor_id: int) -> TradingPartner:
    """Raises NotFound when the vendor has no EDI setup."""
    partner = session.scalar(sa.select(TradingPartner).where(TradingPartner.vendor_id == vendor_id))
    if partner is None:
        raise NotFound("this vendor has no EDI trading-partner setup; PUT /vendor-api/v1/edi first")
    return partner


def find_partner(session: Session, *, vendor_id: int) -> TradingPartner | None:
    return session.scalar(sa.select(TradingPartner).where(TradingPartner.vendor_id == vendor_id))


def configure(
    session: Session,
    *,
    vendor_id: int,
    values: Mapping[str, object],
    credentials: Credentials,
    hub: HubIds,
    pull_settings: PullSettings,
    now: dt.datetime,
) -> TradingPartner:
    """Create or replace a vendor's setup (PUT semantics). Raises InvalidInput naming every bad field."""
    errors: dict[str, list[str]] = {}
    transport = values.get("transport") or {}
    if not isinstance(transport, Mapping):
        transport = {}
        errors["transport"] = ["an object"]
    qualifier = str(values.get("isa_qualifier") or "").upper()
    if qualifier not in QUALIFIERS:
        errors["isa_qualifier"] = [f"one of {', '.join(QUALIFIERS)}"]
    isa_id = str(values.get("isa_id") or "").strip()
    if not _ISA_ID.fullmatch(isa_id):
        errors["isa_id"] = ["1 to 15 letters, digits, spaces or . - _ / &"]
    version = str(values.get("version") or "004010")
    if version not in VERSIONS:
        errors["version"] = [f"one of {', '.join(VERSIONS)}"]
    documents = values.get("documents", DEFAULT_DOCUMENTS)
    if not isinstance(documents, list) or any(d not in DOCUMENTS for d in documents):
        errors["documents"] = [f"a list of {', '.join(DOCUMENTS)}"]
        documents = []
    seps_in = values.get("separators") or {}
    seps = Separators(
        element=str(seps_in.get("element", "*")),
        component=str(seps_in.get("component", ">")),
        terminator=str(seps_in.get("terminator", "~")),
        repetition=str(seps_in.get("repetition", "^")),
    )
    if (why := seps.check()) is not None:
        errors["separators"] = [why]
    if transport.get("kind", "sftp") != "sftp":
        errors["transport.kind"] = ["sftp is the one transport"]
    host = str(transport.get("host") or "").strip().lower()
    if not _HOST.fullmatch(host):
        errors["transport.host"] = ["a host name or address"]
    elif (refusal := host_refusal(host, pull_settings)) is not None:
        errors["transport.host"] = [refusal]
    port = transport.get("port", 22)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        errors["transport.port"] = ["1 to 65535"]
    username = str(transport.get("username") or "")
    if not 0 < len(username) <= 100 or any(c in username for c in "\r\n\x00"):
        errors["transport.username"] = ["1 to 100 characters on one line"]
    for name in ("inbound_dir", "outbound_dir", "archive_dir"):
        value = transport.get(name)
        if value is not None and (not isinstance(value, str) or not _DIR.fullmatch(value)):
            errors[f"transport.{name}"] = ["a folder path on one line"]
    pattern = str(transport.get("pattern") or "*")
    if not _PATTERN.fullmatch(pattern):
        errors["transport.pattern"] = ["a file-name glob such as *.edi"]
    after_pull = str(transport.get("after_pull") or "archive")
    if after_pull not in AFTER_PULL:
        errors["transport.after_pull"] = ["archive or leave"]
    partner = find_partner(session, vendor_id=vendor_id)
    secrets = transport.get("credentials")
    sealed = partner.credentials_sealed if partner is not None else None
    if secrets is not None or partner is None:
        opened = _check_secrets(secrets, errors)
        if opened is not None:
            sealed = credentials.seal(opened)
    window = values.get("ack_window_minutes", 240)
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 7 * 24 * 60:
        errors["ack_window_minutes"] = ["1 to 10080 minutes"]
    host_key = transport.get("host_key")
    if host_key is not None and (not isinstance(host_key, str) or len(host_key.split()) < 2):
        errors["transport.host_key"] = ["'<key type> <base64>' as in known_hosts, without the host"]
    if errors:
        raise InvalidInput("invalid EDI setup", errors=errors)
    if partner is None:
        partner = TradingPartner(vendor_id=vendor_id, created_at=now)
        session.add(partner)
    elif partner.host != host or partner.port != port:
        partner.host_key = None  # another server: its first key is recorded again
        partner.offered_host_key = None
    partner.isa_qualifier, partner.isa_id = qualifier, isa_id
    partner.hub_isa_qualifier, partner.hub_isa_id = hub.qualifier, hub.id
    partner.version, partner.documents = version, list(dict.fromkeys(documents))
    partner.element_separator, partner.component_separator = seps.element, seps.component
    partner.segment_terminator, partner.repetition_separator = seps.terminator, seps.repetition
    partner.ack_window_minutes = window
    partner.test_mode = bool(values.get("test_mode", False))
    partner.host, partner.port, partner.username = host, port, username
    partner.credentials_sealed = sealed
    partner.inbound_dir = transport.get("inbound_dir") or "in"
    partner.outbound_dir = transport.get("outbound_dir") or "out"
    partner.archive_dir = transport.get("archive_dir") or "archive"
    partner.pattern, partner.after_pull = pattern, after_pull
    if host_key is not None:
        partner.host_key, partner.offered_host_key = " ".join(host_key.split()[:2]), None
    partner.poll_minutes = partner.poll_minutes or 15
    partner.interchange_control = partner.interchange_control or 0
    partner.group_control = partner.group_control or 0
    partner.set_control = partner.set_control or 0
    partner.active = True
    partner.next_poll_at = now
    partner.updated_at = now
    session.flush()
    return partner


def _check_secrets(secrets: object, errors: dict[str, list[str]]) -> dict[str, str] | None:
    if (
        not isinstance(secrets, Mapping)
        or len(secrets) != 1
        or not set(secrets) <= {"password", "private_key"}
    ):
        errors["transport.credentials"] = ["{password} or {private_key} (an OpenSSH or PEM private key)"]
        return None
    ((name, value),) = secrets.items()
    if not isinstance(value, str) or not 0 < len(value) <= 16000:
        errors[f"transport.credentials.{name}"] = ["a non-empty string"]
        return None
    if name == "private_key" and "PRIVATE KEY" not in value:
        errors["transport.credentials.private_key"] = ["an OpenSSH or PEM private key"]
        return None
    return {name: value}


def confirm_host_key(session: Session, *, vendor_id: int, now: dt.datetime) -> TradingPartner:
    """Accept the key the server offered instead of the pinned one. Raises NotFound, InvalidInput."""
    partner = get_partner(session, vendor_id=vendor_id)
    if partner.offered_host_key is None:
        raise InvalidInput("no changed host key is waiting for confirmation")
    partner.host_key, partner.offered_host_key = partner.offered_host_key, None
    partner.last_error, partner.updated_at = None, now
    return partner


def separators(partner: TradingPartner) -> Separators:
    return Separators(
        partner.element_separator,
        partner.component_separator,
        partner.segment_terminator,
        partner.repetition_separator,
    )


def parties(partner: TradingPartner) -> tuple[Party, Party]:
    """(hub, vendor) as ISA parties."""
    return Party(partner.hub_isa_qualifier, partner.hub_isa_id), Party(partner.isa_qualifier, partner.isa_id)


@dataclass(frozen=True)
class Controls:
    interchange: int
    group: int
    sets: tuple[int, ...]


def next_controls(session: Session, partner: TradingPartner, *, sets: int) -> Controls:
    """Take the next interchange, group and `sets` set control numbers, under the partner's row lock.

    ISA13 is 9 digits and ST02 4 to 9: the counters wrap before they would overflow, so numbers stay
    unique over any window a partner keeps (a billion interchanges).
    """
    if is_postgres(session):
        session.execute(sa.select(TradingPartner.id).where(TradingPartner.id == partner.id).with_for_update())
        session.refresh(partner)
    partner.interchange_control = partner.interchange_control % 999_999_999 + 1
    partner.group_control = partner.group_control % 999_999_999 + 1
    first = partner.set_control
    numbers = tuple((first + i) % 999_999_999 + 1 for i in range(sets))
    partner.set_control = numbers[-1] if numbers else first
    session.flush()
    return Controls(partner.interchange_control, partner.group_control, numbers)
