"""Mail that comes back, read: delivery reports, complaints and List-Unsubscribe mails.

Delivery reports (RFC 3464, and servers' own formats through flufl.bounce), complaints (ARF, RFC 5965) and mails to
the List-Unsubscribe mailto: address.

Pure parsing, no database: each message becomes a Report carrying what could prove it answers one of our
messages (the addresses it was sent to, quoted Message-IDs and return paths); newsletter.returns.returned_mail
decides whether it does. Reads .eml files, folders of them, maildirs and mbox files.
"""

from __future__ import annotations

import hashlib
import logging
import mailbox
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from flufl.bounce import all_failures

from newsletter.errors import InputError

# flufl.bounce logs each heuristic that falls over on odd mail (no From:, not mail at all) as an ERROR with a
# traceback, a screenful per message of a maildir: such mail is read as no bounce here (see parse).
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)

DSN, ARF, BOUNCE, MAIL = "dsn", "arf", "bounce", "mail"  # BOUNCE: a server's own format; MAIL: anything else
# Where a report names the address it was delivered to (a return path or the unsubscribe address).
RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To")
# A mailbox full (X.2.2) is worth trying again later: like SMTP's 552, a soft bounce even when it says 5.
# So is a security or policy refusal (X.7.X: a filter or a relay refused the message, which says nothing of
# the address): soft, so that only repeated ones suppress the reader.
SOFT_STATUSES = ("5.2.2",)
POLICY_CLASS = "5.7."
# "not-spam" (RFC 6650) reports that a message was wrongly filed as spam: no complaint.
NOT_COMPLAINTS = ("not-spam",)
_MESSAGE_ID = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Bounce:
    recipient: str
    status: str
    diagnostic: str
    severity: str  # "hard", "soft" or "delayed"


@dataclass(frozen=True)
class Report:
    source: str
    key: str  # a hash of the whole message: the same message read twice counts once
    kind: str
    date: datetime | None = None
    addressed_to: tuple[str, ...] = ()  # the report's own recipients (where a return path token would be)
    quoted_ids: tuple[str, ...] = ()  # Message-IDs of the message it is about
    quoted_return_paths: tuple[str, ...] = ()  # Return-Path of the quoted message (complaints quote it whole)
    bounces: tuple[Bounce, ...] = ()
    feedback_type: str = ""
    feedback: str | None = None  # the complaint's machine-readable part, kept with the event
    subject: str = ""
    problem: str | None = None  # why the message is not a usable report

    @property
    def worst(self) -> Bounce | None:
        """The bounce that decides: hard before soft before delayed."""
        order = {"hard": 0, "soft": 1, "delayed": 2}
        return min(self.bounces, key=lambda b: order[b.severity], default=None)


def read_paths(paths: Iterable[str | Path]) -> Iterator[tuple[str, bytes]]:
    """(source, raw message) for every message under the paths; an InputError names a path that is not
    there before anything is read."""
    chosen = [Path(p) for p in paths]
    for path in chosen:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
    for path in chosen:
        yield from _read_path(path)


