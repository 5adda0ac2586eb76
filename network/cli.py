"""Operator commands: `flask --app wsgi hub …`."""

from __future__ import annotations

import json

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from network.clock import utcnow
from network.db import transaction
from network.errors import DomainError
from network.extensions import db
from network.partners import services as partners
from network.partners.audit import Actor
from network.partners.models import Organization


@click.group("hub")
def hub() -> None:
    """Operate the Dropnet hub."""


@hub.command("init")
@with_appcontext
def init_command() -> None:
    """Create or migrate the schema to the latest version."""
    # Areas add their migrations as branches of the first revision; "heads" applies them all.
    upgrade(directory=current_app.extensions["migrate"].directory, revision="heads")
    click.echo(f"schema is up to date on {db.engine.url.render_as_string(hide_password=True)}")


@hub.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print the credentials as one JSON object.")
@click.option("--if-empty", is_flag=True, help="Seed only when the hub has no organization yet.")
@with_appcontext
def demo_command(as_json: bool, if_empty: bool) -> None:
    """Seed a demo network: two retailers, three vendors, variants, stock and items."""
    from network.demo import seed_demo

    if if_empty and db.session.scalar(sa.select(sa.func.count()).select_from(Organization)):
        click.echo("the hub already has organizations; not seeding the demo network")
        return
    with transaction(db.session):
        result = seed_demo(db.session, now=utcnow())
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo("Demo network seeded.")
    for org in result["retailers"]:
        click.echo(
            f"  retailer {org['id']} {org['name']}: client {org['client_id']} secret {org['client_secret']}"
            f" console {org['console_email']} / {org['console_password']}"
        )
    for org in result["vendors"]:
        click.echo(
            f"  vendor {org['id']} {org['name']}: client {org['client_id']} secret {org['client_secret']}"
            f" portal {org['portal_email']} / {org['portal_password']}"
        )


@hub.command("create-client")
@click.option("--org", "org_id", type=int, required=True, help="Organization id.")
@click.option("--name", default="", help="A label for the client.")
@click.option(
    "--scope", "scopes", multiple=True, help="Scope to grant (repeat); default: every scope of its side."
)
@with_appcontext
def create_client_command(org_id: int, name: str, scopes: tuple[str, ...]) -> None:
    """Create an OAuth client for an organization and print its secret (shown once)."""
    with transaction(db.session):
        client, secret = partners.create_api_client(
            db.session,
            org_id=org_id,
            name=name,
            scopes=list(scopes) or None,
            actor=Actor(),  # an operator at the command line: "system" in the audit log
            now=utcnow(),
        )
    click.echo(json.dumps({"client_id": client.client_id, "client_secret": secret, "scope": client.scopes}))


