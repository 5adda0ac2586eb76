"""The hub pulls feed URLs from a real HTTP server on 127.0.0.1, the way the worker does."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import logging
import socket
import ssl
import threading
import time

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from network.availability.services import read_availability
from network.catalog import services as catalog
from network.clock import utcnow
from network.db import transaction
from network.feeds import pulling, scheduling
from network.feeds.models import Feed, FeedRun
from network.feeds.pull import PullSettings
from network.jobs import FEED_HEALTH_SECONDS, build_scheduler, feed_health, pull_due_feeds
from network.outbox.models import Event
from network.stock.models import StockPosition
from tests.builders import availability, make_item
from tests.samples import fixture, sample

FEEDS = "/vendor-api/v1/feeds"


@pytest.fixture
def feeds_app(app):
    """The hub may fetch from this machine (tests only), with short timeouts and a small body cap."""
    app.config.update(
        HUB_FEED_ALLOWED_HOSTS="127.0.0.1,localhost",
        HUB_FEED_CONNECT_TIMEOUT=2,
        HUB_FEED_READ_TIMEOUT=0.3,
        HUB_FEED_TOTAL_TIMEOUT=5,
        HUB_FEED_MAX_BYTES=100_000,
    )
    return app


def pull_feed(vendor, url: str, **body) -> dict:
    body = {"name": "Warehouse export", "transport": "pull", "url": url, "interval_minutes": 15, **body}
    response = vendor.api.post(FEEDS, json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def variants(session, vendor, skus) -> dict[str, int]:
    now = utcnow()
    with transaction(session):
        made = [
            catalog.upsert_variant(session, vendor_id=vendor.id, vendor_sku=sku, title=sku, now=now)[0]
            for sku in skus
        ]
    return {v.vendor_sku: v.id for v in made}


def quantities(session, ids: dict[str, int]) -> dict[str, int]:
    session.rollback()
    return {sku: session.get(StockPosition, vid).quantity for sku, vid in ids.items()}


def runs(session, feed_id: int) -> list[FeedRun]:
    session.rollback()
    return list(session.scalars(sa.select(FeedRun).where(FeedRun.feed_id == feed_id).order_by(FeedRun.id)))


def feed_row(session, feed_id: int) -> Feed:
    session.rollback()
    return session.get(Feed, feed_id)


def events(session, kind: str) -> list[Event]:
    session.rollback()
    return list(session.scalars(sa.select(Event).where(Event.type == kind).order_by(Event.id)))


def csv(rows: dict[str, int]) -> str:
    return "sku,quantity\n" + "".join(f"{sku},{qty}\n" for sku, qty in rows.items())


# --- 200, 304, failures ---------------------------------------------------------------------


def test_the_worker_pulls_a_due_feed_and_the_stock_moves(feeds_app, session, network, httpserver):
    vendor, retailer = network.vendor, network.retailer
    ids = variants(session, vendor, ["LAMP"])
    sku = make_item(session, retailer, [ids["LAMP"]])
    httpserver.expect_request("/stock.csv").respond_with_data(csv({"LAMP": 7}), content_type="text/csv")
    feed = pull_feed(vendor, httpserver.url_for("/stock.csv"))
    now = utcnow()

    (run,) = pull_due_feeds(now=now)

    assert (run.status, run.transport, run.feed_id, run.rows_applied) == ("applied", "pull", feed["id"], 1)
    assert availability(retailer, sku)["available"] == 7
    assert feed_row(session, feed["id"]).next_run_at == now + dt.timedelta(minutes=15)
    assert pull_due_feeds(now=now + dt.timedelta(minutes=14)) == []  # not due yet
    assert len(httpserver.log) == 1


def test_a_shorter_feed_minute_makes_feeds_due_sooner_and_a_dead_worker_holds_one_for_its_lease(
    feeds_app, session, network, httpserver
):
    """HUB_FEED_MINUTE_SECONDS (soak tests) and HUB_FEED_RECORD_SECONDS, as the worker's pull job uses them."""
    feeds_app.config.update(HUB_FEED_MINUTE_SECONDS=2, HUB_FEED_RECORD_SECONDS=3)
    variants(session, network.vendor, ["LAMP"])
    httpserver.expect_request("/stock.csv").respond_with_data(csv({"LAMP": 7}), content_type="text/csv")
    feed = pull_feed(network.vendor, httpserver.url_for("/stock.csv"))  # every 15 "minutes": 30 s
    now = utcnow()

    pull_due_feeds(now=now)
    assert feed_row(session, feed["id"]).next_run_at == now + dt.timedelta(seconds=30)
    assert pull_due_feeds(now=now + dt.timedelta(seconds=29)) == []

    # A worker claims it and dies: the feed is its for connect 2 s + total 5 s + record 3 s.
    due = now + dt.timedelta(seconds=30)
    lease = pulling.pull_lease(feeds_app.config, PullSettings.from_config(feeds_app.config))
    with transaction(session):
        scheduling.claim_due_feeds(session, now=due, limit=5, lease=lease)
    assert pull_due_feeds(now=due + dt.timedelta(seconds=9)) == []
    (run,) = pull_due_feeds(now=due + dt.timedelta(seconds=10))
    assert run.feed_id == feed["id"] and len(httpserver.log) == 2


