"""Many processes on one PostgreSQL (issue 20, DESIGN §11): no duplicates, nothing lost.

Two web processes (gunicorn) and three `flask hub worker` processes running every job share one
fresh schema, under a mixed load for a bounded time: a vendor pushing counts over the API (small
ones applied at once, the rest queued for the workers), two vendors' pull feeds served by a real
HTTP server, two retailers placing and cancelling orders, and webhooks to real receivers. One
worker is killed with SIGKILL mid-run and started again. Then, with every process stopped:

- every feed due was pulled once per due time: each response carries a new ETag, so a request
  carries the ETag of the pull recorded before it, and two pulls of one due time would carry the
  same one. The feed server's requests and the hub's runs agree, except at most one fetch the
  killed worker never recorded;
- every event in the outbox reached every endpoint that subscribed to it, and nothing else did;
  an event arrives twice only as a resend of the same delivery (the killed worker's unrecorded
  sends), never as two deliveries;
- every push was applied once, every order accepted once, and each new purchase order emailed
  to its vendor once by the three workers' notice jobs (through a real SMTP server), but for a
  claim the killed worker left (sent again when it expires, after this test);
- the books balance: committed = live purchase-order units for every variant.

Feeds every "minute" are due every FEED_MINUTE seconds (HUB_FEED_MINUTE_SECONDS) and the pull job
looks every second (HUB_JOB_PULL_DUE_FEEDS_SECONDS), so the window sees each feed due several times.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest
import requests
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from werkzeug.wrappers import Request, Response

from network.catalog.models import VendorVariant
from network.clock import utcnow
from network.db import transaction
from network.extensions import db
from network.feeds.models import Feed, FeedRun
from network.flags.models import NoticeClaim
from network.orders.models import Order
from network.outbox import webhooks
from network.outbox.models import DELIVERED, Delivery, Event, WebhookEndpoint
from network.outbox.rules import subscribes
from network.outbox.settings import WebhookSettings
from network.outbox.signing import SecretBox
from network.partners.audit import Actor
from network.stock.models import StockPosition
from tests.api.test_vendor_notices import Mailbox, vendor_user
from tests.builders import make_item, make_network, make_variant
from tests.domain.test_inflight_stateful import brute_force_committed
from tests.order_helpers import SHIP_TO, live_units
from tests.processes import free_port, gunicorn, start_worker, stop, wait_until
from tests.webhooks.conftest import WEBHOOK_CONFIG
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.postgres

LOAD_SECONDS = 12
KILL_AFTER = 5  # seconds into the load; the worker is started again a second later
FEED_MINUTE = 2  # seconds: a feed pulled every minute is due every 2 s
PULL_VENDORS, FEEDS_PER_VENDOR, SKUS_PER_FEED = 2, 3, 3
PUSH_SKUS = 6

ENV = {
    "HUB_WEBHOOK_ALLOW_HTTP_HOSTS": "127.0.0.1",
    "HUB_WEBHOOK_ALLOW_PRIVATE": "1",
    "HUB_WEBHOOK_TIMEOUT_SECONDS": "2",
    # Leases: the killed worker's endpoints and feeds come free within the run, while a live worker
    # slowed down by a busy machine keeps its own (or its send, its pull, would be made twice).
    "HUB_WEBHOOK_LEASE_SECONDS": "6",
    "HUB_FEED_ALLOWED_HOSTS": "localhost",
    "HUB_FEED_CONNECT_TIMEOUT": "2",
    "HUB_FEED_READ_TIMEOUT": "5",
    "HUB_FEED_TOTAL_TIMEOUT": "5",
    "HUB_FEED_RECORD_SECONDS": "6",  # a pull's lease: 2 + 5 + 6 = 13 s
    "HUB_FEED_MINUTE_SECONDS": str(FEED_MINUTE),
    "HUB_FEED_PULL_BATCH": "2",
    "HUB_JOB_PULL_DUE_FEEDS_SECONDS": "1",
    "HUB_JOB_APPLY_QUEUED_FEEDS_SECONDS": "1",
    "HUB_JOB_VENDOR_NOTICES_SECONDS": "1",
    # Feed health every second on each worker: the killed worker's feeds go quiet for their lease
    # (late after three of their learned 2 s intervals), and three checks overlap.
    "HUB_JOB_FEED_HEALTH_SECONDS": "1",
    "HUB_ASYNC_PUSH_BYTES": "60",  # pushes of more than a couple of rows are queued for the workers
}


@dataclass
class FeedServer:
    """The pull vendors' web server: a new file and ETag per request; what each request carried."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    # path -> [(If-None-Match sent, ETag served)], in arrival order
    requests: dict[str, list[tuple[str | None, str]]] = field(default_factory=lambda: defaultdict(list))
    skus: dict[str, list[str]] = field(default_factory=dict)

    def __call__(self, request: Request) -> Response:
        with self.lock:
            served = self.requests[request.path]
            n = len(served) + 1
            etag = f'"{request.path.strip("/").replace("/", "-")}-{n}"'
            served.append((request.headers.get("If-None-Match"), etag))
        rows = [f"{sku},{20 + (n * 7 + i) % 25}" for i, sku in enumerate(self.skus[request.path])]
        return Response(
            "sku,quantity\n" + "\n".join(rows) + "\n", headers={"ETag": etag}, mimetype="text/csv"
        )


