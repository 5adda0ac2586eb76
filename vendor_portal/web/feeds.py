"""Feeds: pull feeds (create, edit, preview from a test fetch, run now, delete) and held runs.

Fetching a vendor's URL never happens inside a transaction: the feed is read (or claimed) and
committed, the file is fetched, then the result is recorded or previewed.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from network.clock import utcnow
from network.db import transaction
from network.errors import Conflict, DomainError, InvalidFeed, InvalidInput
from network.extensions import db
from network.feeds import configs
from network.feeds import services as feeds
from network.feeds.models import PULL
from network.feeds.preview import Preview, preview_feed
from network.feeds.pulling import feed_credentials, fetch_sample, hold_share, pull_now, pull_settings
from network.partners.audit import Actor
from network.portal_views.feeds import feed_history
from vendor_portal.web.blueprint import portal
from vendor_portal.web.common import current_user, form_errors, keyset_position, login_required, vendor_id
from vendor_portal.web.forms import FeedForm

FEEDS_PAGE = 50
# Service error keys -> form fields.
FIELDS = {
    "auth.kind": "auth_kind",
    "auth.username": "auth_username",
    "auth.password": "auth_secret",
    "auth.token": "auth_secret",
    "auth.value": "auth_secret",
    "auth.name": "auth_header",
    "format": "mapping",
}


@portal.get("/feeds")
@login_required
def feeds_list():
    found = configs.list_feeds(
        db.session, vendor_id=vendor_id(), after_id=keyset_position("after") or 0, limit=FEEDS_PAGE
    )
    more = len(found) == FEEDS_PAGE
    return render_template(
        "portal/feeds.html", feeds=found, next_after=found[-1].id if more else None, now=utcnow()
    )


def parse_mapping(text: str) -> dict[str, str]:
    """Read "our field = their column" lines. Raises InvalidInput naming the line that is not one."""
    mapping = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        ours, sep, theirs = line.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise InvalidInput(
                f"mapping line {number} is not 'field = column'",
                errors={"mapping": [f"line {number}: write field = column"]},
            )
        mapping[ours.strip()] = theirs.strip()
    return mapping


def _values(form: FeedForm, *, saved_auth_kind: str | None) -> dict:
    """The service's values from the form; credentials only when given (empty keeps the saved ones)."""
    values = {
        "name": form.name.data.strip(),
        "transport": PULL,
        "url": form.url.data.strip(),
        "interval_minutes": form.interval_minutes.data,
        "mode": form.mode.data,
        "basis": form.basis.data,
        "active": form.active.data,
        "format": {"kind": form.format_kind.data, "mapping": parse_mapping(form.mapping.data or "")},
    }
    kind, secret = form.auth_kind.data, form.auth_secret.data or ""
    if saved_auth_kind is None or secret or kind == "none" or kind != saved_auth_kind:
        auth: dict[str, str] = {"kind": kind}
        if kind == "basic":
            auth.update(username=form.auth_username.data or "", password=secret)
        elif kind == "bearer":
            auth["token"] = secret
        elif kind == "header":
            auth.update(name=form.auth_header.data or "", value=secret)
        values["auth"] = auth
    return values


def _fill(form: FeedForm, feed) -> None:  # noqa: ANN001
    form.name.data = feed.name
    form.url.data = feed.url
    form.auth_kind.data = feed.auth_kind
    form.interval_minutes.data = feed.interval_minutes
    form.format_kind.data = feed.format_kind
    form.mode.data = feed.mode
    form.basis.data = feed.basis
    form.active.data = feed.active
    form.mapping.data = "\n".join(f"{ours} = {theirs}" for ours, theirs in (feed.mapping or {}).items())


@portal.route("/feeds/new", methods=["GET", "POST"])
@login_required
def feed_new():
    form = FeedForm()
    if request.method == "GET" or not form.validate():
        status = 200 if request.method == "GET" else 422
        return render_template("portal/feed.html", form=form, feed=None), status
    try:
        with transaction(db.session):
            feed = configs.create_feed(
                db.session,
                vendor_id=vendor_id(),
                values=_values(form, saved_auth_kind=None),
                credentials=feed_credentials(current_app.config),
                pull_settings=pull_settings(current_app.config),
                now=utcnow(),
            )
    except InvalidInput as exc:
        form_errors(form, exc, fields=FIELDS)
        return render_template("portal/feed.html", form=form, feed=None), 422
    flash(f"Feed “{feed.name}” saved; the hub fetches it now and every {feed.interval_minutes} min.", "info")
    return redirect(url_for("portal.feed_edit", feed_id=feed.id))


