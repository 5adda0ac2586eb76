"""The composition root: `create_app` builds the hub from small configure steps."""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import sqlalchemy as sa
from apispec import APISpec
from flask import Flask, Response, g, render_template, request
from flask_smorest import Api, Blueprint
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from werkzeug.exceptions import HTTPException

from api_common import problems
from api_common.edge import configure_edge
from network.config import load_config
from network.db import configure_sqlite, is_connection_lost
from network.errors import DomainError
from network.extensions import csrf, db, migrate

log = logging.getLogger(__name__)

REQUESTS = Counter("dropnet_http_requests_total", "HTTP requests", ["endpoint", "method", "status"])
LATENCY = Histogram("dropnet_http_request_seconds", "HTTP request latency", ["endpoint"])
PORTAL_BLUEPRINTS = ("portal", "console")


def create_app(config: Mapping[str, object] | None = None) -> Flask:
    app = Flask(__name__, instance_path=_instance_path(), static_folder=None)
    configure_settings(app, config)
    configure_edge(app)
    configure_database(app)
    configure_mail(app)
    configure_apis(app)
    configure_portal(app)
    configure_errors(app)
    configure_operations(app)
    configure_cli(app)
    configure_worker(app)
    return app


def _instance_path() -> str:
    return os.environ.get("HUB_INSTANCE_PATH") or str(Path(__file__).resolve().parent.parent / "instance")


def configure_settings(app: Flask, config: Mapping[str, object] | None) -> None:
    app.config.update(load_config(app.instance_path, config))
    app.json.sort_keys = False  # keep fields in the order the schemas declare them
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        development = app.config.get("HUB_ENV") == "development" or app.config["DATABASE_URL"].startswith(
            "sqlite"
        )
        if not development or app.config.get("HUB_ENV") == "production":
            raise RuntimeError("SECRET_KEY must be set outside development (it signs portal sessions)")
        app.config["SECRET_KEY"] = _development_secret(Path(app.instance_path))
    # Flask's defaults already hold these keys (SameSite None, Secure off), so setdefault would
    # keep them: set them unless the caller chose.
    chosen = config or {}
    app.config["SESSION_COOKIE_HTTPONLY"] = chosen.get("SESSION_COOKIE_HTTPONLY", True)
    app.config["SESSION_COOKIE_SAMESITE"] = chosen.get("SESSION_COOKIE_SAMESITE", "Lax")
    app.config["SESSION_COOKIE_SECURE"] = chosen.get(
        "SESSION_COOKIE_SECURE", str(app.config["PUBLIC_URL"]).startswith("https://")
    )


def _development_secret(instance: Path) -> str:
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def configure_database(app: Flask) -> None:
    db.init_app(app)
    migrations = Path(__file__).resolve().parent.parent / "migrations"
    migrate.init_app(app, db, directory=str(migrations), compare_type=True, render_as_batch=True)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
    # Every model module must be imported for metadata (migrations, create_all) to see it.
    import network.models  # noqa: F401

    configure_read_replica(app)

    @app.after_request
    def _end_reads_with_commit(response: Response) -> Response:
        # The session's teardown ends a request with ROLLBACK, and psycopg drops every prepared
        # statement on ROLLBACK: reads would parse and plan each statement again on every
        # request (bench/availability_read.py: about 1.6 times the reads per second with this).
        # A successful GET/HEAD, which writes nothing, ends its transaction with COMMIT instead.
        if request.method in ("GET", "HEAD") and response.status_code < 400 and db.session.registry.has():
            session = db.session()
            if session.in_transaction():
                try:
                    session.commit()
                except sa.exc.DBAPIError as error:
                    # The read is answered already; only the commit's saving was lost with the
                    # connection (an error here would skip the app's error handlers: a bare 500).
                    if not is_connection_lost(error):
                        raise
                    session.rollback()
        return response


