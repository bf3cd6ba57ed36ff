"""Delivery status notifications (RFC 3464) -> hard bounces: which recipients failed for good, and why.

Reads one .eml file, a folder of them, or a maildir. Only `Action: failed` with a 5.x.x status is a hard
bounce; delays and 4.x.x reports are counted, not acted on (the send engine retries those itself).
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from pathlib import Path

from newsletter.errors import InputError


@dataclass(frozen=True)
class Bounce:
    recipient: str
    status: str
    diagnostic: str
    message_id: str | None
    hard: bool


@dataclass(frozen=True)
class Report:
    source: str
    bounces: tuple[Bounce, ...]
    problem: str | None = None  # why the message is not a usable DSN


def read_path(path: str | Path) -> Iterator[Report]:
    """Every message under `path` (an .eml file, a folder of .eml files, or a maildir), parsed."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file():
        yield parse(path.read_bytes(), str(path))
    elif (path / "cur").is_dir() and (path / "new").is_dir():
        box = mailbox.Maildir(path, create=False)
        for key in box.iterkeys():
            yield parse(box.get_bytes(key), f"{path} ({key})")
    else:
        for file in sorted(path.glob("*.eml")):
            yield parse(file.read_bytes(), str(file))


def parse(data: bytes, source: str) -> Report:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    if message.get_content_type() != "multipart/report" or message.get_param("report-type") != "delivery-status":
        return Report(source, (), "not a delivery status notification (multipart/report; report-type=delivery-status)")
    status_part = next((p for p in message.walk() if p.get_content_type() == "message/delivery-status"), None)
    if status_part is None:
        return Report(source, (), "no message/delivery-status part")
    original = _original_message_id(message)
    blocks = status_part.get_payload()
    if not isinstance(blocks, list) or len(blocks) < 2:
        return Report(source, (), "no per-recipient fields in the delivery-status part")
    bounces = []
    for block in blocks[1:]:
        recipient = _address(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        action = str(block.get("Action", "")).strip().lower()
        status = str(block.get("Status", "")).strip()
        if not recipient:
            continue
        bounces.append(
            Bounce(
                recipient=recipient,
                status=status,
                diagnostic=" ".join(str(block.get("Diagnostic-Code", "")).split()),
                message_id=original,
                hard=action == "failed" and status.startswith("5."),
            )
        )
    return Report(source, tuple(bounces))


def _address(field: object) -> str:
    """'rfc822; user@example.com' -> 'user@example.com'."""
    value = str(field)
    return value.split(";", 1)[1].strip().strip("<>").lower() if ";" in value else value.strip().strip("<>").lower()


def _original_message_id(message: Message) -> str | None:
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if inner is None and isinstance(payload, str):
                inner = message_from_bytes(payload.encode(), policy=policy.default)
            if inner is not None and inner.get("Message-ID"):
                return str(inner["Message-ID"]).strip()
    return None
