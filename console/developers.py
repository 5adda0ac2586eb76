"""The console's Developers pages: API clients, webhook endpoints and their deliveries, the event log.

They stand on the services the retailer API uses (network/partners for clients, network/outbox for
endpoints, deliveries and events), so a client or an endpoint made here is the one the API shows,
and each change goes to the audit log as it does from the API (the services record it).

Creating, revoking, rotating, replaying, pinging and deleting are an owner's or an admin's
(network/partners/roles.py), checked first on every POST: a viewer or an operator sees the lists
but a form posted directly answers 403 and changes nothing. Another retailer's ids answer 404.
Secrets are shown in the answer to the POST that made them, never redirected through the session.
"""

from __future__ import annotations

import re

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import StringField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from api_common.edge import BIGINT_MAX
from console.blueprint import console
from console.session import actor, login_required, may, require, retailer_id
from network.clock import utcnow
from network.db import transaction
from network.errors import InvalidInput
from network.extensions import db
from network.outbox import webhooks
from network.outbox.models import DEAD, DELIVERY_STATUSES
from network.outbox.services import latest_events
from network.outbox.settings import WebhookSettings
from network.outbox.signing import SecretBox
from network.partners import roles
from network.partners import services as partners
from network.partners.models import RETAILER_SCOPES
from vendor_portal.web.common import form_errors, keyset_position
from vendor_portal.web.forms import ApiClientForm

PAGE = 50
SCOPE_LABELS = {
    "catalog:read": "catalog:read — read items, sources and vendor variants",
    "catalog:write": "catalog:write — create items and map them to vendor variants",
    "availability:read": "availability:read — read what you may sell, and why",
    "orders:read": "orders:read — read orders, flags, returns and the event log",
    "orders:write": "orders:write — place, cancel and reroute orders, open returns",
    "webhooks:manage": "webhooks:manage — register webhook endpoints",
    "partners:manage": "partners:manage — invite vendors and change connection terms",
    "connectors:manage": "connectors:manage — connect Shopify and WooCommerce stores",
}


class EndpointForm(FlaskForm):
    url = URLField(
        "URL", validators=[DataRequired(), Length(max=2000)], description="https://… of your system"
    )
    events = StringField(
        "Events",
        default="*",
        validators=[DataRequired(), Length(max=2000)],
        description="Event types separated by commas or spaces, e.g. availability.changed, po.*, or * for all.",
    )
    description = StringField("Description", validators=[Optional(), Length(max=200)])


def _settings() -> WebhookSettings:
    return WebhookSettings.from_config(current_app.config)


def _box() -> SecretBox:
    return SecretBox(current_app.config["SECRET_KEY"])


def _page(rows: list, key) -> tuple[list, int | None]:
    """Split a fetch of PAGE + 1 rows into the page and the next page's position (None: the last)."""
    if len(rows) > PAGE:
        return rows[:PAGE], key(rows[PAGE - 1])
    return rows, None


# --- API clients ------------------------------------------------------------------------------


def _client_form() -> ApiClientForm:
    form = ApiClientForm()
    form.scopes.choices = [SelectChoice(scope, SCOPE_LABELS.get(scope, scope)) for scope in RETAILER_SCOPES]
    if request.method == "GET":
        form.scopes.data = list(RETAILER_SCOPES)
    return form


def _clients_page(form: ApiClientForm, *, created=None, secret: str | None = None, status: int = 200):
    after = keyset_position("after") or 0
    rows = partners.list_api_clients(db.session, org_id=retailer_id(), after_id=after, limit=PAGE + 1)
    clients, next_after = _page(rows, lambda client: client.id)
    page = render_template(
        "console/developers_clients.html",
        form=form,
        clients=clients,
        next_after=next_after,
        created=created,
        secret=secret,
        may_manage=may(roles.MANAGE),
    )
    return page, status


@console.get("/developers")
@login_required
def developers():
    return _clients_page(_client_form())


@console.post("/developers/clients")
@login_required
def developers_client_create():
    require(roles.MANAGE)
    form = _client_form()
    if not form.validate():
        return _clients_page(form, status=422)
    try:
        with transaction(db.session):
            client, secret = partners.create_api_client(
                db.session,
                org_id=retailer_id(),
                name=form.name.data,
                scopes=form.scopes.data,
                actor=actor(),
                now=utcnow(),
            )
    except InvalidInput as exc:
        form_errors(form, exc)
        return _clients_page(form, status=422)
    return _clients_page(_client_form(), created=client, secret=secret, status=201)


@console.post("/developers/clients/<int:client_pk>/revoke")
@login_required
def developers_client_revoke(client_pk: int):
    require(roles.MANAGE)
    with transaction(db.session):
        client = partners.revoke_api_client(
            db.session, client_pk, org_id=retailer_id(), actor=actor(), now=utcnow()
        )
    flash(f"The client {client.client_id} is revoked; its tokens stopped working.", "info")
    return redirect(url_for("console.developers"))


# --- webhook endpoints ------------------------------------------------------------------------


def _events_of(text: str) -> list[str]:
    return [name for name in re.split(r"[\s,]+", text) if name]


