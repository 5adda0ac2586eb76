"""The console's Connectors pages: the retailer's Shopify and WooCommerce stores, their health,
and the drift between what each store shows and what the hub last set there.

They stand on the services the API uses (network/connectors), so a connector made here is the
one `GET /api/v1/connectors` shows, and each change goes to the audit log as it does from the API
(the services record it). Connecting, changing settings or credentials and deleting are an owner's
or an admin's (MANAGE); pausing, resuming and "repair now" are an operator's too (OPERATE): the
role is checked first on every POST, so a lower role posting a form directly gets a 403 page and
nothing changes. Another retailer's connector answers 404 before any role check says it exists.
Credentials are write-only: the forms never show them back, and blank credential fields keep the
current ones.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from console.blueprint import console
from console.session import actor, login_required, may, require, retailer_id
from network.clock import utcnow
from network.connectors import drift, services, sync
from network.connectors.http import StoreError
from network.connectors.models import ACTIVE, PAUSED, PLATFORMS, SHOPIFY
from network.db import transaction
from network.errors import InvalidInput
from network.extensions import db
from network.feeds.credentials import Credentials
from network.partners import roles
from vendor_portal.web.common import form_errors, keyset_position

PAGE = 50
PLATFORM_LABELS = {"shopify": "Shopify", "woocommerce": "WooCommerce"}
SECRET_FIELDS = ("access_token", "consumer_key", "consumer_secret", "webhook_secret")
# The service's field names (credentials.x, ...) as the form's.
FIELDS = {f"credentials.{name}": name for name in SECRET_FIELDS}


def _secret(label: str, description: str) -> PasswordField:
    # A PasswordField renders empty: what was typed (or saved) is never sent back to the browser.
    return PasswordField(label, [Optional(), Length(max=1000)], description=description)


class SettingsForm(FlaskForm):
    shop_url = StringField(
        "Store URL",
        [DataRequired(), Length(max=500)],
        description="The store's base URL, e.g. https://example.myshopify.com",
    )
    location_id = StringField(
        "Shopify location",
        [Optional(), Length(max=100)],
        description="Shopify only: the location whose inventory the hub sets (its id or gid).",
    )
    # Blank is automatic (null, issue 18); a typed 0 is an explicit 0 (nothing held back).
    buffer = IntegerField(
        "Buffer (units held back)",
        [Optional(), NumberRange(0, 1_000_000)],
        description="Blank: automatic (on the predictive availability model, what outside sales will "
        "probably take before the store's next update; nothing on the fixed model). 0 holds nothing back.",
    )
    max_quantity = IntegerField(
        "Show at most", [Optional(), NumberRange(0, 1_000_000)], description="Blank: no cap."
    )
    access_token = _secret("Admin API access token", "Shopify.")
    consumer_key = _secret("Consumer key", "WooCommerce REST API.")
    consumer_secret = _secret("Consumer secret", "WooCommerce REST API.")
    webhook_secret = _secret("Webhook secret", "What the store signs its order webhooks with.")


class ConnectorForm(SettingsForm):
    platform = SelectField("Platform", choices=[SelectChoice(p, PLATFORM_LABELS[p]) for p in PLATFORMS])


def _sealer() -> Credentials:
    return Credentials(current_app.config["SECRET_KEY"])


def _http_hosts() -> frozenset[str]:
    hosts = current_app.config.get("HUB_CONNECTOR_ALLOW_HTTP_HOSTS") or ""
    if isinstance(hosts, str):
        hosts = hosts.split(",")
    return frozenset(str(h).strip().lower() for h in hosts if str(h).strip())


def _webhook_url(connector) -> str:
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    return f"{base}/hooks/{connector.platform}/{connector.id}"


def _credentials(form: SettingsForm, platform: str) -> dict[str, str]:
    """The platform's credential fields the form filled in (the others are not the platform's)."""
    fields = services.MODULES[platform].credential_fields
    return {name: getattr(form, name).data for name in fields if getattr(form, name).data}


def _connector(connector_id: int):
    """Raises NotFound for another retailer's connector (or none)."""
    return services.get_connector(db.session, connector_id, retailer_id=retailer_id())


def _position() -> int:
    return keyset_position("after") or 0


def _list_page(form: ConnectorForm, *, created=None, status: int = 200):
    rows = services.list_connectors(
        db.session, retailer_id=retailer_id(), after_id=_position(), limit=PAGE + 1
    )
    connectors, next_after = (rows[:PAGE], rows[PAGE - 1].id) if len(rows) > PAGE else (rows, None)
    page = render_template(
        "console/connectors.html",
        form=form,
        connectors=connectors,
        healths=services.healths(db.session, connectors),
        next_after=next_after,
        created=created,
        webhook_url=_webhook_url(created) if created else None,
        labels=PLATFORM_LABELS,
        may_manage=may(roles.MANAGE),
    )
    return page, status


@console.get("/connectors")
@login_required
def connectors():
    return _list_page(ConnectorForm())


@console.post("/connectors")
@login_required
def connector_create():
    require(roles.MANAGE)
    form = ConnectorForm()
    if not form.validate():
        return _list_page(form, status=422)
    try:
        with transaction(db.session):
            connector = services.create_connector(
                db.session,
                retailer_id=retailer_id(),
                platform=form.platform.data,
                shop_url=form.shop_url.data,
                credentials=_credentials(form, form.platform.data),
                location_id=form.location_id.data or None,
                buffer=form.buffer.data,
                max_quantity=form.max_quantity.data,
                sealer=_sealer(),
                allow_http_hosts=_http_hosts(),
                actor=actor(),
                now=utcnow(),
            )
    except InvalidInput as exc:
        db.session.rollback()
        form_errors(form, exc, fields=FIELDS)
        return _list_page(form, status=422)
    return _list_page(ConnectorForm(formdata=None), created=connector, status=201)


