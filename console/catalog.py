"""The console's Catalog: the connected vendors' variants, the retailer's items and their sources,
mapping one by one, and GTIN auto-match (the CSV import is in catalog_import.py).

Changing a mapping is an operator's (or more: network/partners/roles.py OPERATE), checked on every
POST before anything is read from the form: a viewer who posts directly gets a 403 page and
nothing changes. Another retailer's items answer 404, and so does a variant of a vendor the
retailer is not connected to. The rules are network.catalog.mappings', the same for every form.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from console.blueprint import console
from console.session import actor, login_required, may, require, retailer_id
from network.availability.services import publish_changes
from network.catalog import mappings
from network.clock import utcnow
from network.console_views import catalog as views
from network.db import transaction
from network.errors import InvalidInput
from network.extensions import db
from network.partners import roles
from network.partners.models import Organization
from vendor_portal.web.common import form_errors, keyset_position


class MapForm(FlaskForm):
    retailer_sku = StringField(
        "Your SKU", [DataRequired(), Length(max=100)], description="A new SKU creates the item."
    )
    title = StringField("Title", [Optional(), Length(max=300)], description="Blank keeps the item's title.")
    gtin = StringField(
        "GTIN of your item",
        [Optional(), Length(max=14)],
        description="GTIN auto-match finds more sources for it; blank keeps the item's.",
    )
    priority = IntegerField(
        "Priority",
        [InputRequired(), NumberRange(0, mappings.MAX_PRIORITY)],
        default=0,
        description="Lower is tried first.",
    )


def _listing(template: str, page: views.Page, search: str, **extra: object) -> str:
    return render_template(template, page=page, search=search, may_operate=may(roles.OPERATE), **extra)


def _search() -> str:
    return request.args.get("q", "").strip()[:200]


def _after() -> int:
    return keyset_position("after") or 0


@console.get("/catalog")
@login_required
def catalog():
    """The retailer's items with their sources."""
    search = _search()
    page = views.list_items(
        db.session,
        retailer_id=retailer_id(),
        search=search,
        after_id=_after(),
        limit=views.page_size(request.args.get("limit", type=int)),
    )
    return _listing("console/catalog_items.html", page, search, unmapped=False)


@console.get("/catalog/unmapped-items")
@login_required
def unmapped_items():
    search = _search()
    page = views.list_items(
        db.session,
        retailer_id=retailer_id(),
        search=search,
        after_id=_after(),
        limit=views.page_size(request.args.get("limit", type=int)),
        unmapped=True,
    )
    return _listing("console/catalog_items.html", page, search, unmapped=True)


def _variants(unmapped: bool) -> str:
    search = _search()
    page = views.list_variants(
        db.session,
        retailer_id=retailer_id(),
        search=search,
        after_id=_after(),
        limit=views.page_size(request.args.get("limit", type=int)),
        unmapped=unmapped,
    )
    # `for` carries the item being sourced from its page to the map form (prefilled there).
    for_sku = request.args.get("for", "")[:100]
    return _listing("console/catalog_variants.html", page, search, unmapped=unmapped, for_sku=for_sku)


@console.get("/catalog/variants")
@login_required
def variants():
    """The connected vendors' variants and the items that use them."""
    return _variants(unmapped=False)


@console.get("/catalog/unmapped-variants")
@login_required
def unmapped_variants():
    """The connected vendors' variants none of the retailer's items uses."""
    return _variants(unmapped=True)