def configure_read_replica(app: Flask) -> None:
    """DATABASE_REPLICA_URL: a streaming replica for the reads network/replica.py routes."""
    url = app.config.get("DATABASE_REPLICA_URL")
    if not url:
        return
    from network.replica import ReadRouter, replica_engine

    with app.app_context():
        primary = db.engine
    if primary.dialect.name != "postgresql":
        raise RuntimeError("DATABASE_REPLICA_URL needs DATABASE_URL to be the PostgreSQL primary it follows")
    router = ReadRouter(
        primary,
        replica_engine(str(url), dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])),
        max_lag_ms=float(app.config["HUB_REPLICA_MAX_LAG_MS"]),
        check_ms=float(app.config["HUB_REPLICA_CHECK_MS"]),
    )
    app.extensions["hub_reads"] = router

    @app.after_request
    def _remember_writes(response: Response) -> Response:
        # Read-your-writes: after a request that may have written, its organization's reads wait
        # for the replica to replay this far (network/replica.py). The view has committed by now
        # and the client has not had the answer yet.
        caller = g.get("caller")
        if caller is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
            router.note_write(caller.org_id)
        return response


class HubApi(Api):
    """flask-smorest's Api, answering its errors the hub's way (its handler is app-wide) and
    documenting them as they are sent: problem details, application/problem+json."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        from api_common.fields import DecimalString
        from api_common.problems import ProblemSchema

        self.ERROR_SCHEMA = ProblemSchema
        self._spec: APISpec | None = None
        self._undocumented: list[tuple[Blueprint, str, object]] = []
        self._documenting = threading.RLock()
        self._documenting_now = False
        super().__init__(*args, **kwargs)
        self.register_field(DecimalString, "string", "decimal")
        from api_common.openapi import finishing

        self.spec.to_dict = finishing(self.spec.to_dict)

    def register_blueprint(self, blp: Blueprint, *, parameters: object = None, **options: object) -> None:
        """Route the blueprint now and document it when the spec is next read: documenting is half
        of an app's start-up (apispec walks every schema), and most apps (a worker, each test)
        never serve the spec."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    @property
    def spec(self) -> APISpec | None:
        if self._undocumented:
            # Other threads wait for the whole document; the documenting thread itself reads the
            # spec it is filling (the lock is re-entrant) and gets it as it stands.
            with self._documenting:
                if self._undocumented and not self._documenting_now:
                    self._documenting_now = True
                    try:
                        for blp, name, parameters in self._undocumented:
                            blp.register_views_in_doc(
                                self, self._app, self._spec, name=name, parameters=parameters
                            )
                            self._spec.tag({"name": name, "description": blp.description})
                        self._undocumented.clear()
                    finally:
                        self._documenting_now = False
        return self._spec

    @spec.setter
    def spec(self, value: APISpec | None) -> None:
        self._spec = value

    def handle_http_exception(self, error: HTTPException) -> Response:
        return handle_http_exception(error)

    def _register_responses(self) -> None:
        from api_common.problems import PROBLEM_CONTENT_TYPE

        default, self.DEFAULT_RESPONSE_CONTENT_TYPE = self.DEFAULT_RESPONSE_CONTENT_TYPE, PROBLEM_CONTENT_TYPE
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = default


def configure_apis(app: Flask) -> None:
    from api_common.oauth import init_oauth
    from retailer_api import blueprints as retailer_blueprints
    from vendor_portal.api import blueprints as vendor_blueprints

    init_oauth(app)
    csrf.init_app(app)
    api = HubApi(app, spec_kwargs={"components": {"securitySchemes": _security_schemes()}})
    for blueprint in (*retailer_blueprints(), *vendor_blueprints()):
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)
    from api_common.oauth import oauth_blueprint

    csrf.exempt(oauth_blueprint)
    app.extensions["hub_api"] = api


def configure_mail(app: Flask) -> None:
    """One mailer for every surface: SMTP_URL, or (unset) `instance/outbox/` and the log."""
    from network.mail import Mailer, default_sender

    app.extensions["hub_mailer"] = Mailer(
        smtp_url=app.config.get("SMTP_URL") or None,
        outbox_dir=Path(app.instance_path) / "outbox",
        sender=str(app.config.get("HUB_MAIL_FROM") or default_sender(str(app.config["PUBLIC_URL"]))),
    )


