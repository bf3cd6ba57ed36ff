"""The suppression list as a whole: read it out, and take in one from elsewhere (another database, a list of
addresses that must not be mailed), stopping the readers it names."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from newsletter.addresses import address_hash
from newsletter.models import Status, Suppression
from newsletter.store.db import Database
from newsletter.store.subscribers import BOUNCE_REASONS, FORGET, outranks
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
        """Keep every one not kept yet, in one transaction (a known address keeps its reason, unless the new one
        outranks it); the readers they name are stopped, and those erased there are erased here. Returns how
        many were new and whom it stopped."""
        wanted: dict[str, Suppression] = {}
        for item in items:
            if item.email_hash not in wanted or outranks(item.reason, wanted[item.email_hash].reason):
                wanted[item.email_hash] = item
        with self.db.transaction() as session:
            kept = {row.email_hash: row for row in session.scalars(select(SuppressionRow))}
            new = 0
            for key, item in wanted.items():
                if key not in kept:
                    new += 1
                    domain = None if item.reason == FORGET else item.domain
                    session.add(
                        SuppressionRow(email_hash=key, reason=item.reason, domain=domain, created_at=item.created_at)
                    )
                elif outranks(item.reason, kept[key].reason):
                    kept[key].reason = item.reason
                    if item.reason == FORGET:
                        kept[key].domain = None
            stopped = []
            for row in session.scalars(select(SubscriberRow)):
                found = wanted.get(address_hash(row.email))
                if found is None:
                    continue
                if found.reason == FORGET:  # erased there: nothing of theirs stays here either
                    session.execute(delete(SubscriberRow).where(SubscriberRow.id == row.id))
                    stopped.append(f"{row.email} (erased)")
                elif Status(row.status) in STILL_MAILED:
                    if found.reason in BOUNCE_REASONS:
                        row.status = str(Status.BOUNCED)
                    else:
                        row.status, row.unsubscribed_at = str(Status.UNSUBSCRIBED), utcnow()
                    stopped.append(row.email)
            return new, stopped
