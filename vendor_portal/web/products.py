"""The catalog in the portal: add and edit products, import a catalog file, discontinue."""

from __future__ import annotations

import gzip

from flask import flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from network.catalog import services as catalog
from network.clock import utcnow
from network.db import transaction
from network.errors import InvalidInput
from network.extensions import db
from network.products import imports
from network.products.discontinue import discontinue
from network.products.guards import CatalogLimits
from network.products.settings import limits_for
from network.products.variants import save_variant
from network.stock.ledger import ledger_page
from network.uploads import services as uploads
from vendor_portal.web.blueprint import portal
from vendor_portal.web.common import current_user, form_errors, login_required, vendor_id
from vendor_portal.web.forms import CatalogUploadForm, ProductForm


def _limits() -> CatalogLimits:
    return limits_for(db.session, vendor_id()).catalog


def _values(form: ProductForm) -> dict:
    """The form as variant values. Raises InvalidInput naming the fields that do not read."""
    errors: dict[str, list[str]] = {}
    values: dict[str, object] = {
        "title": form.title.data.strip(),
        "gtin": (form.gtin.data or "").strip() or None,
        "description": form.description.data or "",
        "image_urls": (form.image_urls.data or "").split(),
    }
    for name in imports.DECIMALS:
        raw = (getattr(form, name).data or "").strip()
        values[name] = imports.parse_decimal(raw) if raw else None
        if raw and values[name] is None:
            errors[name] = ["write an amount like 12.50"]
    attributes = {}
    for line in (form.attributes.data or "").splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            errors["attributes"] = [f"write each attribute as name: value (not {line.strip()[:40]!r})"]
            break
        attributes[name.strip()] = value.strip()
    values["attributes"] = attributes
    if errors:
        raise InvalidInput("check the highlighted fields", errors=errors)
    return values


def _fill(form: ProductForm, variant) -> None:  # noqa: ANN001
    form.sku.data = variant.vendor_sku
    form.title.data = variant.title
    form.gtin.data = variant.gtin or ""
    for name in imports.DECIMALS:
        value = getattr(variant, name)
        getattr(form, name).data = "" if value is None else catalog.jsonable(value)
    form.description.data = variant.description
    form.image_urls.data = "\n".join(variant.image_urls)
    form.attributes.data = "\n".join(f"{k}: {v}" for k, v in variant.attributes.items())


def _save(form: ProductForm, *, sku: str, active: bool) -> object:
    values = _values(form)
    values["active"] = active
    with transaction(db.session):
        variant, _, _ = save_variant(
            db.session, vendor_id=vendor_id(), vendor_sku=sku, values=values, replace=True, now=utcnow()
        )
    return variant


@portal.route("/products/new", methods=["GET", "POST"])
@login_required
def product_new():
    form = ProductForm()
    if request.method == "POST":
        if form.validate():
            sku = form.sku.data.strip()
            if catalog.find_variant(db.session, vendor_id=vendor_id(), vendor_sku=sku) is not None:
                form.sku.errors = ["you already have a product with this SKU"]
            else:
                try:
                    variant = _save(form, sku=sku, active=True)
                except InvalidInput as exc:
                    form_errors(form, exc, fields={"vendor_sku": "sku"})
                else:
                    flash(f"{variant.vendor_sku} added.", "info")
                    return redirect(url_for("portal.product", variant_id=variant.id))
        return render_template("portal/product_form.html", form=form, variant=None), 422
    return render_template("portal/product_form.html", form=form, variant=None)


@portal.route("/products/<int:variant_id>", methods=["GET", "POST"])
@login_required
def product(variant_id: int):
    variant = catalog.get_own_variant(db.session, variant_id, vendor_id=vendor_id())
    form = ProductForm()
    if request.method == "POST":
        form.sku.data = variant.vendor_sku  # the SKU names the product; it is not edited here
        if form.validate():
            try:
                _save(form, sku=variant.vendor_sku, active=variant.active)
            except InvalidInput as exc:
                form_errors(form, exc)
            else:
                flash(f"{variant.vendor_sku} saved.", "info")
                return redirect(url_for("portal.product", variant_id=variant.id))
        return render_template("portal/product_form.html", form=form, variant=variant, history=None), 422
    _fill(form, variant)
    return render_template("portal/product_form.html", form=form, variant=variant, history=_history(variant))


def _history(variant):  # noqa: ANN001, ANN202
    return ledger_page(db.session, variant_ids=[variant.id], after_id=0, limit=50, newest_first=True)


