"""Plain builder functions with unique references, and a small authenticated API caller."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from network.catalog import services as catalog
from network.catalog.gtin import gtin_check_digit
from network.clock import utcnow
from network.db import transaction
from network.partners import services as partners

_seq = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_seq)}"


def gtin13(n: int) -> str:
    body = f"{n:012d}"
    return body + str(gtin_check_digit(body))


class Api:
    """Calls one API with one organization's bearer token."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, path: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs):
        return self._call("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self._call("POST", path, **kwargs)

    def put(self, path: str, **kwargs):
        return self._call("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs):
        return self._call("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self._call("DELETE", path, **kwargs)


def issue_token(client: FlaskClient, client_id: str, secret: str, scope: str | None = None) -> str:
    """Get a bearer token through the real token endpoint (HTTP Basic client authentication)."""
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    response = client.post("/oauth/token", data=form, headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


@dataclass
class Party:
    id: int
    name: str
    api: Api
    client_id: str = ""
    secret: str = ""


@dataclass
class Network:
    retailers: list[Party] = field(default_factory=list)
    vendors: list[Party] = field(default_factory=list)

    @property
    def retailer(self) -> Party:
        return self.retailers[0]

    @property
    def vendor(self) -> Party:
        return self.vendors[0]


def make_org(session: Session, client: FlaskClient, kind: str, scopes: list[str] | None = None) -> Party:
    now = utcnow()
    with transaction(session):
        org = partners.create_organization(session, kind=kind, name=unique(kind.title()), now=now)
        api_client, secret = partners.create_api_client(session, org_id=org.id, scopes=scopes, now=now)
    token = issue_token(client, api_client.client_id, secret)
    return Party(org.id, org.name, Api(client, token), api_client.client_id, secret)


def connect(session: Session, retailer: Party, vendor: Party, **terms) -> int:
    with transaction(session):
        return partners.connect(
            session, retailer_id=retailer.id, vendor_id=vendor.id, now=utcnow(), **terms
        ).id


def make_network(session: Session, client: FlaskClient, retailers: int = 2, vendors: int = 2) -> Network:
    net = Network(
        retailers=[make_org(session, client, "retailer") for _ in range(retailers)],
        vendors=[make_org(session, client, "vendor") for _ in range(vendors)],
    )
    for retailer in net.retailers:
        for vendor in net.vendors:
            connect(session, retailer, vendor)
    return net


def make_variant(session: Session, vendor: Party, sku: str | None = None, **fields) -> int:
    fields.setdefault("title", "A thing")
    fields.setdefault("cost", Decimal("10.00"))
    with transaction(session):
        variant, _ = catalog.upsert_variant(
            session, vendor_id=vendor.id, vendor_sku=sku or unique("VSKU"), now=utcnow(), **fields
        )
    return variant.id


def make_item(session: Session, retailer: Party, variant_ids: list[int], sku: str | None = None) -> str:
    """Create a retailer item through the API, sources in priority order."""
    sku = sku or unique("RSKU")
    body = {
        "title": "Item",
        "sources": [{"vendor_variant_id": v, "priority": p} for p, v in enumerate(variant_ids)],
    }
    response = retailer.api.put(f"/api/v1/items/{sku}", json=body)
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return sku


def push_csv(vendor: Party, text: str, **params):
    """Push a CSV body through the vendor API; params become query parameters (mode, basis, as_of)."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return vendor.api.post(
        f"/vendor-api/v1/inventory?{query}", data=text.encode(), headers={"Content-Type": "text/csv"}
    )


def push_json(vendor: Party, rows: list[dict], **body):
    return vendor.api.post("/vendor-api/v1/inventory", json={"rows": rows, **body})


def availability(retailer: Party, sku: str) -> dict:
    response = retailer.api.get(f"/api/v1/availability?sku={sku}")
    assert response.status_code == 200, response.get_data(as_text=True)
    (row,) = response.get_json()["data"]
    return row


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