def test_a_job_runs_as_often_as_its_setting_says(app):
    app.config["HUB_JOB_PULL_DUE_FEEDS_SECONDS"] = 1
    scheduler = build_scheduler(app)
    assert scheduler.get_job("pull_due_feeds").trigger.interval == dt.timedelta(seconds=1)
    assert scheduler.get_job("feed_health").trigger.interval == dt.timedelta(seconds=FEED_HEALTH_SECONDS)


def test_an_unchanged_file_answers_304_and_is_recorded_not_modified(feeds_app, session, network, httpserver):
    vendor = network.vendor
    variants(session, vendor, ["A"])
    stamp = "Wed, 01 Jan 2025 10:00:00 GMT"
    httpserver.expect_ordered_request("/f.csv").respond_with_data(
        csv({"A": 1}), headers={"ETag": '"v1"', "Last-Modified": stamp}
    )
    httpserver.expect_ordered_request(
        "/f.csv", headers={"If-None-Match": '"v1"', "If-Modified-Since": stamp}
    ).respond_with_data("", status=304)
    feed = pull_feed(vendor, httpserver.url_for("/f.csv"))
    now = utcnow()

    pull_due_feeds(now=now)
    (second,) = pull_due_feeds(now=now + dt.timedelta(minutes=15))

    httpserver.check_assertions()
    assert second.status == "not_modified"
    assert "304" in second.message
    assert [r.status for r in runs(session, feed["id"])] == ["applied", "not_modified"]


def test_a_failing_url_is_recorded_retried_with_backoff_and_never_blocks_other_feeds(
    feeds_app, session, network, httpserver
):
    vendor = network.vendor
    ids = variants(session, vendor, ["OK-1"])
    httpserver.expect_request("/broken.csv").respond_with_data("oops", status=500)
    httpserver.expect_request("/good.csv").respond_with_data(csv({"OK-1": 3}))
    broken = pull_feed(vendor, httpserver.url_for("/broken.csv"), interval_minutes=15)
    pull_feed(vendor, httpserver.url_for("/good.csv"), name="second")
    now = utcnow()

    first = pull_due_feeds(now=now)

    assert sorted(r.status for r in first) == ["applied", "failed"]
    assert quantities(session, ids) == {"OK-1": 3}
    failed = runs(session, broken["id"])[0]
    assert failed.message == f"http://localhost:{httpserver.port} answered HTTP 500 INTERNAL SERVER ERROR"
    delays = []
    moment = now
    for _ in range(5):
        feed = feed_row(session, broken["id"])
        delays.append(feed.next_run_at - moment)
        moment = feed.next_run_at
        pull_due_feeds(now=moment)
    assert delays == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8, 15)]  # doubling, capped at the interval
    assert feed_row(session, broken["id"]).consecutive_failures == 6
    (told,) = [
        e for e in events(session, "feed.failed") if e.data["feed_id"] == broken["id"]
    ]  # once per streak
    assert told.org_id == vendor.id and "HTTP 500" in told.data["reason"]
    shown = vendor.api.get(f"{FEEDS}/{broken['id']}").get_json()
    assert shown["consecutive_failures"] == 6 and "HTTP 500" in shown["last_error"]


