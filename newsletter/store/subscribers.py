"""Subscribers, their preferences and the suppression list."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from newsletter.addresses import address_hash
from newsletter.errors import InputError
from newsletter.models import (
    STOPPED,
    Consent,
    Frequency,
    Preferences,
    Status,
    Subscriber,
    SubscriberChanges,
    Suppression,
)
from newsletter.readers.fields import LIST_FIELDS, SCALAR_FIELDS
from newsletter.store.db import Database
from newsletter.store.roster import KINDS, Roster, subscriber_from
from newsletter.store.tables import PreferenceRow, SignupRequestRow, SubscriberRow, SuppressionRow, utcnow

# The suppression reasons a bounce leaves: one hard bounce, or soft ones repeated (store/mail_events.py).
HARD_BOUNCE, SOFT_BOUNCES = "bounce", "soft bounces"
BOUNCE_REASONS = (HARD_BOUNCE, SOFT_BOUNCES)
FORGET = "forget"  # an erasure: nothing of the address is kept but its hash, and its reader is gone


def outranks(reason: str, kept: str) -> bool:
    """Whether a new suppression reason takes a kept one's place: a complaint or an erasure after a bounce
    (`resume` lifts a bounce, never those)."""
    return kept in BOUNCE_REASONS and reason not in BOUNCE_REASONS


class SubscriberStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.roster = Roster(db)

    def add(self, subscriber: Subscriber) -> Subscriber:
        """Insert a new subscriber; InputError if the address exists or is suppressed (unless the reader comes
        in stopped, from an import: bounced or unsubscribed, not erased). A bounced one is suppressed at once,
        as if it had bounced here."""
        with self.db.transaction() as session:
            self._refuse_suppressed(session, subscriber.email, subscriber.status)
            if session.scalar(select(SubscriberRow.id).where(SubscriberRow.email == subscriber.email)):
                raise InputError(f"subscriber {subscriber.email} already exists (use `subscribers update`)")
            row = SubscriberRow(
                email=subscriber.email,
                consent_source=subscriber.consent_source,
                **{f.name: f.kind.to_stored(getattr(subscriber, f.name)) for f in SCALAR_FIELDS},
            )
            self._change_status(row, subscriber.status, session)
            _set_consent(row, subscriber.consent)
            _set_preferences(row, subscriber.preferences)
            session.add(row)
            session.flush()
            return to_subscriber(row)

    def get(self, email: str) -> Subscriber | None:
        with self.db.transaction() as session:
            row = self._row(session, email)
            return to_subscriber(row) if row else None

    def require(self, email: str) -> Subscriber:
        found = self.get(email)
        if found is None:
            raise InputError(f"no subscriber {email}")
        return found

    def list(self, status: Status | None = None) -> list[Subscriber]:
        """Every subscriber (in this state), by id."""
        return self.roster.list(status)

    def by_ids(self, ids: Collection[int]) -> dict[int, Subscriber]:
        query = (
            select(SubscriberRow)
            .options(selectinload(SubscriberRow.preferences))
            .where(SubscriberRow.id.in_(list(ids)))
        )
        with self.db.transaction() as session:
            return {row.id: to_subscriber(row) for row in session.scalars(query)}

    def due(self, issue_date: date, batch_size: int = 1000) -> Iterator[builtins.list[Subscriber]]:
        """Active subscribers whose issue falls on this date (weekly readers on their weekday), in batches."""
        return self.roster.due(issue_date, batch_size)

    def active(self, batch_size: int = 1000) -> Iterator[builtins.list[Subscriber]]:
        """Every active subscriber, in batches."""
        return self.roster.active(batch_size)

    def send_slots(self) -> builtins.list[tuple[str, int, int | None, int]]:
        """(timezone, send hour, weekday of weekly readers or None, active readers): the buckets the send pass
        works through."""
        weekday = case((SubscriberRow.frequency == str(Frequency.WEEKLY), SubscriberRow.weekday), else_=None)
        query = (
            select(SubscriberRow.timezone, SubscriberRow.send_hour, weekday, func.count())
            .where(SubscriberRow.status == str(Status.ACTIVE))
            .group_by(SubscriberRow.timezone, SubscriberRow.send_hour, weekday)
            .order_by(SubscriberRow.timezone, SubscriberRow.send_hour)
        )
        with self.db.transaction() as session:
            return [(tz, hour, day, n) for tz, hour, day, n in session.execute(query)]

    def count_due(self, issue_date: date) -> int:
        query = select(func.count()).where(
            SubscriberRow.status == str(Status.ACTIVE),
            or_(SubscriberRow.frequency == str(Frequency.DAILY), SubscriberRow.weekday == issue_date.weekday()),
        )
        with self.db.transaction() as session:
            return session.scalar(query) or 0

    def update(self, email: str, changes: SubscriberChanges) -> Subscriber:
        with self.db.transaction() as session:
            row = self._require_row(session, email)
            for field in SCALAR_FIELDS:
                value = getattr(changes, field.name)
                if value is not None:
                    setattr(row, field.name, field.kind.to_stored(value))
            if changes.frequency is Frequency.DAILY:
                row.weekday = None
            current = to_subscriber(row).preferences
            given = {f.name: getattr(changes, f.name) for f in LIST_FIELDS if getattr(changes, f.name) is not None}
            wanted = replace(current, **given)
            if wanted != current:
                _set_preferences(row, wanted, session)
            if changes.status is not None and str(changes.status) != row.status:
                if changes.status not in (Status.UNSUBSCRIBED, Status.BOUNCED):
                    self._refuse_suppressed(session, row.email)
                self._change_status(row, changes.status, session)
            session.flush()
            return to_subscriber(row)

    def set_status(self, email: str, status: Status) -> Subscriber:
        with self.db.transaction() as session:
            row = self._require_row(session, email)
            self._change_status(row, status, session)
            session.flush()
            return to_subscriber(row)

    def confirm(self, subscriber_id: int, issued_at: datetime, returning: Consent | None = None) -> Subscriber | None:
        """Activate a web sign-up (or a re-subscription) for a confirmation link made at `issued_at`; None
        when the link may not (Subscriber.confirmable). Setting confirmed_at records the use: the same link
        never works twice. A reader coming back (unsubscribed) gets `returning` as their record of consent,
        from the web, in the same transaction."""
        with self.db.transaction() as session:
            row = session.get(SubscriberRow, subscriber_id, with_for_update=True)
            if row is None or not to_subscriber(row).confirmable(issued_at):
                return None
            if session.get(SuppressionRow, address_hash(row.email)) is not None:
                return None
            if returning is not None and row.status == str(Status.UNSUBSCRIBED):
                row.consent_source = "web"
                _set_consent(row, returning)
            row.status, row.unsubscribed_at, row.confirmed_at = str(Status.ACTIVE), None, utcnow()
            session.flush()
            return to_subscriber(row)

    def set_consent(self, email: str, consent: Consent, source: str) -> None:
        """A new record of consent, from `source` ("web"): the form the reader is about to confirm."""
        with self.db.transaction() as session:
            row = self._require_row(session, email)
            row.consent_source = source
            _set_consent(row, consent)

    def signup_counts(self, email: str, ip: str | None, since: datetime) -> tuple[int, int]:
        """Confirmation mails asked for since `since`: for this address, and from this client IP."""
        recent = select(func.count()).select_from(SignupRequestRow).where(SignupRequestRow.created_at >= since)
        with self.db.transaction() as session:
            by_address = session.scalar(recent.where(SignupRequestRow.email_hash == address_hash(email))) or 0
            by_ip = (session.scalar(recent.where(SignupRequestRow.ip == ip)) or 0) if ip else 0
            return by_address, by_ip

    def record_signup(self, email: str, ip: str | None) -> None:
        with self.db.transaction() as session:
            session.add(SignupRequestRow(email_hash=address_hash(email), ip=ip))

    def add_feedback(self, email: str, paper_id: str, liked: bool) -> Subscriber:
        """Record a like or dislike; the opposite one for the same paper is dropped."""
        kind, opposite = ("like", "dislike") if liked else ("dislike", "like")
        with self.db.transaction() as session:
            row = self._require_row(session, email)
            row.preferences = [p for p in row.preferences if not (p.kind == opposite and p.value == paper_id)]
            if not any(p.kind == kind and p.value == paper_id for p in row.preferences):
                row.preferences.append(PreferenceRow(kind=kind, value=paper_id, position=len(row.preferences)))
            session.flush()
            return to_subscriber(row)

    def suppress(self, email: str, reason: str, session: Session | None = None) -> None:
        if session is None:
            with self.db.transaction() as own:
                self.suppress(email, reason, own)
            return
        key = address_hash(email)
        # The domain feeds the deliverability counts.
        _keep(
            session,
            Suppression(key, reason, email.rpartition("@")[2].lower(), utcnow()),
            session.get(SuppressionRow, key),
        )

    def suppressions(self) -> builtins.list[Suppression]:
        """Every suppressed address, oldest first."""
        query = select(SuppressionRow).order_by(SuppressionRow.created_at, SuppressionRow.email_hash)
        with self.db.transaction() as session:
            return [Suppression(r.email_hash, r.reason, r.domain, r.created_at) for r in session.scalars(query)]

    def add_suppressions(self, items: Sequence[Suppression]) -> tuple[int, builtins.list[str]]:
        """A suppression list from elsewhere (another database, addresses not to mail), in one transaction:
        each kept as `suppress` keeps one, and the readers it names stopped (erased for an erasure). Returns how
        many were new and whom it stopped."""
        wanted: dict[str, Suppression] = {}
        for item in items:
            if item.email_hash not in wanted or outranks(item.reason, wanted[item.email_hash].reason):
                wanted[item.email_hash] = item
        with self.db.transaction() as session:
            kept = {row.email_hash: row for row in session.scalars(select(SuppressionRow))}  # one query, not one each
            new = sum(_keep(session, item, kept.get(key)) for key, item in wanted.items())
            stopped = []
            for row in session.scalars(select(SubscriberRow)):
                found = wanted.get(address_hash(row.email))
                if found is None:
                    continue
                if found.reason == FORGET:  # erased there: nothing of theirs stays here either
                    session.execute(delete(SubscriberRow).where(SubscriberRow.id == row.id))
                    stopped.append(f"{row.email} (erased)")
                elif Status(row.status) not in STOPPED:
                    self._change_status(
                        row, Status.BOUNCED if found.reason in BOUNCE_REASONS else Status.UNSUBSCRIBED, session
                    )
                    stopped.append(row.email)
            return new, stopped

    def _change_status(self, row: SubscriberRow, status: Status, session: Session) -> None:
        """Set the status and what goes with it: a bounced address is suppressed as well."""
        if status is Status.BOUNCED:
            self.mark_bounced(row, HARD_BOUNCE, session)
            return
        if status is Status.ACTIVE:
            # A suppressed address (hard bounce, spam complaint) is never mailed again, whoever asks.
            self._refuse_suppressed(session, row.email)
        row.status = str(status)
        if status is Status.UNSUBSCRIBED:
            row.unsubscribed_at = utcnow()
        elif status is Status.ACTIVE:
            row.unsubscribed_at = None
            row.confirmed_at = row.confirmed_at or utcnow()

    def unbounce(self, email: str) -> Subscriber:
        """A bounced reader active again on an operator's word (the mailbox works again): the bounce's
        suppression goes with it. One suppressed for another reason (a complaint) stays as it is."""
        with self.db.transaction() as session:
            row = self._require_row(session, email)
            found = session.get(SuppressionRow, address_hash(row.email))
            if found is not None and found.reason in BOUNCE_REASONS:
                session.delete(found)
                session.flush()
            self._change_status(row, Status.ACTIVE, session)
            session.flush()
            return to_subscriber(row)

    def mark_bounced(self, row: SubscriberRow, reason: str, session: Session) -> None:
        """The reader's address does not take mail: never mailed again (a hard bounce, repeated soft ones)."""
        row.status = str(Status.BOUNCED)
        self.suppress(row.email, reason, session)

    def forget(self, email: str) -> None:
        """Erase the subscriber and everything kept about them; only a hash stays, so they are never mailed."""
        with self.db.transaction() as session:
            row = self._require_row(session, email)
            self.suppress(email, FORGET, session)
            session.execute(delete(SubscriberRow).where(SubscriberRow.id == row.id))

    def is_suppressed(self, email: str) -> str | None:
        with self.db.transaction() as session:
            found = session.get(SuppressionRow, address_hash(email))
            return found.reason if found else None

    @staticmethod
    def _row(session: Session, email: str) -> SubscriberRow | None:
        return session.scalar(
            select(SubscriberRow).options(selectinload(SubscriberRow.preferences)).where(SubscriberRow.email == email)
        )

    def _require_row(self, session: Session, email: str) -> SubscriberRow:
        row = self._row(session, email)
        if row is None:
            raise InputError(f"no subscriber {email}")
        return row

    @staticmethod
    def _refuse_suppressed(session: Session, email: str, status: Status = Status.ACTIVE) -> None:
        """InputError if the address is suppressed and the reader would be mailed (or was erased: nothing of
        theirs comes back, not even a stopped record)."""
        found = session.get(SuppressionRow, address_hash(email))
        stopped = status in STOPPED and found is not None and found.reason != FORGET
        if found is not None and not stopped:
            raise InputError(f"address {email} is suppressed ({found.reason}) and will not be mailed again")