def _create_with_owner(kind: str, name: str, owner_email: str) -> None:
    from network.mail import MailNotSent
    from network.partners import invites, onboarding

    now, ttl = utcnow(), invites.invite_ttl(current_app.config.get("HUB_INVITE_TTL_DAYS"))
    try:
        with transaction(db.session):
            org, user, token = onboarding.create_with_owner(
                db.session, kind=kind, name=name, owner_email=owner_email, ttl=ttl, now=now
            )
            message = onboarding.activation_email(
                org, user, token, public_url=current_app.config["PUBLIC_URL"], expires_at=now + ttl
            )
    except DomainError as exc:
        raise click.ClickException(_explain(exc)) from None
    try:
        current_app.extensions["hub_mailer"].send(message)
    except MailNotSent as exc:
        click.echo(f"{kind} {org.id} created, but the activation email was not sent: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(json.dumps({"id": org.id, "kind": kind, "owner_email": user.email, "email_sent": True}))


@hub.command("create-retailer")
@click.option("--name", required=True, help="The retailer's name.")
@click.option("--owner-email", required=True, help="Its owner, who gets the activation link.")
@with_appcontext
def create_retailer_command(name: str, owner_email: str) -> None:
    """Create a retailer and its owner, and email the owner a link to activate the console."""
    _create_with_owner("retailer", name, owner_email)


@hub.command("create-vendor")
@click.option("--name", required=True, help="The vendor's name.")
@click.option("--owner-email", required=True, help="Its owner, who gets the activation link.")
@with_appcontext
def create_vendor_command(name: str, owner_email: str) -> None:
    """Create a vendor without an invite, and email its owner a link to activate the portal."""
    _create_with_owner("vendor", name, owner_email)


@hub.command("worker")
@with_appcontext
def worker_command() -> None:
    """Run the background jobs in the foreground until interrupted."""
    from network.jobs import run_worker

    run_worker(current_app._get_current_object())


@hub.command("invite")
@click.option("--retailer", "retailer_id", type=int, required=True, help="The inviting retailer's id.")
@click.option("--email", required=True, help="Where the invite goes.")
@click.option("--vendor-name", required=True, help="The vendor's name, as the retailer knows it.")
@click.option(
    "--term",
    "terms",
    multiple=True,
    metavar="NAME=VALUE",
    help="A connection term the invite sets, e.g. ack_sla_hours=12 (repeat).",
)
@with_appcontext
def invite_command(retailer_id: int, email: str, vendor_name: str, terms: tuple[str, ...]) -> None:
    """Invite a vendor by email to connect with a retailer."""
    from network.mail import MailNotSent
    from network.partners import invites

    parsed = {}
    for term in terms:
        name, _, value = term.partition("=")
        try:
            parsed[name.strip()] = value.strip() if name.strip() == "status" else int(value)
        except ValueError:
            raise click.BadParameter(
                f"{term!r}: the value must be a whole number", param_hint="--term"
            ) from None
    try:
        with transaction(db.session):
            invite, token = invites.create_invite(
                db.session,
                retailer_id=retailer_id,
                email=email,
                vendor_name=vendor_name,
                terms=parsed,
                ttl=invites.invite_ttl(current_app.config.get("HUB_INVITE_TTL_DAYS")),
                now=utcnow(),
            )
            message = invites.invite_email(invite, token, public_url=current_app.config["PUBLIC_URL"])
    except DomainError as exc:
        raise click.ClickException(_explain(exc)) from None
    try:
        current_app.extensions["hub_mailer"].send(message)
    except MailNotSent as exc:
        click.echo(f"invite {invite.id} created, but the email was not sent: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(
        json.dumps(
            {
                "id": invite.id,
                "email": invite.email,
                "expires_at": invite.expires_at.isoformat(),
                "email_sent": True,
            }
        )
    )


def _explain(error: DomainError) -> str:
    errors = getattr(error, "errors", None) or {}
    details = "; ".join(f"{field}: {', '.join(messages)}" for field, messages in errors.items())
    return f"{error.detail} ({details})" if details else error.detail


@hub.command("simulate")
@click.option(
    "--days", type=click.IntRange(min=1), default=None, help="Simulated days (default: the config's, 30)."
)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the (first) simulated world.")
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Seeds to run from --seed on; more than one reports 95 % confidence intervals.",
)
@click.option(
    "--policy",
    default="all",
    show_default=True,
    help="all (the first five), or some of split_daily, full_daily, full_hourly, full_15min, dropnet, "
    "dropnet_predictive (Dropnet on the predictive availability model) (comma-separated).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Write results.csv, summary.csv and PNG charts here.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A TOML file overriding the defaults (docs/simulation/default.toml).",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Processes to run on (default: up to 2 CPUs)."
)
@click.option(
    "--vary",
    multiple=True,
    help="NAME=V1,V2,...: also run worlds with this parameter at each value, one parameter at a time "
    "(e.g. outside_sales_ratio=0.2,1,5; docs/simulation.md, Assumption ranges). Repeatable.",
)
@with_appcontext
def simulate_command(
    days: int | None,
    seed: int,
    seeds: int,
    policy: str,
    out: str | None,
    config_path: str | None,
    workers: int | None,
    vary: tuple[str, ...],
) -> None:
    """Run the oversell simulator: the usual sync workarounds and Dropnet on the same weeks (docs/simulation.md)."""
    from pathlib import Path

    from network.simulation import ConfigError, load_config, policy_names, simulate

    try:
        policy_names(policy)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--policy") from None
    try:
        load_config(Path(config_path) if config_path else None)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--config") from None
    try:
        simulate(
            seed=seed,
            seeds=seeds,
            days=days,
            policy=policy,
            out=Path(out) if out else None,
            config_path=Path(config_path) if config_path else None,
            workers=workers,
            database_url=str(current_app.config["DATABASE_URL"]),
            echo=click.echo,
            vary=vary,
        )
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--vary") from None