def test_a_slow_server_times_out(feeds_app, session, network, httpserver):
    answered = threading.Event()

    def slow(request: Request) -> Response:
        answered.wait(timeout=5)  # far past the 0.3 s read timeout; released once the hub gave up
        return Response("sku,quantity\n")

    httpserver.expect_request("/slow.csv").respond_with_handler(slow)
    feed = pull_feed(network.vendor, httpserver.url_for("/slow.csv"))

    (run,) = pull_due_feeds(now=utcnow())
    answered.set()

    assert run.status == "failed"
    assert run.message == "localhost sent no answer within 0.3 s"
    assert feed_row(session, feed["id"]).consecutive_failures == 1
    deadline = time.monotonic() + 5
    while not httpserver.log and time.monotonic() < deadline:  # let the server finish before the next test
        time.sleep(0.01)


def test_a_truncated_body_fails_instead_of_zeroing_the_missing_rows(feeds_app, session, network, httpserver):
    vendor = network.vendor
    ids = variants(session, vendor, ["T1", "T2"])
    body = csv({"T1": 5, "T2": 5}).encode()
    httpserver.expect_ordered_request("/t.csv").respond_with_data(body)
    httpserver.expect_ordered_request("/t.csv").respond_with_response(
        Response(iter([body[:15]]), headers={"Content-Length": str(len(body))})
    )
    pull_feed(vendor, httpserver.url_for("/t.csv"))
    now = utcnow()
    pull_due_feeds(now=now)

    (run,) = pull_due_feeds(now=now + dt.timedelta(minutes=15))

    assert run.status == "failed"
    assert "truncated" in run.message
    assert quantities(session, ids) == {"T1": 5, "T2": 5}


def test_gzip_bodies_are_decoded_whether_encoded_in_transit_or_served_as_a_gz_file(
    feeds_app, session, network, httpserver
):
    vendor = network.vendor
    ids = variants(session, vendor, ["G1", "G2"])
    httpserver.expect_request("/enc.csv").respond_with_data(
        gzip.compress(csv({"G1": 4}).encode()), headers={"Content-Encoding": "gzip"}
    )
    httpserver.expect_request("/file.csv.gz").respond_with_data(
        gzip.compress(csv({"G2": 9}).encode()), content_type="application/gzip"
    )
    pull_feed(vendor, httpserver.url_for("/enc.csv"), mode="delta")
    pull_feed(vendor, httpserver.url_for("/file.csv.gz"), mode="delta", name="gz")

    assert sorted(r.status for r in pull_due_feeds(now=utcnow())) == ["applied", "applied"]
    assert quantities(session, ids) == {"G1": 4, "G2": 9}


def test_bodies_over_the_size_cap_fail_however_they_arrive(feeds_app, session, network, httpserver):
    vendor = network.vendor
    big = b"sku,quantity\n" + b"X,1\n" * 30_000  # 120 kB, the cap is 100 kB
    httpserver.expect_request("/declared.csv").respond_with_data(big)
    httpserver.expect_request("/streamed.csv").respond_with_response(
        Response(iter([big[:60_000], big[60_000:]]))
    )
    httpserver.expect_request("/bomb.csv").respond_with_data(
        gzip.compress(big * 10), headers={"Content-Encoding": "gzip"}
    )
    httpserver.expect_request("/bomb.csv.gz").respond_with_data(gzip.compress(big * 10))
    for path in ("/declared.csv", "/streamed.csv", "/bomb.csv", "/bomb.csv.gz"):
        pull_feed(vendor, httpserver.url_for(path), name=path)

    messages = sorted(run.message for run in pull_due_feeds(now=utcnow()))

    assert len(messages) == 4
    assert all("100,000-byte limit" in message for message in messages), messages
    assert any("sent a body of 120,013 bytes" in message for message in messages)


