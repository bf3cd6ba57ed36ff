"""A message's bytes: multipart/alternative assembled as CRLF bytes, headers encoded and folded, bodies QP.

Pure encoding, shared by the composer (message.py) and the SMTP client (deliver/smtp.py, which re-encodes a
message for the rare server without 8BITMIME).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from email import message_from_bytes
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr
from functools import lru_cache


def assemble(
    headers: list[tuple[str, str]], text: str, html: str, boundary_seed: str, eight_bit: bool = False
) -> bytes:
    """multipart/alternative (text first, HTML last, both UTF-8) as CRLF bytes.

    Built directly rather than with email.message.EmailMessage (about 10x the cost of rendering the
    email); tests check that the stdlib parses it back to the same headers and parts. Non-ASCII header
    text is RFC 2047-encoded and headers are folded at 78 columns. Bodies go as they are (7bit or 8bit)
    when `eight_bit` allows it and no line passes 998 octets, else quoted-printable (lines under 77).
    """
    boundary = "==nl-" + hashlib.sha256(boundary_seed.encode()).hexdigest()[:24]  # "=" never occurs in QP
    lines = [_fold(name, value) for name, value in headers]
    lines += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"', ""]
    # ASCII but for an address whose local part is not (RFC 6532: such a message goes only with SMTPUTF8).
    head = "\r\n".join(lines).encode("utf-8")
    parts = []
    for kind, body in ((b"text/plain", text), (b"text/html", html)):
        encoding, data = _encode_body(body, eight_bit)
        parts.append(
            b"--" + boundary.encode() + b"\r\nContent-Type: " + kind + b'; charset="utf-8"\r\n'
            b"Content-Transfer-Encoding: " + encoding + b"\r\n\r\n" + data + b"\r\n"
        )
    return head + b"\r\n" + b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"


def _encode_body(body: str, eight_bit: bool) -> tuple[bytes, bytes]:
    """(Content-Transfer-Encoding, body bytes). As it is when allowed: no encoding work at all, which is
    most of the cost of building a message; QP otherwise."""
    if eight_bit:
        if "\r" in body:  # rendered templates have none; a stray CR must not end a line of its own
            body = body.replace("\r\n", "\n").replace("\r", " ")
        data = body.encode("utf-8").replace(b"\n", b"\r\n")  # the same bytes; on bytes, a third of the cost
        if max(map(len, data.split(b"\n"))) <= MAX_LINE + 1:  # + 1: the line's CR
            return (b"7bit" if data.isascii() else b"8bit"), data
    return b"quoted-printable", _qp(body)


def seven_bit(data: bytes) -> bytes:
    """The same message with its 8bit parts quoted-printable, for the rare server without 8BITMIME."""
    message = message_from_bytes(data, policy=SMTP_POLICY)
    for part in message.walk():
        if part.get("Content-Transfer-Encoding", "").lower() == "8bit":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)  # a leaf part, transfer-decoded
            body = payload.decode("utf-8").replace("\r\n", "\n")
            del part["Content-Transfer-Encoding"]
            part["Content-Transfer-Encoding"] = "quoted-printable"
            part.set_payload(_qp(body).decode("ascii"))
    return message.as_bytes()


@lru_cache(maxsize=4096)  # From and List-Id are the same in every message of an issue
def mailbox(display_name: str, address: str) -> str:
    """'Name <addr>' (also List-Id's 'Name <list-id>'): the name quoted as needed or, if not ASCII, as
    encoded words on folded lines; what is inside the angle brackets stays literal."""
    if not display_name.isascii():
        return "\r\n ".join(_encoded_words(display_name)) + f"\r\n <{address}>"
    if address.isascii():
        return formataddr((display_name, address))
    # A local part that is not ASCII (RFC 6532, sent over SMTPUTF8 only), which formataddr refuses: it quotes
    # the name around a stand-in address.
    return (formataddr((display_name, "_@_"))[: -len("<_@_>")] if display_name else "") + f"<{address}>"


@lru_cache(maxsize=4096)  # the same From, Subject and List-* lines recur for every reader of an issue
def _fold(name: str, value: str) -> str:
    """One header, folded at 78 columns; non-ASCII text as RFC 2047 encoded words."""
    if "\r\n" in value:
        return f"{name}: {value}"  # folded already (_mailbox)
    if not value.isascii():
        if name in ("From", "To", "Reply-To") and value.endswith(">") and value[: value.rfind("<")].isascii():
            return f"{name}: {value}"  # an address that is not ASCII (RFC 6532): encoded words would break it
        return f"{name}: " + "\r\n ".join(_encoded_words(value))
    if len(name) + 2 + len(value) <= 78:
        return f"{name}: {value}"
    lines = [f"{name}:"]
    for word in value.split(" "):
        if len(lines[-1]) + 1 + len(word) > 78 and lines[-1] != f"{name}:":
            lines.append("")
        lines[-1] += " " + word
    return "\r\n".join(lines)


@lru_cache(maxsize=4096)
def _encoded_words(value: str, max_bytes: int = 39) -> tuple[str, ...]:
    """'=?utf-8?b?...?=' words of at most 39 UTF-8 bytes each (64 characters encoded, so even after
    'Subject: ' a line stays within 78), never splitting a character."""
    words, chunk = [], b""
    for char in value:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > max_bytes:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return tuple(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words if w)


def _qp(body: str) -> bytes:
    """Quoted-printable, CRLF. Line by line (QP never joins lines), each line encoded once per process:
    readers of an issue share most of their lines (DKIM-signed mail must go as QP)."""
    lines = body.replace("\r\n", "\n").split("\n")
    encoded = []
    for line in lines:
        found = _QP_LINES.get(line)
        if found is None:
            if len(_QP_LINES) >= _QP_CACHE_SIZE:
                _QP_LINES.clear()
            found = _QP_LINES[line] = binascii.b2a_qp(line.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")
        encoded.append(found)
    return b"\r\n".join(encoded)


_QP_LINES: dict[str, bytes] = {}
_QP_CACHE_SIZE = 50_000
MAX_LINE = 998  # octets in a line of an SMTP message, CRLF not counted (RFC 5322 2.1.1)