@dataclass
class Load:
    base: str
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)
    pushes: Counter = field(default_factory=Counter)
    orders: list[tuple[int, int]] = field(default_factory=list)  # (retailer id, order id)
    refused: int = 0
    cancels: Counter = field(default_factory=Counter)
    killed_mid_transaction: bool = False
    # (what, time.monotonic()) at each step, printed with the figures
    steps: list[tuple[str, float]] = field(default_factory=list)

    def thread(self, target, *args) -> threading.Thread:
        def run() -> None:
            try:
                target(*args)
            except BaseException as exc:  # reported by the main thread
                self.errors.append(exc)
                self.stop.set()

        return threading.Thread(target=run, daemon=True)

    def pusher(self, token: str, skus: list[str]) -> None:
        rng = random.Random(1)
        with _session(token) as http:
            self._push(http, rng, skus)

    def _push(self, http: requests.Session, rng: random.Random, skus: list[str]) -> None:
        while not self.stop.wait(0.25):
            rows = rng.sample(skus, rng.choice([1, 1, len(skus)]))
            body = "sku,quantity\n" + "".join(f"{sku},{rng.randint(10, 40)}\n" for sku in rows)
            response = http.post(
                f"{self.base}/vendor-api/v1/inventory?mode=delta",
                data=body.encode(),
                headers={"Content-Type": "text/csv"},
                timeout=30,
            )
            assert response.status_code in (200, 202), response.text
            self.pushes[response.status_code] += 1

    def buyer(self, retailer_id: int, token: str, skus: list[str], seed: int) -> None:
        rng = random.Random(seed)
        with _session(token) as http:
            self._buy(http, rng, retailer_id, skus)

    def _buy(self, http: requests.Session, rng: random.Random, retailer_id: int, skus: list[str]) -> None:
        mine: list[int] = []
        while not self.stop.wait(0.15):
            if mine and rng.random() < 0.2:
                response = http.post(
                    f"{self.base}/api/v1/orders/{rng.choice(mine)}/cancel", json={}, timeout=30
                )
                assert response.status_code in (200, 409), response.text
                self.cancels[response.status_code] += 1
                continue
            body = {
                "reference": f"R-{uuid.uuid4().hex[:8]}",
                "lines": [{"retailer_sku": rng.choice(skus), "quantity": rng.randint(1, 3)}],
                "ship_to": SHIP_TO,
            }
            headers = {"Idempotency-Key": uuid.uuid4().hex}
            response = http.post(f"{self.base}/api/v1/orders", json=body, headers=headers, timeout=30)
            if response.status_code == 201:
                mine.append(response.json()["id"])
                self.orders.append((retailer_id, mine[-1]))
            else:
                assert response.status_code == 409, response.text  # short of stock
                self.refused += 1


def _session(token: str) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def _endpoint(org_id: int, receiver: Receiver, events: list[str]) -> None:
    with transaction(db.session):
        webhooks.create_endpoint(
            db.session,
            org_id=org_id,
            url=receiver.url,
            events=events,
            settings=WebhookSettings.from_config(WEBHOOK_CONFIG),
            box=SecretBox("test-secret"),
            actor=Actor(),
            now=utcnow(),
        )


def _undelivered(session) -> int:
    """Events some subscribed endpoint has no delivered delivery of (the fan-out included)."""
    session.expire_all()
    endpoints = session.scalars(sa.select(WebhookEndpoint)).all()
    missing = 0
    for endpoint in endpoints:
        delivered = set(
            session.scalars(
                sa.select(Delivery.event_id).where(
                    Delivery.endpoint_id == endpoint.id, Delivery.status == DELIVERED
                )
            )
        )
        for event_id, event_type in session.execute(
            sa.select(Event.id, Event.type).where(Event.org_id == endpoint.org_id)
        ):
            missing += subscribes(endpoint.events, event_type) and event_id not in delivered
    session.rollback()
    return missing