def configure_portal(app: Flask) -> None:
    """The vendor portal's pages under /portal (HTML errors: see PORTAL_BLUEPRINTS)."""
    from console import console
    from vendor_portal.web import portal

    app.register_blueprint(portal)
    # The retailer console (/console) stands on the portal's machinery (sign-in, CSRF, CSP).
    app.register_blueprint(console)


def _security_schemes() -> dict:
    return {
        "oauth2": {
            "type": "oauth2",
            "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}},
        },
        # The storefront order webhooks (/hooks/...) are signed by the platform instead: base64
        # HMAC-SHA256 of the raw body with the connector's webhook secret.
        "shopifyHmac": {"type": "apiKey", "in": "header", "name": "X-Shopify-Hmac-Sha256"},
        "woocommerceSignature": {"type": "apiKey", "in": "header", "name": "X-WC-Webhook-Signature"},
    }


def _wants_html() -> bool:
    # A URL under /portal/ or /console/ that matches no page has no blueprint, yet a person typed it.
    return request.blueprint in PORTAL_BLUEPRINTS or request.path.startswith(("/portal/", "/console/"))


def handle_domain_error(error: DomainError) -> Response:
    if _wants_html():
        return Response(render_template("error.html", title=error.title, detail=error.detail), error.status)
    return problems.from_domain_error(error)


def handle_http_exception(error: HTTPException) -> Response:
    if _wants_html():
        body = render_template("error.html", title=error.name, detail=error.description)
        return Response(body, error.code or 500)
    return problems.from_http_exception(error)


def handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    if _wants_html():
        return Response(render_template("error.html", title="Internal error", detail=""), 500)
    return problems.internal_error()


def handle_database_error(error: sa.exc.DBAPIError) -> Response:
    """A lost database connection is the server's to retry, not a bug: 503 with Retry-After.

    The request's transaction never committed (or, lost during COMMIT, did so whole), so a retry
    is safe: an order's Idempotency-Key replays the first answer if it had committed.
    """
    if not is_connection_lost(error):
        return handle_unexpected(error)
    log.warning("database connection lost on %s %s: %s", request.method, request.path, error.orig)
    # The session's transaction is dead with its connection: end it now, so nothing later in
    # this request (or the next, on a session that outlives it) trips over it.
    db.session.rollback()
    if _wants_html():
        body = render_template(
            "error.html", title="Service unavailable", detail="Please try again in a moment."
        )
        return Response(body, 503, headers={"Retry-After": str(problems.RETRY_AFTER_SECONDS)})
    return problems.database_unavailable()


def configure_errors(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(sa.exc.DBAPIError, handle_database_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)


def configure_operations(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> tuple[dict, int]:
        try:
            db.session.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            log.exception("health check failed")
            return {"status": "unavailable", "database": "unreachable"}, 503
        finally:
            db.session.rollback()
        return {"status": "ok", "database": "ok"}, 200

    token = str(app.config.get("HUB_METRICS_TOKEN") or "")

    @app.get("/metrics")
    def metrics() -> Response:
        if token and not _bearer_is(token):
            response = problems.problem(
                401, "Unauthorized", "/metrics needs Authorization: Bearer <HUB_METRICS_TOKEN>"
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return Response(generate_latest(_metrics_registry()), mimetype=CONTENT_TYPE_LATEST)

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        endpoint = request.endpoint or "unmatched"
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        started = g.get("request_started")
        if started is not None:
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        return response


def _bearer_is(token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _metrics_registry() -> CollectorRegistry:
    """What one scrape reports: this process's metrics, or every process's under PROMETHEUS_MULTIPROC_DIR.

    Under gunicorn each worker counts only the requests it served, so a scrape (answered by any
    one of them) would show a random share. With PROMETHEUS_MULTIPROC_DIR set before the
    processes start, prometheus_client keeps every process's values in files there (web workers
    and `hub worker` alike) and the scrape adds them up.
    """
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)
    return registry


def configure_cli(app: Flask) -> None:
    from network.cli import hub

    app.cli.add_command(hub)


def configure_worker(app: Flask) -> None:
    if app.config.get("HUB_RUN_WORKER") and not app.config.get("TESTING"):
        from network.jobs import start_scheduler

        start_scheduler(app)