@console.route("/catalog/variants/<int:variant_id>/map", methods=["GET", "POST"])
@login_required
def map_variant(variant_id: int):
    """Make this variant a source of one of the retailer's items (or change its priority there)."""
    variant = mappings.get_visible_variant(db.session, variant_id, retailer_id=retailer_id())
    if request.method == "POST":
        require(roles.OPERATE)
    form = MapForm()
    if request.method == "GET":
        form.retailer_sku.data = request.args.get("retailer_sku", "")[:100]
        form.gtin.data = variant.gtin or ""
    if request.method == "POST" and form.validate():
        now = utcnow()
        try:
            with transaction(db.session):
                done = mappings.map_source(
                    db.session,
                    retailer_id=retailer_id(),
                    retailer_sku=form.retailer_sku.data,
                    variant_id=variant.id,
                    priority=form.priority.data,
                    title=form.title.data,
                    gtin=form.gtin.data,
                    actor=actor(),
                    now=now,
                )
                publish_changes(db.session, [done.item.id], now=now)
        except InvalidInput as exc:
            db.session.rollback()
            form_errors(form, exc)
        else:
            sku = done.item.retailer_sku
            if done.created:
                flash(f"{sku} is created, sourced from {variant.vendor_sku}.", "success")
            elif done.changed:
                flash(
                    f"{sku} is sourced from {variant.vendor_sku} at priority {form.priority.data}.", "success"
                )
            else:
                flash(f"{sku} was already sourced so; nothing changed.", "info")
            return redirect(url_for("console.item", item_id=done.item.id))
    status = 422 if request.method == "POST" else 200
    vendor = db.session.get(Organization, variant.vendor_id)
    page = render_template(
        "console/catalog_map.html", form=form, variant=variant, vendor=vendor, may_operate=may(roles.OPERATE)
    )
    return page, status


@console.get("/catalog/items/<int:item_id>")
@login_required
def item(item_id: int):
    found = mappings.get_own_item(db.session, item_id, retailer_id=retailer_id())
    sources = views.item_sources(db.session, [found.id]).get(found.id, [])
    return render_template(
        "console/catalog_item.html", item=found, sources=sources, may_operate=may(roles.OPERATE)
    )


@console.post("/catalog/items/<int:item_id>/sources/<int:variant_id>/remove")
@login_required
def remove_source(item_id: int, variant_id: int):
    mappings.get_own_item(db.session, item_id, retailer_id=retailer_id())  # another's: 404 before the role
    require(roles.OPERATE)
    now = utcnow()
    with transaction(db.session):
        found = mappings.unmap_source(
            db.session,
            retailer_id=retailer_id(),
            item_id=item_id,
            variant_id=variant_id,
            actor=actor(),
            now=now,
        )
        publish_changes(db.session, [found.id], now=now)
    flash(f"The source is removed from {found.retailer_sku}.", "info")
    return redirect(url_for("console.item", item_id=item_id))


# --- GTIN auto-match -------------------------------------------------------------------------------


def _matches_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    limit = views.page_size(request.args.get("limit", type=int))
    found = mappings.gtin_matches(db.session, retailer_id=retailer_id(), after_id=_after(), limit=limit + 1)
    more = len(found) > limit
    found = found[:limit]
    page = render_template(
        "console/catalog_matches.html",
        matches=found,
        next_after=found[-1].item_id if more else None,
        may_operate=may(roles.OPERATE),
        error=error,
    )
    return page, status


@console.get("/catalog/gtin-matches")
@login_required
def gtin_matches():
    """Items without a source whose GTIN an active connected vendor offers, with checkboxes."""
    return _matches_page()


def _picks() -> list[tuple[int, int]] | None:
    """The checked `match` boxes ("<item id>:<variant id>"); None when one is not of that shape."""
    picks = []
    for value in request.form.getlist("match"):
        item_id, _, variant_id = value.partition(":")
        if not all(part.isascii() and part.isdigit() and len(part) < 12 for part in (item_id, variant_id)):
            return None
        picks.append((int(item_id), int(variant_id)))
    return picks


@console.post("/catalog/gtin-matches")
@login_required
def accept_gtin_matches():
    """Accept the checked suggestions in one go (all or nothing)."""
    require(roles.OPERATE)
    picks = _picks()
    if picks is None:
        return _matches_page("The selection could not be read; nothing changed.", 422)
    now = utcnow()
    try:
        with transaction(db.session):
            changed = mappings.accept_gtin_matches(
                db.session, retailer_id=retailer_id(), picks=picks, actor=actor(), now=now
            )
            publish_changes(db.session, changed, now=now)
    except InvalidInput as exc:
        db.session.rollback()
        return _matches_page(f"{exc.detail[:1].upper()}{exc.detail[1:]}; nothing changed.", 422)
    flash(f"{len(changed)} item{'' if len(changed) == 1 else 's'} got new sources.", "success")
    return redirect(url_for("console.gtin_matches"))
