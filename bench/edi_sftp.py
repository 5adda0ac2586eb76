"""EDI over SFTP: purchase orders out as 850s, ship notices in as 856s, against a real OpenSSH sshd.

    python bench/edi_sftp.py [--orders 1000] [--lines 2] [--backend sqlite|postgres]

Set-up (not measured): a scratch hub database with one retailer, one EDI vendor (its trading
partner pointing at an sshd started on 127.0.0.1 as tests do, tests/trading/sshd.py), N placed
orders of `--lines` lines each, every order's purchase order waiting for its 850.

Measured, each next to a plain SFTP transfer of the same bytes over one connection in the same run:
- out: the worker's round writing N 850s (control numbers, kept raw) and pushing them (dot-name,
  rename), vs a plain put of the same N files;
- in: N 856s dropped in the vendor's outbound folder, the round taking each (two looks, read,
  processed: shipment through the order services, 997 written), archiving it and pushing the N
  997s, vs a plain get of the same N files.
Rows are purchase-order lines (850) and shipped item lines (856).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import sys
import tempfile
import time
from pathlib import Path

import common
import sqlalchemy as sa

sys.path.insert(0, str(common.ROOT))

from network.clock import utcnow  # noqa: E402
from network.db import transaction  # noqa: E402
from network.extensions import db  # noqa: E402
from network.feeds.pull import PullSettings  # noqa: E402
from network.feeds.sftp import Mailbox, connect  # noqa: E402
from network.orders.placement import LineInput, place_order  # noqa: E402
from network.trading import mailbox, partners  # noqa: E402
from network.trading.models import EdiFile, EdiPurchaseOrder  # noqa: E402
from tests.trading.helpers import asn_856  # noqa: E402
from tests.trading.sshd import sshd_server  # noqa: E402

SHIP_TO = {
    "name": "Bench Buyer",
    "address1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def seed(app, server, orders: int, lines: int) -> None:
    now = utcnow()
    with app.app_context():
        session = db.session
        retailer = common.make_party(session, kind="retailer", name="Bench retailer", now=now)
        vendor = common.make_party(session, kind="vendor", name="Bench EDI vendor", now=now)
        common.connect(session, retailer, vendor, now=now)
        skus = [f"EDI-{i}" for i in range(lines)]
        ids = common.bulk_variants(
            session, vendor_id=vendor.id, skus=skus, now=now, quantity=10 * orders, as_of=now
        )
        common.bulk_items(session, retailer_id=retailer.id, items=[(s, [ids[s]]) for s in skus], now=now)
        with transaction(session):
            partners.configure(
                session,
                vendor_id=vendor.id,
                values={
                    "isa_qualifier": "ZZ",
                    "isa_id": "ACMEVENDOR",
                    "transport": {
                        "host": "127.0.0.1",
                        "port": server.port,
                        "username": server.username,
                        "credentials": {"private_key": server.private_key},
                    },
                },
                credentials=mailbox.MailboxSettings.from_config(app.config).credentials,
                hub=partners.HubIds(),
                pull_settings=PullSettings(allow_private=True),
                now=now,
            )
        for start in range(0, orders, 200):
            with transaction(session):
                for n in range(start, min(orders, start + 200)):
                    place_order(
                        session,
                        retailer_id=retailer.id,
                        reference=f"B-{n}",
                        lines=[LineInput(s, 1) for s in skus],
                        ship_to=SHIP_TO,
                        now=utcnow(),
                    )


def plain(server, put: list[tuple[str, bytes]] | None = None, get: str | None = None) -> float:
    """Seconds for a plain put of files into in-plain/, or get of every file in `get`, one connection."""
    settings = PullSettings(allow_private=True)
    with connect(
        Mailbox("127.0.0.1", server.port, server.username, {"private_key": server.private_key}), settings
    ) as conn:
        started = time.perf_counter()
        if put is not None:
            for name, data in put:
                conn.sftp.putfo(io.BytesIO(data), f"in-plain/{name}")
        else:
            for name in conn.sftp.listdir(get):
                with conn.sftp.open(f"{get}/{name}", "rb") as handle:
                    handle.read()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=2)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    scratch = common.scratch_postgres if args.backend == "postgres" else common.scratch_sqlite
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(scratch("edi"))
        instance = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        servers = sshd_server(instance)
        server = next(servers)
        stack.callback(lambda: next(servers, None))
        app = common.build_hub(url, instance)
        app.config.update(HUB_FEED_ALLOW_PRIVATE=True, HUB_SFTP_SETTLE_SECONDS=0)
        t0 = time.perf_counter()
        seed(app, server, args.orders, args.lines)
        print(f"set-up: {args.orders} orders placed in {time.perf_counter() - t0:.1f} s", flush=True)
        server.folder("in-plain")
        rows = []
        with app.app_context():
            started = time.perf_counter()
            [out] = mailbox.exchange_due(db.session, app.config)
            took = time.perf_counter() - started
            assert out.error is None and len(out.pushed) == args.orders, out.error
            pushed = [(p.name, p.read_bytes()) for p in sorted((server.root / "in").iterdir())]
            baseline = plain(server, put=pushed)
            size = sum(len(d) for _, d in pushed)
            rows += [
                common.Row(
                    "850 out: write + push, files",
                    args.orders / took,
                    "files/s",
                    args.orders / baseline,
                    f"{common.megabytes(size)}; ceiling: plain SFTP put of the same files",
                ),
                common.Row(
                    "850 out: rows (PO lines)",
                    args.orders * args.lines / took,
                    "rows/s",
                    args.orders * args.lines / baseline,
                ),
            ]
            sent = db.session.execute(sa.select(EdiPurchaseOrder.po_id)).scalars().all()
            db.session.commit()
            out_dir = server.root / "out"
            for po_id in sent:
                (out_dir / f"asn_{po_id:06d}.edi").write_bytes(
                    asn_856(po_id, f"1Z{po_id:08d}", *[(n, 1) for n in range(1, args.lines + 1)])
                )
            size = sum(p.stat().st_size for p in out_dir.iterdir())
            baseline = plain(server, get="out")
            started = time.perf_counter()
            # An hour on: the partner's next poll is due (its files are not looked at before).
            [got] = mailbox.exchange_due(db.session, app.config, now=utcnow() + dt.timedelta(hours=1))
            took = time.perf_counter() - started
            assert got.error is None and len(got.taken) == args.orders, got.error
            applied = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(EdiFile)
                .where(EdiFile.direction == "in", EdiFile.status == "applied")
            )
            assert applied == args.orders
            rows += [
                common.Row(
                    "856 in: take + apply + 997 out, files",
                    args.orders / took,
                    "files/s",
                    args.orders / baseline,
                    f"{common.megabytes(size)}; ceiling: plain SFTP get of the same files",
                ),
                common.Row(
                    "856 in: rows (item lines shipped)",
                    args.orders * args.lines / took,
                    "rows/s",
                    args.orders * args.lines / baseline,
                ),
            ]
        common.print_table(
            f"EDI over SFTP, {args.orders} orders x {args.lines} lines, {args.backend} ({common.machine()})",
            rows,
        )


if __name__ == "__main__":
    main()