def test_a_file_ten_times_the_usual_size_is_applied(feeds_app, session, network, httpserver):
    vendor = network.vendor
    ids = variants(session, vendor, [f"S{i}" for i in range(200)])
    usual = {f"S{i}": 1 for i in range(20)}
    grown = {f"S{i}": 2 for i in range(200)}
    httpserver.expect_ordered_request("/cat.csv").respond_with_data(csv(usual))
    httpserver.expect_ordered_request("/cat.csv").respond_with_data(csv(grown))
    pull_feed(vendor, httpserver.url_for("/cat.csv"))
    now = utcnow()
    pull_due_feeds(now=now)

    (run,) = pull_due_feeds(now=now + dt.timedelta(minutes=15))

    assert (run.status, run.rows_seen, run.rows_applied) == ("applied", 200, 200)
    assert set(quantities(session, ids).values()) == {2}


def self_signed_context(tmp_path) -> ssl.SSLContext:
    """A TLS server context with a certificate no client trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


def test_unreachable_hosts_fail_with_a_reason_a_vendor_can_act_on(feeds_app, session, network, tmp_path):
    vendor = network.vendor
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    tls = HTTPServer(ssl_context=self_signed_context(tmp_path))
    tls.expect_request("/f.csv").respond_with_data("sku,quantity\n")
    tls.start()
    try:
        refused = pull_feed(vendor, f"http://127.0.0.1:{closed}/f.csv")
        untrusted = pull_feed(vendor, tls.url_for("/f.csv"), name="tls")
        feeds_app.config["HUB_FEED_ALLOWED_HOSTS"] = ""
        feeds_app.config["HUB_FEED_ALLOW_PRIVATE"] = True
        unknown = pull_feed(vendor, "http://feeds.nowhere.invalid/f.csv", name="dns")

        pull_due_feeds(now=utcnow())
    finally:
        tls.stop()

    reasons = {feed["id"]: runs(session, feed["id"])[0].message for feed in (refused, untrusted, unknown)}
    assert reasons == {
        refused["id"]: "127.0.0.1 refused the connection",
        untrusted["id"]: "TLS error with localhost: certificate verify failed",
        unknown["id"]: "could not resolve host feeds.nowhere.invalid",
    }


# --- redirects and the address guard -----------------------------------------------------------


def test_redirects_are_followed_and_loops_are_refused(feeds_app, session, network, httpserver):
    vendor = network.vendor
    ids = variants(session, vendor, ["R1"])
    httpserver.expect_request("/old.csv").respond_with_data(
        "", status=301, headers={"Location": "/moved.csv"}
    )
    httpserver.expect_request("/moved.csv").respond_with_data(
        "", status=302, headers={"Location": "/new.csv"}
    )
    httpserver.expect_request("/new.csv").respond_with_data(csv({"R1": 6}))
    httpserver.expect_request("/ping").respond_with_data("", status=307, headers={"Location": "/pong"})
    httpserver.expect_request("/pong").respond_with_data("", status=307, headers={"Location": "/ping"})
    pull_feed(vendor, httpserver.url_for("/old.csv"), mode="delta")
    loop = pull_feed(vendor, httpserver.url_for("/ping"), name="loop")

    pull_due_feeds(now=utcnow())

    assert quantities(session, ids) == {"R1": 6}
    (failed,) = runs(session, loop["id"])
    assert failed.status == "failed" and failed.message.startswith("redirect loop")


def test_endless_redirects_stop_at_the_limit(feeds_app, session, network, httpserver):
    def onwards(request: Request) -> Response:
        hop = int(request.args.get("hop", 0))
        return Response("", status=302, headers={"Location": f"/hop?hop={hop + 1}"})

    httpserver.expect_request("/hop").respond_with_handler(onwards)
    feed = pull_feed(network.vendor, httpserver.url_for("/hop"))

    pull_due_feeds(now=utcnow())

    (run,) = runs(session, feed["id"])
    assert run.message.startswith("more than 5 redirects")
    assert len(httpserver.log) == 6


def test_the_hub_refuses_to_fetch_from_its_own_network_unless_allowed(app, session, network, httpserver):
    httpserver.expect_request("/internal").respond_with_data("secret")
    # Saved while private addresses were allowed (a name could also resolve elsewhere by the time
    # it is fetched): the fetch checks the address it connects to, whatever was checked before.
    app.config["HUB_FEED_ALLOW_PRIVATE"] = True
    feed = pull_feed(network.vendor, httpserver.url_for("/internal"))
    app.config["HUB_FEED_ALLOW_PRIVATE"] = False

    (run,) = pull_due_feeds(now=utcnow())

    assert run.status == "failed"
    assert "non-public address" in run.message
    assert httpserver.log == []  # not even a connection attempt reached it
    app.config["HUB_FEED_ALLOW_PRIVATE"] = True
    response = network.vendor.api.post(f"{FEEDS}/{feed['id']}/run")
    assert response.get_json()["status"] == "rejected"  # fetched now; "secret" has no sku column


def test_an_allow_list_keeps_feeds_to_the_listed_hosts(app, session, network, httpserver):
    app.config.update(HUB_FEED_ALLOWED_HOSTS="feeds.example.com", HUB_FEED_ALLOW_PRIVATE=True)

    response = network.vendor.api.post(
        FEEDS, json={"name": "x", "transport": "pull", "url": httpserver.url_for("/f.csv")}
    )

    assert response.status_code == 422
    assert "allowed feed hosts" in response.get_json()["errors"]["url"][0]


def test_credentials_are_sent_to_the_feed_host_only_and_never_logged(
    feeds_app, session, network, httpserver, caplog
):
    caplog.set_level(logging.DEBUG)
    vendor = network.vendor
    variants(session, vendor, ["C1"])
    basic = base64.b64encode(b"hub:pa55word").decode()
    httpserver.expect_request("/basic.csv", headers={"Authorization": f"Basic {basic}"}).respond_with_data(
        csv({"C1": 1})
    )
    httpserver.expect_request("/bearer.csv", headers={"Authorization": "Bearer tok-123"}).respond_with_data(
        csv({"C1": 2})
    )
    httpserver.expect_request("/header.csv", headers={"X-Api-Key": "key-456"}).respond_with_data(
        "", status=403
    )
    # The same server under another name is another site: the credentials stay behind.
    elsewhere = httpserver.url_for("/elsewhere.csv").replace("localhost", "127.0.0.1")
    httpserver.expect_request("/away.csv").respond_with_data("", status=302, headers={"Location": elsewhere})
    httpserver.expect_request("/elsewhere.csv").respond_with_data(csv({"C1": 3}))
    pull_feed(
        vendor,
        httpserver.url_for("/basic.csv"),
        auth={"kind": "basic", "username": "hub", "password": "pa55word"},
    )
    pull_feed(
        vendor, httpserver.url_for("/bearer.csv"), auth={"kind": "bearer", "token": "tok-123"}, mode="delta"
    )
    pull_feed(
        vendor,
        httpserver.url_for("/header.csv") + "?apikey=q-789",
        auth={"kind": "header", "name": "X-Api-Key", "value": "key-456"},
    )
    pull_feed(
        vendor, httpserver.url_for("/away.csv"), auth={"kind": "bearer", "token": "tok-000"}, mode="delta"
    )

    results = pull_due_feeds(now=utcnow())

    assert sorted(r.status for r in results) == ["applied", "applied", "applied", "failed"]
    (forbidden,) = [r for r in results if r.status == "failed"]
    assert forbidden.message == f"http://localhost:{httpserver.port} answered HTTP 403 FORBIDDEN"
    sent_elsewhere = [req for req, _ in httpserver.log if req.path == "/elsewhere.csv"]
    assert sent_elsewhere and "Authorization" not in sent_elsewhere[0].headers
    hub_log = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]  # not the test server's
    logged = "\n".join(hub_log) + "".join(str(r.message) for r in results)
    for secret in ("pa55word", basic, "tok-123", "key-456", "q-789", "tok-000"):
        assert secret not in logged


def test_pull_now_answers_the_run_and_preview_fetches_a_sample(feeds_app, session, network, httpserver):
    vendor = network.vendor
    ids = variants(session, vendor, ["N1", "N2"])
    httpserver.expect_request("/now.csv").respond_with_data(csv({"N1": 3, "N2": 4}))
    feed = pull_feed(vendor, httpserver.url_for("/now.csv"))

    preview = vendor.api.post(f"{FEEDS}/{feed['id']}/preview").get_json()
    assert (preview["rows_valid"], preview["would_change"]) == (2, 2)
    assert quantities(session, ids) == {"N1": 0, "N2": 0}

    response = vendor.api.post(f"{FEEDS}/{feed['id']}/run")

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "applied"
    assert quantities(session, ids) == {"N1": 3, "N2": 4}
    upload_feed = vendor.api.post(FEEDS, json={"name": "u", "transport": "upload"}).get_json()
    assert vendor.api.post(f"{FEEDS}/{upload_feed['id']}/run").status_code == 409


def test_a_preview_of_an_unreachable_url_is_a_422_with_the_reason(feeds_app, network, httpserver):
    httpserver.expect_request("/gone.csv").respond_with_data("", status=404)
    feed = pull_feed(network.vendor, httpserver.url_for("/gone.csv"))

    response = network.vendor.api.post(f"{FEEDS}/{feed['id']}/preview")

    assert response.status_code == 422
    assert "HTTP 404" in response.get_json()["errors"]["url"][0]


# --- staleness when the URL keeps failing -------------------------------------------------------


def test_a_source_whose_url_keeps_failing_goes_stale_on_schedule_and_recovers(
    feeds_app, session, network, httpserver
):
    vendor, retailer = network.vendor, network.retailer
    ids = variants(session, vendor, ["STALE-1"])
    sku = make_item(session, retailer, [ids["STALE-1"]])
    server = {"up": True, "quantity": 5}

    def export(request: Request) -> Response:
        if not server["up"]:
            return Response("maintenance", status=503)
        return Response(csv({"STALE-1": server["quantity"]}))

    httpserver.expect_request("/s.csv").respond_with_handler(export)
    feed = pull_feed(vendor, httpserver.url_for("/s.csv"), interval_minutes=60)
    start = utcnow()
    pull_due_feeds(now=start)

    def shown(at: dt.datetime) -> tuple[int, bool]:
        session.rollback()
        (item,) = read_availability(session, retailer_id=retailer.id, skus=[sku], after_id=0, limit=1, now=at)
        return item.available, item.sources[0].stale

    def run_worker_until(end: dt.datetime) -> dt.datetime:
        """Run the worker's jobs at every moment a pull falls due, up to `end`."""
        moment = start
        while True:
            moment = max(moment, feed_row(session, feed["id"]).next_run_at)
            if moment > end:
                return moment
            pull_due_feeds(now=moment)
            feed_health(now=moment)

    server["up"] = False
    run_worker_until(start + dt.timedelta(hours=23))
    assert shown(start + dt.timedelta(hours=23)) == (5, False)
    assert events(session, "feed.stale") == []
    run_worker_until(start + dt.timedelta(hours=25))
    feed_health(now=start + dt.timedelta(hours=25))

    assert shown(start + dt.timedelta(hours=25)) == (
        0,
        True,
    )  # stale_after (24 h) passed: old stock no longer counts
    stale = events(session, "feed.stale")
    connected = [r.id for r in network.retailers]
    assert sorted(e.org_id for e in stale) == sorted([vendor.id] * len(connected) + connected)
    assert {r.status for r in runs(session, feed["id"])[1:]} == {"failed"}
    feed_health(now=start + dt.timedelta(hours=26))
    assert len(events(session, "feed.stale")) == len(stale)  # once per transition

    server.update(up=True, quantity=2)
    moment = feed_row(session, feed["id"]).next_run_at
    pull_due_feeds(now=moment)
    feed_health(now=moment)
    assert shown(moment) == (2, False)
    recovered = events(session, "feed.recovered")
    assert sorted(e.org_id for e in recovered) == sorted(e.org_id for e in stale)