def _endpoints_page(form: EndpointForm, *, created=None, secret: str | None = None, status: int = 200):
    after = keyset_position("after") or 0
    rows = webhooks.list_endpoints(db.session, org_id=retailer_id(), after_id=after, limit=PAGE + 1)
    endpoints, next_after = _page(rows, lambda endpoint: endpoint.id)
    page = render_template(
        "console/developers_webhooks.html",
        form=form,
        endpoints=endpoints,
        next_after=next_after,
        created=created,
        secret=secret,
        may_manage=may(roles.MANAGE),
    )
    return page, status


@console.get("/developers/webhooks")
@login_required
def developers_webhooks():
    return _endpoints_page(EndpointForm())


@console.post("/developers/webhooks")
@login_required
def developers_endpoint_create():
    require(roles.MANAGE)
    form = EndpointForm()
    if not form.validate():
        return _endpoints_page(form, status=422)
    try:
        with transaction(db.session):
            endpoint, secret = webhooks.create_endpoint(
                db.session,
                org_id=retailer_id(),
                url=form.url.data.strip(),
                events=_events_of(form.events.data),
                description=(form.description.data or "").strip(),
                settings=_settings(),
                box=_box(),
                actor=actor(),
                now=utcnow(),
            )
    except InvalidInput as exc:
        form_errors(form, exc)
        return _endpoints_page(form, status=422)
    return _endpoints_page(EndpointForm(formdata=None), created=endpoint, secret=secret, status=201)


def _endpoint_page(endpoint_id: int, *, secret: str | None = None, status: int = 200):
    """An endpoint and its deliveries, newest first, `status` filtering, keyset pages by `before`."""
    wanted = request.args.get("status") or None
    if wanted is not None and wanted not in DELIVERY_STATUSES:
        wanted = None  # an unknown filter shows every delivery rather than an error page
    rows = webhooks.list_deliveries(
        db.session,
        endpoint_id,
        org_id=retailer_id(),
        status=wanted,
        before_id=keyset_position("before", maximum=BIGINT_MAX),
        limit=PAGE + 1,
    )
    deliveries, next_before = _page(rows, lambda delivery: delivery.id)
    endpoint = webhooks.get_endpoint(db.session, endpoint_id, org_id=retailer_id())
    page = render_template(
        "console/developers_endpoint.html",
        endpoint=endpoint,
        deliveries=deliveries,
        next_before=next_before,
        wanted=wanted,
        statuses=DELIVERY_STATUSES,
        dead=DEAD,
        secret=secret,
        may_manage=may(roles.MANAGE),
    )
    return page, status


@console.get("/developers/webhooks/<int:endpoint_id>")
@login_required
def developers_endpoint(endpoint_id: int):
    return _endpoint_page(endpoint_id)


@console.post("/developers/webhooks/<int:endpoint_id>/rotate")
@login_required
def developers_endpoint_rotate(endpoint_id: int):
    """The new secret is in this answer only; the old one keeps signing for the grace period."""
    require(roles.MANAGE)
    with transaction(db.session):
        _, secret = webhooks.rotate_secret(
            db.session,
            endpoint_id,
            org_id=retailer_id(),
            settings=_settings(),
            box=_box(),
            actor=actor(),
            now=utcnow(),
        )
    return _endpoint_page(endpoint_id, secret=secret)


@console.post("/developers/webhooks/<int:endpoint_id>/ping")
@login_required
def developers_endpoint_ping(endpoint_id: int):
    require(roles.MANAGE)
    with transaction(db.session):
        delivery = webhooks.ping_endpoint(
            db.session, endpoint_id, org_id=retailer_id(), settings=_settings(), now=utcnow()
        )
    flash(f"A ping is on its way (delivery {delivery.id}); its status shows below.", "info")
    return redirect(url_for("console.developers_endpoint", endpoint_id=endpoint_id))


@console.post("/developers/webhooks/<int:endpoint_id>/delete")
@login_required
def developers_endpoint_delete(endpoint_id: int):
    require(roles.MANAGE)
    with transaction(db.session):
        webhooks.delete_endpoint(db.session, endpoint_id, org_id=retailer_id(), actor=actor(), now=utcnow())
    flash("The endpoint is removed; nothing more is sent to it.", "info")
    return redirect(url_for("console.developers_webhooks"))


@console.post("/developers/deliveries/<int(max=9223372036854775807):delivery_id>/replay")  # BIGINT ids
@login_required
def developers_delivery_replay(delivery_id: int):
    require(roles.MANAGE)
    with transaction(db.session):
        delivery = webhooks.replay_delivery(
            db.session, delivery_id, org_id=retailer_id(), settings=_settings(), actor=actor(), now=utcnow()
        )
    flash(f"Delivery {delivery.id} is sent again, with the same delivery id.", "info")
    return redirect(url_for("console.developers_endpoint", endpoint_id=delivery.endpoint_id))


# --- the event log ----------------------------------------------------------------------------


@console.get("/developers/events")
@login_required
def developers_events():
    rows = latest_events(
        db.session,
        org_id=retailer_id(),
        before_seq=keyset_position("before", maximum=BIGINT_MAX),
        limit=PAGE + 1,
    )
    events, next_before = _page(rows, lambda event: event.seq)
    return render_template("console/developers_events.html", events=events, next_before=next_before)