def _read_path(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.is_file():
        yield from _read_file(path)
    elif (path / "cur").is_dir() and (path / "new").is_dir():
        box = mailbox.Maildir(path, create=False)
        for key in sorted(box.iterkeys()):
            yield f"{path} ({key})", box.get_bytes(key)
    else:
        for child in sorted(path.iterdir()):
            if not child.name.startswith("."):
                yield from _read_path(child)


def _read_file(path: Path) -> Iterator[tuple[str, bytes]]:
    try:
        with path.open("rb") as handle:
            head = handle.read(5)
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    if head == b"From ":  # an mbox: many messages, each after a "From " line
        box = mailbox.mbox(path, create=False)
        for n, key in enumerate(box.iterkeys(), start=1):
            yield f"{path} (#{n})", box.get_bytes(key)
    else:
        yield str(path), path.read_bytes()


def parse(data: bytes, source: str) -> Report:
    """What one message is, and what in it could tie it to one of our messages."""
    message = message_from_bytes(data, policy=policy.compat32)
    key = hashlib.sha256(data).hexdigest()
    base = Report(
        source=source,
        key=key,
        kind=MAIL,
        date=_date(message.get("Date")),
        addressed_to=_addresses(message, RECIPIENT_HEADERS),
        subject=" ".join(str(message.get("Subject", "")).split())[:200],
    )
    quoted = _quoted(message)
    quoted_ids = tuple(dict.fromkeys(i for q in quoted if (i := _message_id(q.get("Message-ID")))))
    quoted_paths = tuple(dict.fromkeys(a for q in quoted for a in _addresses(q, ("Return-Path",))))
    about = replace(base, quoted_ids=quoted_ids, quoted_return_paths=quoted_paths)
    is_report = message.get_content_type() == "multipart/report"
    report_type = str(message.get_param("report-type") or "").lower() if is_report else ""
    if report_type == "delivery-status":
        bounces, problem = _dsn(message)
        return replace(about, kind=DSN, bounces=bounces, problem=problem)
    if report_type == "feedback-report":
        fields = _part_fields(message, "message/feedback-report")
        if fields is None:
            return replace(about, kind=ARF, problem="no message/feedback-report part")
        feedback_type = str(fields.get("Feedback-Type", "")).strip().lower()
        recipients = _addresses(fields, ("Original-Rcpt-To", "Removal-Recipient"))
        return replace(
            about,
            kind=ARF,
            # Original-Mail-From is the envelope sender of the reported message: our return path.
            quoted_return_paths=quoted_paths + _addresses(fields, ("Original-Mail-From",)),
            feedback_type=feedback_type,
            feedback=fields.as_string().strip()[:4000],
            bounces=tuple(Bounce(rcpt, feedback_type, "", "hard") for rcpt in recipients),
            problem=None if feedback_type else "no Feedback-Type in the feedback report",
        )
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # flufl.bounce's heuristics fall over on odd mail (no From:): not a bounce
        temporary = permanent = frozenset()
    if temporary or permanent:
        text_ids = tuple(i for i in dict.fromkeys(_MESSAGE_ID.findall(_text(message))) if i not in quoted_ids)
        bounces = tuple(
            [Bounce(_ascii(a), "5.0.0", "", "hard") for a in sorted(permanent)]
            + [Bounce(_ascii(a), "4.0.0", "", "delayed") for a in sorted(temporary)]
        )
        return replace(about, kind=BOUNCE, quoted_ids=quoted_ids + text_ids, bounces=bounces)
    return base


def _ascii(address: bytes) -> str:
    return address.decode("ascii", "replace").lower()


def _dsn(message: Message) -> tuple[tuple[Bounce, ...], str | None]:
    status_part = next((p for p in message.walk() if p.get_content_type() == "message/delivery-status"), None)
    if status_part is None:
        return (), "no message/delivery-status part"
    blocks = status_part.get_payload()
    if not isinstance(blocks, list) or len(blocks) < 2:
        return (), "no per-recipient fields in the delivery-status part"
    bounces = []
    for block in blocks[1:]:
        if not isinstance(block, Message):
            continue
        recipient = _typed_address(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        action = str(block.get("Action", "")).strip().lower()
        status = str(block.get("Status", "")).strip().split(" ")[0]
        if not recipient or action not in ("failed", "delayed"):
            continue  # delivered, relayed, expanded: nothing went wrong
        if action == "delayed":
            severity = "delayed"
        elif status.startswith("5.") and status not in SOFT_STATUSES and not status.startswith(POLICY_CLASS):
            severity = "hard"
        else:
            severity = "soft"
        diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())[:500]
        bounces.append(Bounce(recipient, status, diagnostic, severity))
    if not bounces:
        return (), "no failed or delayed recipient in the report"
    return tuple(bounces), None


def _typed_address(field: object) -> str:
    """'rfc822; user@example.com' -> 'user@example.com'."""
    value = str(field)
    return value.split(";", 1)[-1].strip().strip("<>").lower()


def _addresses(message: Message, headers: Iterable[str]) -> tuple[str, ...]:
    values = [str(v) for name in headers for v in message.get_all(name, [])]
    return tuple(dict.fromkeys(address.lower() for _, address in getaddresses(values) if "@" in address))


def _message_id(value: object) -> str | None:
    found = re.search(r"<[^<>\s]+>", str(value or ""))
    return found.group(0) if found else None


def _quoted(message: Message) -> list[Message]:
    """The headers of the message a report is about (message/rfc822 or text/rfc822-headers parts)."""
    found: list[Message] = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                found.append(payload[0])
        elif kind == "text/rfc822-headers":
            found.append(message_from_bytes(_decoded(part).lstrip(), policy=policy.compat32))
    return found


def _part_fields(message: Message, content_type: str) -> Message | None:
    """The header-like fields of a report part (message/feedback-report), as a Message."""
    part = next((p for p in message.walk() if p.get_content_type() == content_type), None)
    if part is None:
        return None
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    return message_from_bytes(_decoded(part).lstrip(), policy=policy.compat32)


def _decoded(part: Message) -> bytes:
    """A leaf part's body, transfer-decoded (empty when it has none)."""
    raw = part.get_payload(decode=True)
    return raw if isinstance(raw, bytes) else b""


def _text(message: Message) -> str:
    """The text/plain parts, for servers that quote the original headers as text."""
    texts = []
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            texts.append(_decoded(part).decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(texts)


def _date(value: object) -> datetime | None:
    """The report's Date, never later than now (a forged future date must not keep a bounce 'recent')."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return min(parsed.astimezone(UTC), datetime.now(UTC))