def _set_preferences(row: SubscriberRow, prefs: Preferences, session: Session | None = None) -> None:
    if session is not None and row.preferences:
        # Deleting first keeps the (subscriber, kind, value) unique constraint happy when items are re-added.
        row.preferences.clear()
        session.flush()
    position = 0
    for kind, attr in KINDS.items():
        for value in dict.fromkeys(getattr(prefs, attr)):
            row.preferences.append(PreferenceRow(kind=kind, value=value, position=position))
            position += 1


def to_subscriber(row: SubscriberRow) -> Subscriber:
    return subscriber_from(row, [(p.kind, p.value) for p in row.preferences])


def _set_consent(row: SubscriberRow, consent: Consent | None) -> None:
    if consent is not None:
        row.consent_at, row.consent_ip = consent.at, consent.ip
        row.consent_user_agent, row.consent_form = consent.user_agent[:300], consent.form


def _keep(session: Session, item: Suppression, found: SuppressionRow | None) -> bool:
    """Keep a suppression (`found`: the one kept for its address, if any), which stays unless this one outranks
    it; an erasure keeps nothing of the address but its hash. True when it is new."""
    domain = None if item.reason == FORGET else item.domain
    if found is None:
        session.add(
            SuppressionRow(email_hash=item.email_hash, reason=item.reason, domain=domain, created_at=item.created_at)
        )
        return True
    if outranks(item.reason, found.reason):
        found.reason = item.reason
        if item.reason == FORGET:
            found.domain = None
    return False