def _detail_page(connector, form: SettingsForm, *, status: int = 200):
    page = render_template(
        "console/connector.html",
        connector=connector,
        form=form,
        health=services.health(db.session, connector),
        webhook_url=_webhook_url(connector),
        label=PLATFORM_LABELS[connector.platform],
        fields=services.MODULES[connector.platform].credential_fields,
        shopify=connector.platform == SHOPIFY,
        may_manage=may(roles.MANAGE),
        may_operate=may(roles.OPERATE),
    )
    return page, status


@console.route("/connectors/<int:connector_id>", methods=["GET", "POST"])
@login_required
def connector(connector_id: int):
    """A connector's health and webhook address; its settings and credentials form (MANAGE)."""
    found = _connector(connector_id)
    if request.method == "GET":
        return _detail_page(found, SettingsForm(obj=found, formdata=None))
    require(roles.MANAGE)
    form = SettingsForm()
    if not form.validate():
        return _detail_page(found, form, status=422)
    changes = {
        "shop_url": form.shop_url.data,
        "location_id": form.location_id.data or None,
        "buffer": form.buffer.data,
        "max_quantity": form.max_quantity.data,
    }
    if secrets := _credentials(form, found.platform):
        changes["credentials"] = secrets  # all of the platform's fields, or the service refuses
    try:
        with transaction(db.session):
            services.update_connector(
                db.session,
                _connector(connector_id),
                changes,
                sealer=_sealer(),
                allow_http_hosts=_http_hosts(),
                actor=actor(),
                now=utcnow(),
            )
    except InvalidInput as exc:
        db.session.rollback()
        form_errors(form, exc, fields=FIELDS)
        return _detail_page(_connector(connector_id), form, status=422)
    flash("The connector is saved.", "success")
    return redirect(url_for("console.connector", connector_id=connector_id))


def _set_status(connector_id: int, status: str, message: str):
    found = _connector(connector_id)
    require(roles.OPERATE)
    with transaction(db.session):
        services.update_connector(
            db.session,
            _connector(connector_id),
            {"status": status},
            sealer=_sealer(),
            allow_http_hosts=_http_hosts(),
            actor=actor(),
            now=utcnow(),
        )
    flash(message.format(url=found.shop_url), "info")
    return redirect(url_for("console.connector", connector_id=connector_id))


@console.post("/connectors/<int:connector_id>/pause")
@login_required
def connector_pause(connector_id: int):
    return _set_status(
        connector_id,
        PAUSED,
        "{url} is paused: its order webhooks are asked to retry later, no stock is sent.",
    )


@console.post("/connectors/<int:connector_id>/resume")
@login_required
def connector_resume(connector_id: int):
    return _set_status(connector_id, ACTIVE, "{url} is active again.")


@console.post("/connectors/<int:connector_id>/delete")
@login_required
def connector_delete(connector_id: int):
    found = _connector(connector_id)
    require(roles.MANAGE)
    shop_url = found.shop_url
    with transaction(db.session):
        services.delete_connector(db.session, _connector(connector_id), actor=actor(), now=utcnow())
    flash(f"{shop_url} is disconnected. The hub orders it brought stay.", "info")
    return redirect(url_for("console.connectors"))


@console.get("/connectors/<int:connector_id>/drift")
@login_required
def connector_drift(connector_id: int):
    """What the store shows against what the hub last set there, read from the store now."""
    found = _connector(connector_id)
    error, rows = None, []
    try:
        rows = drift.drift(db.session, found, sync.config_clients(current_app.config)(found), now=utcnow())
    except StoreError as exc:
        error = f"The store could not be read: {exc}"
    except (ValueError, KeyError, TypeError) as exc:  # an answer not shaped as documented
        error = f"The store answered something unexpected ({type(exc).__name__})."
    page = render_template(
        "console/connector_drift.html",
        connector=found,
        rows=rows,
        error=error,
        label=PLATFORM_LABELS[found.platform],
        may_operate=may(roles.OPERATE),
    )
    return page, 502 if error else 200


@console.post("/connectors/<int:connector_id>/repair")
@login_required
def connector_repair(connector_id: int):
    """Set the drifted listings on the store again now (the scheduled job does it every 15 minutes)."""
    found = _connector(connector_id)
    require(roles.OPERATE)
    if found.status != ACTIVE:
        flash("The connector is paused: resume it to repair its store.", "error")
        return redirect(url_for("console.connector_drift", connector_id=connector_id))
    try:
        count = sync.repair_connector(
            db.session, sync.config_clients(current_app.config), connector_id, now=utcnow()
        )
    except StoreError as exc:
        flash(f"The repair did not finish: {exc}", "error")
        return redirect(url_for("console.connector_drift", connector_id=connector_id))
    with transaction(db.session):
        services.record_repair(db.session, _connector(connector_id), count, actor=actor(), now=utcnow())
    flash(f"{count} listing(s) set again on the store." if count else "Nothing had drifted.", "success")
    return redirect(url_for("console.connector_drift", connector_id=connector_id))
