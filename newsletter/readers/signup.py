"""Double opt-in sign-up: decide which mail a request earns (if any), within the daily limits, and word it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from newsletter.addresses import normalize_email
from newsletter.config import Settings
from newsletter.errors import InputError
from newsletter.models import Consent, Status, Subscriber, SubscriberChanges
from newsletter.readers import subscriptions
from newsletter.render import Notice
from newsletter.store import SubscriberStore

FORM_VERSION = "subscribe-1"
CONFIRM_FORM = "confirm-1"  # the consent of a reader coming back: their click on the confirmation link
LIMIT_WINDOW = timedelta(days=1)


class MailKind(StrEnum):
    CONFIRM = "confirm"  # a new, pending or unsubscribed address: a link that activates it
    MANAGE = "manage"  # already subscribed: a link to the preferences page, nothing changes


@dataclass(frozen=True)
class Outcome:
    """What to mail after a sign-up request; the page answers the same whatever it is (no enumeration)."""

    subscriber: Subscriber | None
    kind: MailKind | None


NOTHING = Outcome(None, None)


def request(
    settings: Settings, store: SubscriberStore, email: str, changes: SubscriberChanges, consent: Consent
) -> Outcome:
    """Record a sign-up request. InputError only for what the form itself got wrong (the address's syntax,
    a bad timezone), never for anything that depends on who is subscribed."""
    address = normalize_email(email)
    changes = subscriptions.validate_changes(changes)
    if store.is_suppressed(address):
        return NOTHING
    by_address, by_ip = store.signup_counts(address, consent.ip, consent.at - LIMIT_WINDOW)
    if by_address >= settings.web.confirm_per_address or by_ip >= settings.web.confirm_per_ip:
        return NOTHING
    store.record_signup(address, consent.ip)
    existing = store.get(address)
    if existing is None:
        try:
            added = subscriptions.add(
                settings, store, address, changes, status=Status.PENDING, source="web", consent=consent
            )
        except InputError:  # the same address sent twice at once: the first request mails it
            return NOTHING
        return Outcome(added, MailKind.CONFIRM)
    if existing.status is Status.PENDING:
        # Still unconfirmed: the latest form wins; nothing is sent to this reader until the link is opened.
        store.set_consent(address, consent, source="web")
        return Outcome(subscriptions.update(store, address, changes), MailKind.CONFIRM)
    if existing.status is Status.UNSUBSCRIBED:
        # Their preferences stay as they were until the owner of the address confirms (anyone may send this
        # form for any address); the confirmation records their consent, and they land on their preferences.
        return Outcome(existing, MailKind.CONFIRM)
    if existing.status in (Status.ACTIVE, Status.PAUSED):
        return Outcome(existing, MailKind.MANAGE)
    return NOTHING


def notice(settings: Settings, kind: MailKind, url: str) -> Notice:
    name = settings.sender.from_name
    footnote = f"Someone, hopefully you, asked for {name} at this address. If it was not you, ignore this mail."
    if kind is MailKind.CONFIRM:
        return Notice(
            subject=f"Confirm your subscription to {name}",
            heading="Confirm your subscription",
            lines=(
                f"Open the link below to start getting {name}: the new papers on your topics, picked for you.",
                "Nothing is sent until you confirm. The link works for 7 days.",
            ),
            action="Confirm my subscription",
            url=url,
            footnote=footnote + " You will get nothing more from us.",
        )
    return Notice(
        subject=f"Your {name} subscription",
        heading="You are already subscribed",
        lines=(
            f"This address already gets {name}.",
            "To change your topics, the send time or how often it comes, or to pause it, use the link below.",
        ),
        action="Edit my preferences",
        url=url,
        footnote=footnote + " Nothing has changed.",
    )