@hub.command("edi-setup")
@click.option("--vendor", "vendor_id", type=int, required=True, help="The vendor organization's id.")
@click.option("--isa-qualifier", required=True, help="The vendor's ISA05 qualifier, e.g. ZZ or 01.")
@click.option("--isa-id", required=True, help="The vendor's ISA06 id (up to 15 characters).")
@click.option(
    "--version", "x12_version", default="004010", type=click.Choice(["004010", "004010VICS", "005010"])
)
@click.option("--documents", default="850,855,856,810,860,997", help="Comma-separated transaction sets.")
@click.option("--host", required=True, help="The vendor's (or its VAN's) SFTP host.")
@click.option("--port", type=int, default=22)
@click.option("--username", required=True)
@click.option("--password-env", help="Read the SFTP password from this environment variable.")
@click.option(
    "--private-key-file", type=click.Path(exists=True, dir_okay=False), help="An OpenSSH or PEM key."
)
@click.option("--inbound-dir", default="in", help="Where the hub drops 850, 860 and 997 files.")
@click.option("--outbound-dir", default="out", help="Where the hub takes the vendor's files.")
@click.option("--pattern", default="*", help="File-name glob of the files to take.")
@click.option("--after-pull", type=click.Choice(["archive", "leave"]), default="archive")
@click.option("--ack-window-minutes", type=int, default=240, help="How long an 850 may wait for its 997.")
@with_appcontext
def edi_setup_command(
    vendor_id: int,
    x12_version: str,
    documents: str,
    password_env: str | None,
    private_key_file: str | None,
    **options: object,
) -> None:
    """Set up (or replace) a vendor's X12 trading-partner setup, as PUT /vendor-api/v1/edi does."""
    import os

    from network.feeds.pulling import feed_credentials, pull_settings
    from network.trading import partners as trading

    if bool(password_env) == bool(private_key_file):
        raise click.UsageError("give exactly one of --password-env and --private-key-file")
    if password_env:
        secret = {"password": os.environ.get(password_env, "")}
    else:
        with open(private_key_file, encoding="utf-8") as handle:
            secret = {"private_key": handle.read()}
    values = {
        "isa_qualifier": options["isa_qualifier"],
        "isa_id": options["isa_id"],
        "version": x12_version,
        "documents": [d.strip() for d in documents.split(",") if d.strip()],
        "ack_window_minutes": options["ack_window_minutes"],
        "transport": {
            "kind": "sftp",
            "host": options["host"],
            "port": options["port"],
            "username": options["username"],
            "credentials": secret,
            "inbound_dir": options["inbound_dir"],
            "outbound_dir": options["outbound_dir"],
            "pattern": options["pattern"],
            "after_pull": options["after_pull"],
        },
    }
    vendor = db.session.get(Organization, vendor_id)
    if vendor is None or vendor.kind != "vendor":
        raise click.ClickException(f"no vendor {vendor_id}")
    try:
        with transaction(db.session):
            partner = trading.configure(
                db.session,
                vendor_id=vendor_id,
                values=values,
                credentials=feed_credentials(current_app.config),
                hub=trading.HubIds.from_config(current_app.config),
                pull_settings=pull_settings(current_app.config),
                now=utcnow(),
            )
    except DomainError as exc:
        errors = getattr(exc, "errors", {})
        raise click.ClickException(
            f"{exc.detail}: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items())
        ) from None
    click.echo(
        f"vendor {vendor_id} trades X12 {partner.version} as {partner.isa_qualifier}/{partner.isa_id} with "
        f"{partner.hub_isa_qualifier}/{partner.hub_isa_id} over sftp://{partner.host}:{partner.port}"
    )


@hub.command("edi-confirm-host-key")
@click.option("--vendor", "vendor_id", type=int, required=True)
@with_appcontext
def edi_confirm_host_key_command(vendor_id: int) -> None:
    """Trust the changed host key a vendor's SFTP server offered (it is refused until then)."""
    from network.trading import partners as trading

    try:
        with transaction(db.session):
            partner = trading.confirm_host_key(db.session, vendor_id=vendor_id, now=utcnow())
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"vendor {vendor_id}: host key {partner.host_key} is now pinned")


@hub.command("edi-exchange")
@with_appcontext
def edi_exchange_command() -> None:
    """Run the worker's EDI round once: write owed 850/860s, visit due mailboxes."""
    from network.trading import mailbox

    for result in mailbox.exchange_due(db.session, current_app.config):
        click.echo(
            f"pushed {len(result.pushed)}, taken {len(result.taken)}, duplicates {len(result.duplicates)}"
            + (f", error: {result.error}" if result.error else "")
        )
