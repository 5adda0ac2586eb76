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
            db.session, org_id=org_id, name=name, scopes=list(scopes) or None, now=utcnow()
        )
    click.echo(json.dumps({"client_id": client.client_id, "client_secret": secret, "scope": client.scopes}))


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
    help="all, or some of split_daily, full_daily, full_hourly, full_15min, dropnet (comma-separated).",
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
@with_appcontext
def simulate_command(
    days: int | None,
    seed: int,
    seeds: int,
    policy: str,
    out: str | None,
    config_path: str | None,
    workers: int | None,
) -> None:
    """Run the oversell simulator: the usual sync workarounds and Dropnet on the same weeks (docs/simulation.md)."""
    from pathlib import Path

    from network.simulation import ConfigError, policy_names, simulate

    try:
        policy_names(policy)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--policy") from None
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
        )
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--config") from None
