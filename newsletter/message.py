"""MIME assembly: multipart/alternative (text, then HTML), a digest's headers (List-Unsubscribe too), DKIM."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path

from newsletter.addresses import on_the_wire
from newsletter.config import Settings
from newsletter.errors import ConfigError
from newsletter.links import list_unsubscribe, reader_links
from newsletter.mime import assemble, mailbox
from newsletter.models import Digest, Outgoing, Subscriber
from newsletter.render import Notice, Rendered, Renderer
from newsletter.tokens import Tokens
from newsletter.verp import MailAddresses


def header_safe(value: str) -> str:
    """No header value may carry CR or LF, whatever the input: fold them (and other controls) to spaces."""
    if not value.isprintable():  # rare: only then look at each character
        value = "".join(ch if ch.isprintable() else " " for ch in value)
    return " ".join(value.split())


def feedback_id(settings: Settings, digest: Digest) -> str:
    """Gmail's Feedback-ID, "issue:kind:list:sender" (complaint rates are reported per field): what was sent
    and to which kind of reader, never who (validated config and enum values: no colon, space or line break)."""
    fields = (f"{digest.issue_date:%Y%m%d}", str(digest.subscriber.frequency))
    return ":".join((*fields, settings.sender.list_identifier, settings.sender.feedback_sender_id))


SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"feedback-id",
    b"mime-version",
    b"content-type",
)


class Composer:
    """Turns a Digest into an Outgoing message; templates and keys are loaded once."""

    def __init__(self, settings: Settings, renderer: Renderer | None = None) -> None:
        self.settings = settings
        self.renderer = renderer or Renderer(settings)
        self.tokens = Tokens(settings.web.secret_key)
        self.addresses = MailAddresses(settings)
        self.dkim_key = _dkim_key(settings) if settings.dkim.enabled else None

    def _sign(self, data: bytes) -> bytes:
        """Prepend a DKIM-Signature over an explicit header list (dkimpy's default omits
        List-Unsubscribe-Post)."""
        assert self.dkim_key is not None
        import dkim  # only a signing sender loads it (and its DNS resolver)

        dkim_settings = self.settings.dkim
        domain = dkim_settings.domain or self.settings.sender.domain
        signature: bytes = dkim.sign(
            data,
            dkim_settings.selector.encode(),
            domain.encode(),
            self.dkim_key,
            include_headers=list(SIGNED_HEADERS),
            linesep=b"\r\n",
        )
        return signature + data

    def message_id(self, digest: Digest) -> str:
        return self.tokens.message_id(digest.issue_date, digest.subscriber.id, self.settings.sender.domain)

    def compose(self, digest: Digest, now: datetime | None = None) -> Outgoing:
        settings = self.settings
        subscriber = digest.subscriber
        links = reader_links(settings, self.tokens, subscriber)
        rendered = self.renderer.render(digest, links)
        sender = settings.sender
        message_id = self.message_id(digest)

        unsubscribe_mail = header_safe(self.addresses.unsubscribe_address(subscriber.id))
        list_headers = [
            ("List-Id", mailbox(header_safe(sender.from_name), sender.list_identifier)),
            ("List-Unsubscribe", header_safe(list_unsubscribe(links, unsubscribe_mail))),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("Feedback-ID", feedback_id(settings, digest)),
        ]
        # The envelope sender names this delivery: a late bounce is attributed without quoting anything.
        envelope = self.addresses.return_path(subscriber.id, digest.issue_date)
        return self._message(subscriber, rendered, message_id, list_headers, now, envelope)

    def compose_notice(self, subscriber: Subscriber, notice: Notice, now: datetime | None = None) -> Outgoing:
        """A one-off mail (a sign-up confirmation): not a list message, so no List-* headers."""
        message_id = make_msgid(domain=self.settings.sender.domain)
        rendered = self.renderer.render_notice(notice)
        return self._message(subscriber, rendered, message_id, [], now, self.settings.sender.from_address)

    def _message(
        self,
        subscriber: Subscriber,
        rendered: Rendered,
        message_id: str,
        extra: list[tuple[str, str]],
        now: datetime | None,
        envelope: str,
    ) -> Outgoing:
        sender = self.settings.sender
        recipient = on_the_wire(subscriber.email)
        headers = [
            ("From", mailbox(header_safe(sender.from_name), header_safe(sender.from_address))),
            ("To", mailbox(header_safe(subscriber.name), header_safe(recipient))),
            *([("Reply-To", header_safe(sender.reply_to))] if sender.reply_to else []),
            ("Subject", header_safe(rendered.subject)),
            ("Date", format_datetime(now or datetime.now(UTC))),
            ("Message-ID", message_id),
            *extra,
        ]
        # DKIM-signed mail goes as QP: a relay that downgrades 8bit would break the signature (RFC 6376 5.3).
        eight_bit = self.dkim_key is None
        data = assemble(headers, rendered.text, rendered.html, boundary_seed=message_id, eight_bit=eight_bit)
        if self.dkim_key is not None:
            data = self._sign(data)
        return Outgoing(
            subscriber_id=subscriber.id,
            sender=header_safe(envelope),
            recipient=recipient,
            subject=rendered.subject,
            message_id=message_id,
            html=rendered.html,
            text=rendered.text,
            data=data,
        )


def _dkim_key(settings: Settings) -> bytes:
    try:
        return Path(settings.dkim.private_key_file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"'dkim.private_key_file' {settings.dkim.private_key_file}: {exc.strerror}") from None
