"""EDI trading in the portal: the X12 setup with the files report, and invoices (raised by hand here,
or from the 810s the vendor drops), with the same services as the vendor API."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import current_app, flash, redirect, render_template, request, url_for

from network.clock import utcnow
from network.db import transaction
from network.errors import DomainError, InvalidInput
from network.extensions import db
from network.feeds.pulling import feed_credentials, pull_settings
from network.trading import files, invoices, partners
from network.trading.models import DOCUMENTS, VERSIONS
from vendor_portal.web.blueprint import portal
from vendor_portal.web.common import login_required, vendor_id

SETUP_FIELDS = (
    "isa_qualifier",
    "isa_id",
    "version",
    "host",
    "port",
    "username",
    "inbound_dir",
    "outbound_dir",
)


def _setup_page(errors: dict | None = None, values: dict | None = None, status: int = 200):
    partner = partners.find_partner(db.session, vendor_id=vendor_id())
    exchanged = files.list_files(db.session, vendor_id=vendor_id(), after_id=0, limit=1000)[-50:][::-1]
    return (
        render_template(
            "portal/edi.html",
            partner=partner,
            files=exchanged,
            errors=errors or {},
            values=values or {},
            versions=VERSIONS,
            documents=DOCUMENTS,
        ),
        status,
    )


@portal.get("/edi")
@login_required
def edi():
    return _setup_page()


@portal.post("/edi")
@login_required
def edi_save():
    form = request.form
    port = form.get("port", "22").strip()
    transport = {
        "kind": "sftp",
        "host": form.get("host", ""),
        "port": int(port) if port.isdigit() and len(port) < 6 else -1,
        "username": form.get("username", ""),
        "inbound_dir": form.get("inbound_dir") or "in",
        "outbound_dir": form.get("outbound_dir") or "out",
        "after_pull": form.get("after_pull", "archive"),
    }
    if form.get("private_key", "").strip():
        transport["credentials"] = {"private_key": form["private_key"].strip() + "\n"}
    elif form.get("password"):
        transport["credentials"] = {"password": form["password"]}
    values = {
        "isa_qualifier": form.get("isa_qualifier", ""),
        "isa_id": form.get("isa_id", ""),
        "version": form.get("version", "004010"),
        "documents": form.getlist("documents"),
        "transport": transport,
    }
    try:
        with transaction(db.session):
            partners.configure(
                db.session,
                vendor_id=vendor_id(),
                values=values,
                credentials=feed_credentials(current_app.config),
                hub=partners.HubIds.from_config(current_app.config),
                pull_settings=pull_settings(current_app.config),
                now=utcnow(),
            )
    except InvalidInput as exc:
        return _setup_page(exc.errors or {"": [exc.detail]}, form, 422)
    flash("The EDI setup is saved; the hub visits the mailbox within a minute.", "info")
    return redirect(url_for("portal.edi"))


@portal.post("/edi/host-key")
@login_required
def edi_confirm_host_key():
    try:
        with transaction(db.session):
            partners.confirm_host_key(db.session, vendor_id=vendor_id(), now=utcnow())
    except DomainError as exc:
        flash(exc.detail, "error")
    else:
        flash("The server's new host key is trusted.", "info")
    return redirect(url_for("portal.edi"))


@portal.get("/invoices")
@login_required
def invoices_list():
    found = invoices.list_invoices(db.session, vendor_id=vendor_id(), after_id=0, limit=1000)[::-1]
    return render_template("portal/invoices.html", invoices=found)


def _invoice_page(po, error: DomainError | None = None, status: int = 200):
    return render_template("portal/invoice_new.html", po=po, error=error, form=request.form), status


@portal.get("/invoices/new")
@login_required
def invoice_new():
    po_id = request.args.get("po", "")
    if not (po_id.isdigit() and len(po_id) < 12):
        return redirect(url_for("portal.purchase_orders"))
    po = invoices.vendor_purchase_order(db.session, vendor_id=vendor_id(), po_id=int(po_id))
    return _invoice_page(po)


@portal.post("/invoices/new")
@login_required
def invoice_create():
    po_id = request.args.get("po", "")
    if not (po_id.isdigit() and len(po_id) < 12):
        return redirect(url_for("portal.purchase_orders"))
    po = invoices.vendor_purchase_order(db.session, vendor_id=vendor_id(), po_id=int(po_id))
    try:
        items = []
        for line in po.lines:
            quantity = request.form.get(f"quantity-{line.id}", "0").strip() or "0"
            if not (quantity.isdigit() and len(quantity) < 8):
                raise InvalidInput(f"the quantity of {line.variant.vendor_sku} must be a whole number")
            if int(quantity) == 0:
                continue
            try:
                price = Decimal(request.form.get(f"price-{line.id}", "").strip())
            except InvalidOperation:
                raise InvalidInput(f"the unit price of {line.variant.vendor_sku} must be a number") from None
            if not price.is_finite() or price < 0 or price >= 10**8:
                raise InvalidInput(f"the unit price of {line.variant.vendor_sku} is out of range")
            items.append(invoices.ItemIn(line, line.variant.vendor_sku, int(quantity), price))
        with transaction(db.session):
            invoice = invoices.record_invoice(
                db.session,
                po=po,
                number=request.form.get("number", "")[:30],
                invoice_date=utcnow().date(),
                items=items,
                stated_total=None,
                source="manual",
                now=utcnow(),
            )
    except DomainError as exc:
        db.session.rollback()
        return _invoice_page(
            invoices.vendor_purchase_order(db.session, vendor_id=vendor_id(), po_id=int(po_id)), exc, 422
        )
    shown = f"Invoice {invoice.number} is sent to the retailer"
    if invoice.mismatches:
        shown += f", with {len(invoice.mismatches)} differences flagged to them"
    flash(shown + ".", "info")
    return redirect(url_for("portal.invoices_list"))
