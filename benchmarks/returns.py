"""Returned mail: reading 2,000 bounces, complaints and mailto: unsubscribes (the shapes of tests/data/bounces,
filled with real return paths and Message-IDs of 2,000 deliveries) alone vs reading, attributing and
recording them (`bounces import`). Interleaved rounds on SQLite and, when it answers, PostgreSQL; min and
median printed.
"""

from __future__ import annotations

import logging
import statistics
import time
from datetime import date

import sqlalchemy as sa

from benchmarks.ingest import ROOT, databases
from newsletter.config import Settings
from newsletter.pipeline import RECORD_BATCH
from newsletter.returns import bounces
from newsletter.returns.returned_mail import ReturnedMail
from newsletter.store import Database, DeliverabilityStats, MailEventStore
from newsletter.store.tables import DeliveryRow, SubscriberRow, utcnow
from newsletter.verp import MailAddresses

MESSAGES = 2_000
ROUNDS = 3
ISSUE = date(2026, 11, 24)
SHAPES = (
    "postfix-hard.eml",
    "postfix-hard-no-quote.eml",
    "gmail-hard.eml",
    "exim-hard.eml",
    "yahoo-hard.eml",
    "postfix-soft.eml",
    "arf-generic.eml",
    "mailto-unsubscribe.eml",
    "forged-dsn.eml",
)


def settings(url: str) -> Settings:
    return Settings().replace(database={"url": url}, web={"secret_key": "bench-secret-of-the-benchmarks"})


def messages(config: Settings) -> list[bytes]:
    addresses = MailAddresses(config)
    samples = {name: (ROOT / "tests" / "data" / "bounces" / name).read_bytes() for name in SHAPES}
    found = []
    for i in range(1, MESSAGES + 1):
        email = f"r{i:06d}@example{i % 7}.com"
        values = {
            "RETURN_PATH": addresses.return_path(i, ISSUE),
            "RECIPIENT": email,
            "DOMAIN": email.rpartition("@")[2],
            "MESSAGE_ID": f"<{ISSUE:%Y%m%d}.{i:032x}@example.com>",
            "UNSUBSCRIBE": addresses.unsubscribe_address(i),
        }
        data = samples[SHAPES[i % len(SHAPES)]]
        for key, value in values.items():
            data = data.replace(f"@@{key}@@".encode(), value.encode())
        found.append(data)
    return found


def fill(db: Database) -> None:
    now = utcnow()
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(SubscriberRow.__table__),
            [
                {
                    "id": i,
                    "email": f"r{i:06d}@example{i % 7}.com",
                    "name": "",
                    "status": "active",
                    "timezone": "UTC",
                    "send_hour": 7,
                    "frequency": "daily",
                    "max_items": 10,
                    "consent_source": "cli",
                    "created_at": now,
                }
                for i in range(1, MESSAGES + 1)
            ],
        )
        conn.execute(
            sa.insert(DeliveryRow.__table__),
            [
                {
                    "subscriber_id": i,
                    "issue_date": ISSUE,
                    "state": "sent",
                    "attempts": 1,
                    "message_id": f"<{ISSUE:%Y%m%d}.{i:032x}@example.com>",
                    "sent_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1, MESSAGES + 1)
            ],
        )


def main() -> None:
    # Every round passes the issue limits on purpose (most of these mails are bounces): no warning lines.
    logging.getLogger("newsletter.returns.returned_mail").setLevel(logging.ERROR)
    print(f"\n== returned mail: {MESSAGES} reports read alone vs read, attributed and recorded ==")
    for label, make in databases():
        parse_times, import_times = [], []
        summary = None
        for _ in range(ROUNDS):
            url, cleanup = make()
            config = settings(url)
            db = Database(url, str(ROOT / "migrations"))
            db.upgrade()
            fill(db)
            data = messages(config)
            started = time.perf_counter()
            for n, raw in enumerate(data):
                bounces.parse(raw, str(n))
            parse_times.append(time.perf_counter() - started)
            handler = ReturnedMail(config, MailEventStore(db), DeliverabilityStats(db), batch=RECORD_BATCH)
            started = time.perf_counter()
            for n, raw in enumerate(data):
                handler.handle(str(n), raw)
            summary = handler.finish()
            import_times.append(time.perf_counter() - started)
            db.dispose()
            cleanup()
        ratios = [i / p for i, p in zip(import_times, parse_times, strict=True)]
        rate = [MESSAGES / t for t in import_times]
        print(
            f"{label}: parse alone {min(parse_times):.2f}s min / {statistics.median(parse_times):.2f}s median; "
            f"import {min(import_times):.2f}s / {statistics.median(import_times):.2f}s "
            f"({max(rate):.0f} / {statistics.median(rate):.0f} msg/s); import / parse {min(ratios):.1f}x min, "
            f"{statistics.median(ratios):.1f}x median"
        )
        assert summary is not None
        print(f"  last round: {summary.line()}")


if __name__ == "__main__":
    main()
