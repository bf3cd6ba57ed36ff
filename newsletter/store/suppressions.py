"""The suppression list as a whole: read it out, and take in one from elsewhere (another database, a list of
addresses that must not be mailed), stopping the readers it names."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from newsletter.addresses import address_hash
from newsletter.models import Status, Suppression
from newsletter.store.db import Database
from newsletter.store.subscribers import BOUNCE_REASONS
from newsletter.store.tables import SubscriberRow, SuppressionRow, utcnow

# An address that bounced makes its reader bounced; every other reason (a complaint, an erasure, a list of
# addresses not to mail) stops the reader as an unsubscribe does.
STILL_MAILED = (Status.ACTIVE, Status.PAUSED, Status.PENDING)


class SuppressionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def kept(self) -> list[Suppression]:
        """Every suppressed address, oldest first."""
        query = select(SuppressionRow).order_by(SuppressionRow.created_at, SuppressionRow.email_hash)
        with self.db.transaction() as session:
            rows = session.scalars(query)
            return [Suppression(r.email_hash, r.reason, r.domain, r.created_at) for r in rows]

    def add_many(self, items: Sequence[Suppression]) -> tuple[int, list[str]]:
        """Keep every one not kept yet (a known address keeps its first reason), in one transaction; readers
        still mailed whose address is among them are stopped. Returns how many were new and whom it stopped."""
        with self.db.transaction() as session:
            known = set(session.scalars(select(SuppressionRow.email_hash)))
            new = {}
            for item in items:
                if item.email_hash not in known and item.email_hash not in new:
                    new[item.email_hash] = item
            session.add_all(
                SuppressionRow(email_hash=s.email_hash, reason=s.reason, domain=s.domain, created_at=s.created_at)
                for s in new.values()
            )
            wanted = {s.email_hash: s.reason for s in items}
            readers = session.scalars(
                select(SubscriberRow).where(SubscriberRow.status.in_([str(s) for s in STILL_MAILED]))
            )
            stopped = []
            for row in readers:
                reason = wanted.get(address_hash(row.email))
                if reason is None:
                    continue
                if reason in BOUNCE_REASONS:
                    row.status = str(Status.BOUNCED)
                else:
                    row.status, row.unsubscribed_at = str(Status.UNSUBSCRIBED), utcnow()
                stopped.append(row.email)
            return len(new), stopped