def test_many_processes_pull_once_deliver_everything_and_keep_the_books(
    pg_app, pg_schema_url, pg_admin_engine, httpserver, tmp_path
):
    pg_app.config.update(WEBHOOK_CONFIG, HUB_FEED_ALLOWED_HOSTS="localhost")
    session, client = db.session, pg_app.test_client()
    net = make_network(session, client, retailers=2, vendors=1 + PULL_VENDORS)
    pusher, pull_vendors = net.vendors[0], net.vendors[1:]

    # Endpoints first: every event from here on is owed to each endpoint that subscribes to it.
    receivers: dict[int, Receiver] = {}
    for retailer in net.retailers:
        for events in (["*"], ["order.*", "po.*"]):
            receivers[len(receivers)] = receiver = Receiver().start()
            _endpoint(retailer.id, receiver, events)
    receivers[len(receivers)] = receiver = Receiver().start()
    _endpoint(pusher.id, receiver, ["*"])
    # Vendors hear of new purchase orders by email (the vendor-notices job), from a real SMTP server.
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    addresses = {vendor.id: vendor_user(session, vendor) for vendor in net.vendors}
    env = {**ENV, "SMTP_URL": f"smtp://127.0.0.1:{smtp.port}"}
    try:
        _run(
            pg_admin_engine,
            pg_schema_url,
            env,
            httpserver,
            tmp_path,
            net,
            pusher,
            pull_vendors,
            receivers,
            mailbox,
            addresses,
        )
    finally:
        smtp.stop()
        for receiver in receivers.values():
            receiver.stop()


def _run(
    admin, pg_schema_url, env, httpserver, tmp_path, net, pusher, pull_vendors, receivers, mailbox, addresses
) -> None:
    session = db.session
    feeds = FeedServer()
    item_skus: list[str] = []
    push_skus = [f"PUSH-{i}" for i in range(PUSH_SKUS)]
    for sku in push_skus:
        item_skus.append(_sell(session, net, make_variant(session, pusher, sku)))
    feed_ids = []
    for v, vendor in enumerate(pull_vendors):
        for f in range(FEEDS_PER_VENDOR):
            path = f"/feeds/{v}/{f}.csv"
            feeds.skus[path] = [f"PULL-{v}-{f}-{i}" for i in range(SKUS_PER_FEED)]
            for sku in feeds.skus[path]:
                item_skus.append(_sell(session, net, make_variant(session, vendor, sku)))
            httpserver.expect_request(path).respond_with_handler(feeds)
            body = {
                "name": f"export {f}",
                "transport": "pull",
                "url": httpserver.url_for(path),
                "mode": "delta",
                "interval_minutes": 1,
            }
            response = vendor.api.post("/vendor-api/v1/feeds", json=body)
            assert response.status_code == 201, response.get_data(as_text=True)
            feed_ids.append((vendor, response.get_json()["id"], path))
    session.remove()

    load, started = None, time.monotonic()
    # The workers boot while gunicorn does.
    workers = [start_worker(pg_schema_url, tmp_path, env, f"worker{i}") for i in range(3)]
    try:
        with gunicorn(pg_schema_url, tmp_path, env, workers=2) as base:
            wait_until(lambda: _listening(admin) == 3, 60, "three workers listening for webhooks", every=0.25)
            load = Load(base, steps=[("set-up", started), ("boot", time.monotonic())])
            threads = [load.thread(load.pusher, pusher.api.headers["Authorization"][7:], push_skus)]
            threads += [
                load.thread(load.buyer, r.id, r.api.headers["Authorization"][7:], item_skus, seed)
                for seed, r in enumerate(net.retailers)
            ]
            for thread in threads:
                thread.start()
            started = time.monotonic()
            load.stop.wait(KILL_AFTER)
            load.killed_mid_transaction = _kill_mid_transaction(admin, workers[0], "worker0")
            load.stop.wait(1)
            workers[0] = start_worker(pg_schema_url, tmp_path, env, "worker0-restarted")
            load.stop.wait(max(0.0, LOAD_SECONDS - (time.monotonic() - started)))
            load.stop.set()
            for thread in threads:
                thread.join(30)
            assert not load.errors, load.errors[0]
            load_end = utcnow()
            load.steps.append(("load", time.monotonic()))

            # Every feed is pulled again after the load (those the killed worker held included),
            # then the vendors pause them: no pull after that but the ones already under way.
            def pulled_since_load() -> bool:
                session.expire_all()
                last = session.scalars(sa.select(Feed.last_run_at)).all()
                session.rollback()
                return all(at is not None and at > load_end for at in last)

            wait_until(pulled_since_load, 60, "every feed pulled after the load", every=0.25)
            for vendor, feed_id, _ in feed_ids:
                response = requests.patch(
                    f"{base}/vendor-api/v1/feeds/{feed_id}",
                    json={"active": False},
                    headers=vendor.api.headers,
                    timeout=30,
                )
                assert response.status_code == 200, response.text
            wait_until(lambda: _queued(session) == 0, 60, "every queued push applied", every=0.25)
            wait_until(
                lambda: _undelivered(session) == 0, 60, "every event delivered to every endpoint", every=0.5
            )
            wait_until(
                lambda: _unnoticed(session, mailbox, addresses) == 0,
                60,
                "every new purchase order emailed",
                every=0.5,
            )
            load.steps.append(("drain", time.monotonic()))
            stop(*workers, timeout=30)
    finally:
        stop(*workers, timeout=30)
    session.remove()
    load.steps.append(("stop", time.monotonic()))
    emails = _check_notices(session, mailbox, addresses)
    _check(session, feeds, feed_ids, load, receivers, emails)