# --- vendor files through the pull path: our fixtures, then the real third-party samples ----------

FIXTURE_FEEDS = [
    (
        "feeds/stock_negative_quantity.csv",
        {"mapping": {"quantity": "quantityOnStock"}},
        {"desk-lamp": 9, "CHAIR-7": 40, "pen-holder": 0},
    ),
    (
        "feeds/msi_stock_sources.csv",
        {"sum_duplicates": True, "decimal_quantities": "floor"},
        {"MUG-1": 6, "KETTLE-2": 42},
    ),
    (
        "feeds/prestashop_combinations_latin1.csv",
        {"delimiter": ";", "encoding": "latin-1", "mapping": {"sku": "Reference", "quantity": "Quantity"}},
        {"TEE-GRÜN-S": 5, "TASSE-WEIß": 2},
    ),
    (
        # FBA listings have a blank quantity: not zero, just not this seller's count to give.
        "feeds/amazon_open_listings.tsv",
        {"delimiter": "\t"},
        {"MX-KB-01": 12, "MX-CBL-USB": 140, "MX-KB-01-FBA": 0},
    ),
    ("x12/846_5010_minimal_qty33.edi", {"kind": "x12"}, {"NW-BOLT-M8": 360}),
    ("x12/846_4010_tilde_brace_bom.edi", {"kind": "x12", "mapping": {"sku": "MG"}}, {"7788990011": 640}),
]