def _feed_page(
    feed, form: FeedForm, *, preview: Preview | None = None, problem: str | None = None, status: int = 200
):  # noqa: ANN001
    page = render_template(
        "portal/feed.html",
        form=form,
        feed=feed,
        runs=feed_history(db.session, vendor_id=vendor_id(), feed_id=feed.id),
        preview=preview,
        problem=problem,
        now=utcnow(),
    )
    return page, status


@portal.route("/feeds/<int:feed_id>", methods=["GET", "POST"])
@login_required
def feed_edit(feed_id: int):
    """Show and change a feed; POST action=preview saves, then previews a test fetch."""
    feed = configs.get_feed(db.session, feed_id, vendor_id=vendor_id())
    form = FeedForm()
    if request.method == "GET":
        _fill(form, feed)
        return _feed_page(feed, form)
    if feed.transport != PULL:
        raise InvalidInput(f"this is a {feed.transport} feed; change it through the vendor API")
    if not form.validate():
        return _feed_page(feed, form, status=422)
    try:
        with transaction(db.session):
            feed = configs.update_feed(
                db.session,
                feed_id,
                vendor_id=vendor_id(),
                changes=_values(form, saved_auth_kind=feed.auth_kind),
                credentials=feed_credentials(current_app.config),
                pull_settings=pull_settings(current_app.config),
                now=utcnow(),
            )
    except InvalidInput as exc:
        form_errors(form, exc, fields=FIELDS)
        return _feed_page(feed, form, status=422)
    if request.form.get("action") != "preview":
        flash("Feed saved.", "info")
        return redirect(url_for("portal.feed_edit", feed_id=feed_id))
    try:
        preview = _preview(feed_id)
    except DomainError as exc:
        return _feed_page(feed, form, problem=exc.detail, status=exc.status)
    return _feed_page(feed, form, preview=preview)


def _preview(feed_id: int) -> Preview:
    """Fetch the feed's file (no transaction open) and show what it would change. Raises DomainError."""
    data = fetch_sample(db.session, current_app.config, feed_id, vendor_id=vendor_id())
    try:
        with transaction(db.session):
            feed = configs.get_feed(db.session, feed_id, vendor_id=vendor_id())
            return preview_feed(
                db.session, feed, data, now=utcnow(), hold_share=hold_share(current_app.config)
            )
    except InvalidFeed as exc:
        raise InvalidInput(f"the file was fetched but cannot be read: {exc.detail}") from None


@portal.post("/feeds/<int:feed_id>/run")
@login_required
def feed_run_now(feed_id: int):
    """Pull now: claim the feed, fetch with no transaction open, record the run in a transaction of its own."""
    run = pull_now(db.session, current_app.config, feed_id, vendor_id=vendor_id())
    if run is None:
        flash("The feed was deleted while it was being fetched.", "error")
        return redirect(url_for("portal.feeds_list"))
    flash(
        f"Fetched: feed run {run.id} {run.status.replace('_', ' ')}.",
        "info" if run.status != "failed" else "error",
    )
    return redirect(url_for("portal.feed_run", run_id=run.id))


@portal.post("/feeds/<int:feed_id>/delete")
@login_required
def feed_delete(feed_id: int):
    with transaction(db.session):
        configs.delete_feed(db.session, feed_id, vendor_id=vendor_id())
    flash("The feed is deleted; its runs stay in the history.", "info")
    return redirect(url_for("portal.feeds_list"))


# --- held runs ---------------------------------------------------------------------------------


def _resolve_held(run_id: int, action, done: str):  # noqa: ANN001
    try:
        with transaction(db.session):
            run = action(
                db.session,
                run_id,
                vendor_id=vendor_id(),
                actor=Actor(user_id=current_user().id),
                now=utcnow(),
            )
    except Conflict as exc:
        run = feeds.get_run(db.session, run_id, vendor_id=vendor_id())
        return render_template("portal/feed_run.html", run=run, error=exc.detail), exc.status
    flash(done.format(run=run), "info")
    return redirect(url_for("portal.feed_run", run_id=run_id))


@portal.post("/feed-runs/<int:run_id>/apply")
@login_required
def feed_run_apply(run_id: int):
    return _resolve_held(run_id, feeds.apply_held_run, "Applied: feed run {run.id} is now {run.status}.")


@portal.post("/feed-runs/<int:run_id>/discard")
@login_required
def feed_run_discard(run_id: int):
    return _resolve_held(run_id, feeds.discard_held_run, "Discarded: feed run {run.id} changed nothing.")