def _listening(admin: sa.Engine) -> int:
    """How many worker processes are up: each dispatcher LISTENs on a connection of its own."""
    query = sa.text(
        "SELECT count(DISTINCT application_name) FROM pg_stat_activity"
        " WHERE application_name LIKE 'worker%' AND query LIKE 'LISTEN%'"
    )
    with admin.connect() as conn:
        return conn.execute(query).scalar()


def _kill_mid_transaction(admin: sa.Engine, worker, name: str) -> bool:
    """SIGKILL the worker, once one of its connections is inside a transaction if that comes within 3 s.

    Returns whether it was (the kill lands at a random moment otherwise: between jobs, mid-fetch).
    """
    busy = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"
        " AND state IN ('active', 'idle in transaction') AND query NOT LIKE 'LISTEN%'"
    )
    caught = False
    with admin.connect() as conn:
        deadline = time.monotonic() + 3
        while not caught and time.monotonic() < deadline:
            caught = bool(conn.execute(busy, {"name": name}).scalar())
            if not caught:
                time.sleep(0.005)
        os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    return caught


def _sell(session, net, variant_id: int) -> str:
    """Every retailer sells the variant as one item (one sku for all)."""
    sku = None
    for retailer in net.retailers:
        sku = make_item(session, retailer, [variant_id], sku=sku)
    return sku


def _unnoticed(session, mailbox: Mailbox, addresses: dict[int, str]) -> int:
    """New purchase orders whose vendor has no email about them yet and no sender holds a claim on."""
    session.expire_all()
    with mailbox.lock:
        emailed = {(m["To"], m["Subject"]) for m in mailbox.messages}
    held = set(session.scalars(sa.select(NoticeClaim.event_id).where(NoticeClaim.sent_at.is_(None))))
    waiting = sum(
        (addresses[event.org_id], _subject(event)) not in emailed and event.id not in held
        for event in session.scalars(sa.select(Event).where(Event.type == "po.created"))
    )
    session.rollback()
    return waiting


def _subject(po_created: Event) -> str:
    return f"New purchase order {po_created.data['purchase_order_id']}"


def _check_notices(session, mailbox: Mailbox, addresses: dict[int, str]) -> tuple[int, int]:
    """Each new purchase order emailed to its vendor once; none but the killed worker's claim unsent.

    A claim whose sender died is sent again when it expires (5 minutes, after this test): its
    notices may be missing, or have gone out once before the kill.
    """
    emailed = Counter((m["To"], m["Subject"]) for m in mailbox.messages)
    assert all(n == 1 for n in emailed.values()), [k for k, n in emailed.items() if n > 1]
    unsent = session.execute(
        sa.select(NoticeClaim.event_id, NoticeClaim.token).where(NoticeClaim.sent_at.is_(None))
    ).all()
    assert len({token for _, token in unsent}) <= 1, "only the killed worker's claim is left unsent"
    held = {event_id for event_id, _ in unsent}
    for event in session.scalars(sa.select(Event).where(Event.type == "po.created")):
        if event.id not in held:
            assert emailed[(addresses[event.org_id], _subject(event))] == 1, _subject(event)
    return len(emailed), len(held)


