"""The console's mapping import: upload a CSV, see what it would change with each bad row's
reason, then apply it (network.catalog.mapping_import holds the rules).

The file waits between the preview and the confirmation as an upload draft of the retailer's
organization (network.uploads, as the portal's stock files do), so any web process can apply it.
A file that cannot be read at all is refused on the upload form and nothing is kept. Every POST
needs the OPERATE role; another organization's draft is a 404.
"""

from __future__ import annotations

import gzip

from flask import flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from console.blueprint import console
from console.session import actor, login_required, may, require, retailer_id
from network.availability.services import publish_changes
from network.catalog import mapping_import
from network.clock import utcnow
from network.db import transaction
from network.errors import InvalidInput
from network.extensions import db
from network.partners import roles
from network.uploads import services as uploads
from vendor_portal.web.common import form_errors


class MappingFileForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("choose a file")])


@console.route("/catalog/import", methods=["GET", "POST"])
@login_required
def catalog_import():
    form = MappingFileForm()
    if form.is_submitted():
        require(roles.OPERATE)
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template(
            "console/catalog_import.html", form=form, may_operate=may(roles.OPERATE)
        ), status
    file = form.file.data
    data = file.read(uploads.MAX_UPLOAD_BYTES + 1)
    try:
        mapping_import.read_mappings(data)  # a file that cannot be read at all goes no further
        with transaction(db.session):
            draft = uploads.stage_upload(
                db.session,
                vendor_id=retailer_id(),  # drafts belong to an organization, of either kind
                user_id=g.console_user.id,
                filename=file.filename or "",
                data=data,
                now=utcnow(),
            )
    except InvalidInput as exc:
        form_errors(form, exc)
        return render_template("console/catalog_import.html", form=form, may_operate=may(roles.OPERATE)), 422
    return redirect(url_for("console.catalog_import_preview", draft_id=draft.id))


@console.route("/catalog/import/<int:draft_id>", methods=["GET", "POST"])
@login_required
def catalog_import_preview(draft_id: int):
    """What the file would change, and its rows that would be rejected; POST applies it."""
    draft = uploads.get_draft(db.session, draft_id, vendor_id=retailer_id())
    data = gzip.decompress(draft.gzipped)
    if request.method == "POST":
        require(roles.OPERATE)
        now = utcnow()
        with transaction(db.session):
            done = mapping_import.apply_mappings(
                db.session,
                retailer_id=retailer_id(),
                data=data,
                filename=draft.filename,
                actor=actor(),
                now=now,
            )
            publish_changes(db.session, done.item_ids, now=now)
            uploads.discard_upload(db.session, draft_id, vendor_id=retailer_id())
        flash(
            f"{draft.filename}: {done.rows_applied} row(s) applied ({done.items_created} item(s) created, "
            f"{done.sources_added} source(s) added, {done.priorities_changed} priorit"
            f"{'y' if done.priorities_changed == 1 else 'ies'} changed), {done.rows_rejected} rejected.",
            "success",
        )
        return redirect(url_for("console.catalog"))
    rows, errors = mapping_import.read_mappings(data)
    plan = mapping_import.plan_mappings(db.session, retailer_id=retailer_id(), rows=rows, errors=errors)
    return render_template(
        "console/catalog_import_preview.html", draft=draft, plan=plan, may_operate=may(roles.OPERATE)
    )


@console.post("/catalog/import/<int:draft_id>/discard")
@login_required
def catalog_import_discard(draft_id: int):
    uploads.get_draft(db.session, draft_id, vendor_id=retailer_id())  # another's: 404 before the role
    require(roles.OPERATE)
    with transaction(db.session):
        uploads.discard_upload(db.session, draft_id, vendor_id=retailer_id())
    flash("The file was discarded; nothing changed.", "info")
    return redirect(url_for("console.catalog"))
