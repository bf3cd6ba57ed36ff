"""MIME assembly: multipart/alternative (text, then HTML) with the headers of DESIGN.md §6."""

from __future__ import annotations

from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from newsletter.config import Settings
from newsletter.models import Digest, Outgoing
from newsletter.render import Links, Renderer
from newsletter.tokens import Tokens


def header_safe(value: str) -> str:
    """No header value may carry CR or LF, whatever the input: fold them (and other controls) to spaces."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


def sender_domain(settings: Settings) -> str:
    return settings.sender.from_address.rpartition("@")[2]


def reader_links(settings: Settings, tokens: Tokens, subscriber_id: int) -> Links:
    base = settings.web.base_url.rstrip("/")
    return Links(
        unsubscribe=f"{base}/unsubscribe/{tokens.make('unsubscribe', subscriber_id)}",
        preferences=f"{base}/preferences/{tokens.make('preferences', subscriber_id)}",
    )


class Composer:
    """Turns a Digest into an Outgoing message; templates and keys are loaded once."""

    def __init__(self, settings: Settings, renderer: Renderer | None = None) -> None:
        self.settings = settings
        self.renderer = renderer or Renderer(settings)
        self.tokens = Tokens(settings.web.secret_key)

    def message_id(self, digest: Digest) -> str:
        return self.tokens.message_id(digest.issue_date, digest.subscriber.id, sender_domain(self.settings))

    def compose(self, digest: Digest, now: datetime | None = None) -> Outgoing:
        settings = self.settings
        subscriber = digest.subscriber
        links = reader_links(settings, self.tokens, subscriber.id)
        rendered = self.renderer.render(digest, links)
        sender = settings.sender
        message_id = self.message_id(digest)

        msg = EmailMessage(policy=SMTP)
        msg["From"] = Address(header_safe(sender.from_name), addr_spec=header_safe(sender.from_address))
        msg["To"] = Address(header_safe(subscriber.name), addr_spec=header_safe(subscriber.email))
        if sender.reply_to:
            msg["Reply-To"] = header_safe(sender.reply_to)
        msg["Subject"] = header_safe(rendered.subject)
        msg["Date"] = format_datetime(now or datetime.now(UTC))
        msg["Message-ID"] = message_id
        msg["List-Id"] = f"{header_safe(sender.from_name)} <digest.{sender_domain(settings)}>"
        unsubscribe_mail = sender.reply_to or sender.from_address
        msg["List-Unsubscribe"] = f"<{links.unsubscribe}>, <mailto:{header_safe(unsubscribe_mail)}?subject=unsubscribe>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
        msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
        return Outgoing(
            subscriber_id=subscriber.id,
            sender=sender.from_address,
            recipient=subscriber.email,
            subject=rendered.subject,
            message_id=message_id,
            html=rendered.html,
            text=rendered.text,
            data=msg.as_bytes(),
        )