def _queued(session) -> int:
    session.expire_all()
    count = session.scalar(sa.select(sa.func.count()).where(FeedRun.status == "queued"))
    session.rollback()
    return count


def _check(session, feeds: FeedServer, feed_ids, load: Load, receivers: dict[int, Receiver], emails) -> None:
    # Feeds: once per due time, and the hub's runs agree with what the server saw.
    unrecorded = 0
    for _vendor, feed_id, path in feed_ids:
        seen = feeds.requests[path]
        runs = session.scalars(sa.select(FeedRun.status).where(FeedRun.feed_id == feed_id)).all()
        assert set(runs) == {"applied"}, (path, Counter(runs))
        assert len(runs) >= 2, f"{path}: pulled during the load and after it, {len(runs)} runs"
        unrecorded += len(seen) - len(runs)
        carried = Counter(sent for sent, _ in seen)
        repeated = sum(n - 1 for n in carried.values())
        assert repeated <= len(seen) - len(runs), f"{path}: one due time pulled twice: {seen}"
        feed = session.get(Feed, feed_id)
        assert feed.etag == seen[-1][1], "the feed keeps the validator of the last file it was sent"
    # At most the one fetch the killed worker had under way; nothing recorded that was not fetched.
    assert 0 <= unrecorded <= 1

    # A feed gone quiet is reported late once per silence (the silence: since its last success).
    late = Counter(
        (event.org_id, event.data["feed_id"], event.data["last_success_at"])
        for event in session.scalars(sa.select(Event).where(Event.type == "feed.late"))
    )
    assert all(n == 1 for n in late.values()), [k for k, n in late.items() if n > 1]

    # Pushes: each applied once (the queued ones by some worker), none left waiting.
    # (A push identical to the one before is recorded as not_modified.)
    pushed = Counter(session.scalars(sa.select(FeedRun.status).where(FeedRun.transport == "push")))
    assert set(pushed) <= {"applied", "not_modified"} and pushed.total() == sum(load.pushes.values())

    # Webhooks: the outbox, endpoint by endpoint, against what each receiver got.
    endpoints = session.scalars(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()
    by_url = {receiver.url: receiver for receiver in receivers.values()}
    resent = 0
    for endpoint in endpoints:
        owed = {
            str(event_id)
            for event_id, event_type in session.execute(
                sa.select(Event.id, Event.type).where(Event.org_id == endpoint.org_id)
            )
            if subscribes(endpoint.events, event_type)
        }
        got: dict[str, set[str]] = defaultdict(set)
        copies = Counter()
        for received in by_url[endpoint.url].received:
            got[received.json["id"]].add(received.delivery_id)
            copies[received.json["id"]] += 1
        assert set(got) == owed, f"endpoint {endpoint.id}: lost {owed - set(got)}, foreign {set(got) - owed}"
        # An event twice is a resend of its one delivery (same Dropnet-Delivery), never two deliveries.
        assert all(len(ids) == 1 for ids in got.values()), endpoint.id
        resent += sum(n - 1 for n in copies.values())
    # Only the killed worker's sends in flight are sent again: at most one per endpoint.
    assert resent <= len(endpoints)

    # Orders: each accepted once; the books balance for every variant.
    assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == len(load.orders)
    accepted = session.scalar(sa.select(sa.func.count()).where(Event.type == "order.accepted"))
    assert accepted == len(load.orders)
    for variant_id in session.scalars(sa.select(VendorVariant.id)):
        position = session.get(StockPosition, variant_id)
        assert position is not None, "every variant was stocked by a push or a pull"
        assert (
            position.committed
            == live_units(session, variant_id)
            == brute_force_committed(session, variant_id)
        )

    pulls = sum(len(feeds.requests[path]) for *_, path in feed_ids)
    deliveries = sum(len(r.received) for r in receivers.values())
    print(
        f"\nmany processes: {pulls} pulls of {len(feed_ids)} feeds, {sum(load.pushes.values())} pushes "
        f"({load.pushes[202]} queued), {len(load.orders)} orders ({load.refused} refused, "
        f"{load.cancels[200]} cancelled), {deliveries} webhook deliveries to {len(endpoints)} endpoints "
        f"({resent} resent), {unrecorded} fetch lost to the kill"
        f" (killed {'inside' if load.killed_mid_transaction else 'outside'} a transaction);"
        f" {emails[0]} purchase-order emails, {emails[1]} left with the killed worker's claim;"
        f" {len(late)} feed.late events\nseconds: "
        + ", ".join(f"{name} {at - before:.1f}" for (_, before), (name, at) in itertools.pairwise(load.steps))
    )