SAMPLE_FEEDS = [
    (
        "supplier_feeds/commercetools_stock_import_negative_qty.csv",
        {"mapping": {"quantity": "quantityOnStock"}},
        {"foo": 9, "SKU-123": 42, "bar": 0},
    ),
    (
        "supplier_feeds/magento_msi_stock_sources.csv",
        {"sum_duplicates": True, "decimal_quantities": "floor"},
        {"SKU-1": 11, "SKU-2": 48},
    ),
    (
        "supplier_feeds/prestashop_combinations_import_semicolon.csv",
        {"delimiter": ";", "mapping": {"sku": "Reference", "quantity": "Quantity"}},
        {"RP-Nano-Blue-16GB": 10, "RP-Shuffle-Green": 12},
    ),
    (
        "amazon/open_listings_report_real_seller.tsv",
        {"delimiter": "\t"},
        {"OQ-5B1U-8LAN": 57, "edifier-b3": 224, "edifier-e10-fba": 0},
    ),
    ("x12/846_5010_x12types_minimal_qty33.edi", {"kind": "x12"}, {"ABC123": 100}),
    (
        "x12/846_4010_oopfactory_example1_tilde_brace.edi",
        {"kind": "x12", "mapping": {"sku": "MG"}},
        {"1234123232": 5250},
    ),
]


