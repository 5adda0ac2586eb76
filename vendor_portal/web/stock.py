"""Stock list with quantities edited in place, CSV upload with a mapping preview, feed runs."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from network.clock import utcnow
from network.db import transaction
from network.errors import InvalidInput
from network.extensions import db
from network.feeds import services as feeds
from network.feeds.pulling import hold_share
from network.portal_views import stock as stock_views
from network.uploads import services as uploads
from network.uploads.services import QuantityEdit, UploadSettings
from vendor_portal.web.blueprint import portal
from vendor_portal.web.common import (
    current_user,
    form_errors,
    keyset_position,
    login_required,
    vendor_id,
    whole_units,
)
from vendor_portal.web.forms import UploadForm

RUNS_PAGE = 50


@portal.get("/stock")
@login_required
def stock():
    search = request.args.get("q", "")[:200]
    page = stock_views.list_stock(
        db.session,
        vendor_id=vendor_id(),
        search=search,
        after_sku=request.args.get("after") or None,
        limit=request.args.get("limit", type=int) or stock_views.PAGE_SIZE,
    )
    return render_template("portal/stock.html", page=page, search=search, after=request.args.get("after"))


def _quantity_edits() -> list[QuantityEdit]:
    """Read `qty-<variant id>` inputs (with `was-<variant id>`, the value shown) that changed."""
    edits = []
    for name, value in request.form.items():
        shown = request.form.get("was-" + name[4:], "")
        if not (name.startswith("qty-") and name[4:].isdigit()) or value.strip() == shown.strip():
            continue
        quantity = whole_units(value, "quantity")
        expected = int(shown) if shown.strip().isdigit() else None
        edits.append(QuantityEdit(variant_id=int(name[4:]), quantity=quantity, expected=expected))
    return edits


@portal.post("/stock/quantities")
@login_required
def stock_save():
    """Each save is one feed run of transport `upload`, as of now."""
    back = url_for("portal.stock", q=request.form.get("q") or None, after=request.form.get("after") or None)
    edits = _quantity_edits()
    if not edits:
        flash("Nothing changed.", "info")
        return redirect(back)
    with transaction(db.session):
        result = uploads.save_quantities(db.session, vendor_id=vendor_id(), edits=edits, now=utcnow())
    for sku, quantity in result.conflicts:
        flash(
            f"{sku} was changed by someone else meanwhile (it is now {quantity}); your value was not saved.",
            "error",
        )
    for run in result.runs:
        flash(
            f"Saved: feed run {run.id} {run.status.replace('_', ' ')}, {run.rows_applied} row(s) applied.",
            "info",
        )
    return redirect(back)


@portal.route("/stock/upload", methods=["GET", "POST"])
@login_required
def stock_upload():
    form = UploadForm()
    if request.method == "GET":
        return render_template("portal/upload.html", form=form)
    if not form.validate():
        return render_template("portal/upload.html", form=form), 422
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
        return render_template("portal/upload.html", form=form), 422
    return redirect(
        url_for(
            "portal.stock_upload_preview",
            draft_id=draft.id,
            mode=form.mode.data,
            basis=form.basis.data,
            encoding=form.encoding.data,
        )
    )


def _settings(values: MultiDict) -> UploadSettings:
    return UploadSettings(
        mapping={ours: values.get(f"map_{ours}", "") for ours in uploads.MAPPABLE},
        mode=values.get("mode", "delta"),
        basis=values.get("basis", "available"),
        encoding=values.get("encoding", "utf-8"),
    )


@portal.route("/stock/upload/<int:draft_id>", methods=["GET", "POST"])
@login_required
def stock_upload_preview(draft_id: int):
    """Show the mapping (suggested, or as chosen) with what it would change; POST action=apply applies it."""
    draft = uploads.get_draft(db.session, draft_id, vendor_id=vendor_id())
    values = request.form if request.method == "POST" else request.args
    status = 200
    if request.method == "POST" and values.get("action") == "apply":
        try:
            with transaction(db.session):
                run = uploads.apply_upload(
                    db.session,
                    draft_id,
                    vendor_id=vendor_id(),
                    settings=_settings(values),
                    hold_share=hold_share(current_app.config),
                    now=utcnow(),
                )
        except InvalidInput:
            status = 422  # the preview below says what is missing
        else:
            flash(f"{draft.filename}: feed run {run.id} {run.status.replace('_', ' ')}.", "info")
            return redirect(url_for("portal.feed_run", run_id=run.id))
    chosen = _settings(values) if any(name.startswith("map_") for name in values) else None
    preview = uploads.preview_upload(
        db.session,
        draft,
        mapping=chosen.mapping if chosen else None,
        mode=values.get("mode", "delta"),
        basis=values.get("basis", "available"),
        encoding=values.get("encoding", "utf-8"),
        now=utcnow(),
    )
    page = render_template(
        "portal/upload_preview.html", draft=draft, preview=preview, fields=uploads.MAPPABLE
    )
    return page, status


@portal.post("/stock/upload/<int:draft_id>/discard")
@login_required
def stock_upload_discard(draft_id: int):
    with transaction(db.session):
        uploads.discard_upload(db.session, draft_id, vendor_id=vendor_id())
    flash("The upload was discarded; nothing changed.", "info")
    return redirect(url_for("portal.stock"))


@portal.get("/feed-runs")
@login_required
def feed_runs():
    before = keyset_position("before")
    runs = feeds.list_runs(db.session, vendor_id=vendor_id(), after_id=before, limit=RUNS_PAGE)
    more = len(runs) == RUNS_PAGE
    return render_template("portal/feed_runs.html", runs=runs, next_before=runs[-1].id if more else None)


@portal.get("/feed-runs/<int:run_id>")
@login_required
def feed_run(run_id: int):
    run = feeds.get_run(db.session, run_id, vendor_id=vendor_id())
    return render_template("portal/feed_run.html", run=run)