@portal.post("/products/<int:variant_id>/discontinue")
@login_required
def product_discontinue(variant_id: int):
    variant = catalog.get_own_variant(db.session, variant_id, vendor_id=vendor_id())
    with transaction(db.session):
        _, flagged = discontinue(
            db.session, vendor_id=vendor_id(), vendor_sku=variant.vendor_sku, now=utcnow()
        )
    lines = f"; {flagged} open order line(s) flagged for the retailers" if flagged else ""
    flash(f"{variant.vendor_sku} discontinued: it shows 0 to every retailer{lines}.", "info")
    return redirect(url_for("portal.product", variant_id=variant_id))


# --- catalog files -------------------------------------------------------------------------------


@portal.route("/products/import", methods=["GET", "POST"])
@login_required
def products_import():
    form = CatalogUploadForm()
    if request.method == "GET":
        return render_template("portal/catalog_upload.html", form=form)
    if not form.validate():
        return render_template("portal/catalog_upload.html", form=form), 422
    file = form.file.data
    try:
        with transaction(db.session):
            draft = uploads.stage_upload(
                db.session,
                vendor_id=vendor_id(),
                user_id=current_user().id,
                filename=file.filename or "",
                data=file.read(),
                now=utcnow(),
            )
    except InvalidInput as exc:
        form_errors(form, exc)
        return render_template("portal/catalog_upload.html", form=form), 422
    return redirect(url_for("portal.products_import_preview", draft_id=draft.id, encoding=form.encoding.data))


def _catalog_settings(values: MultiDict) -> imports.CatalogSettings | None:
    if not any(name.startswith("map_") for name in values):
        return None
    return imports.CatalogSettings(
        mapping={ours: values.get(f"map_{ours}", "") for ours in imports.MAPPABLE},
        encoding=values.get("encoding", "utf-8"),
        attributes=values.get("attributes") == "1",
        only_new=values.get("only_new") == "1",
    )


@portal.route("/products/import/<int:draft_id>", methods=["GET", "POST"])
@login_required
def products_import_preview(draft_id: int):
    """The mapping (suggested or chosen) and what the file would change; action=apply imports it.

    `only_new=1` comes from a stock upload that named unknown SKUs: only those are created, and
    the stock file is kept to be applied next.
    """
    draft = uploads.get_draft(db.session, draft_id, vendor_id=vendor_id())
    values = request.form if request.method == "POST" else request.args
    settings = _catalog_settings(values)
    only_new = values.get("only_new") == "1"
    data = gzip.decompress(draft.gzipped)
    status = 200
    if request.method == "POST" and values.get("action") == "apply" and settings is not None:
        try:
            with transaction(db.session):
                record = imports.apply_import(
                    db.session,
                    vendor_id=vendor_id(),
                    user_id=current_user().id,
                    filename=draft.filename,
                    data=data,
                    settings=settings,
                    limits=_limits(),
                    now=utcnow(),
                )
                if not only_new:
                    uploads.discard_upload(db.session, draft_id, vendor_id=vendor_id())
        except InvalidInput:
            status = 422  # the preview below says what is wrong
        else:
            flash(
                f"{draft.filename}: {record.created} product(s) created, {record.updated} updated, "
                f"{record.rows_rejected} row(s) rejected"
                + (f", {len(record.held)} held for your confirmation" if record.held else "")
                + ".",
                "info",
            )
            if only_new:
                return redirect(url_for("portal.stock_upload_preview", draft_id=draft_id))
            return redirect(url_for("portal.products_import_result", import_id=record.id))
    plan = imports.plan_import(
        db.session,
        vendor_id=vendor_id(),
        data=data,
        settings=settings,
        limits=_limits(),
        first_look=imports.CatalogSettings(
            mapping={}, encoding=values.get("encoding", "utf-8"), attributes=not only_new, only_new=only_new
        ),
    )
    page = render_template("portal/catalog_preview.html", draft=draft, plan=plan, fields=imports.MAPPABLE)
    return page, status


@portal.get("/products/imports/<int:import_id>")
@login_required
def products_import_result(import_id: int):
    record = imports.get_import(db.session, import_id, vendor_id=vendor_id())
    return render_template("portal/catalog_import.html", record=record)


@portal.post("/products/imports/<int:import_id>/held")
@login_required
def products_import_held(import_id: int):
    """Confirm (apply) or drop one held row."""
    sku = request.form.get("sku", "")
    confirm = request.form.get("action") == "confirm"
    with transaction(db.session):
        imports.resolve_held(
            db.session, import_id, vendor_id=vendor_id(), sku=sku, confirm=confirm, now=utcnow()
        )
    flash(f"{sku}: {'applied' if confirm else 'dropped'}.", "info")
    return redirect(url_for("portal.products_import_result", import_id=import_id))