def pulled_quantities(session, vendor, httpserver, data: bytes, fmt: dict, skus) -> dict[str, int]:
    """Serve a vendor's file, let the worker pull it as a delta feed, and read the stock back."""
    ids = variants(session, vendor, skus)
    httpserver.expect_request("/export").respond_with_data(data)
    pull_feed(vendor, httpserver.url_for("/export"), mode="delta", format=fmt)

    (run,) = pull_due_feeds(now=utcnow())

    assert run.status in ("applied", "partially_applied"), run.message
    assert run.rows_applied + run.rows_rejected == run.rows_seen
    return quantities(session, ids)


@pytest.mark.parametrize(
    ("name", "fmt", "expected"), FIXTURE_FEEDS, ids=[f[0].split("/")[1] for f in FIXTURE_FEEDS]
)
def test_vendor_files_give_the_quantities_a_person_reading_them_expects(
    feeds_app, session, network, httpserver, name, fmt, expected
):
    got = pulled_quantities(session, network.vendor, httpserver, fixture(name), fmt, expected)

    assert got == expected


@pytest.mark.parametrize(
    ("name", "fmt", "expected"), SAMPLE_FEEDS, ids=[s[0].split("/")[1] for s in SAMPLE_FEEDS]
)
def test_real_sample_files_give_the_quantities_a_person_reading_them_expects(
    feeds_app, session, network, httpserver, name, fmt, expected
):
    got = pulled_quantities(session, network.vendor, httpserver, sample(name), fmt, expected)

    assert got == expected
