"""Per-delivery return paths (VERP) and per-reader mailto: unsubscribe addresses, each with a signed token.

The token sits in the local part, so it must be short (RFC 5321: at most 64 octets there) and survive
servers that change its case: lowercase base32 of a small payload and a truncated HMAC. Its keys are
derived from `web.secret_key` under purposes of their own, apart from the web links' tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, timedelta

from newsletter.config import TOKEN_LENGTH, Settings

_EPOCH = date(2020, 1, 1)
# The issue days a return path can name: two bytes of days since the epoch.
ISSUE_DAYS = (_EPOCH, _EPOCH + timedelta(days=2**16 - 1))
_MAC_BYTES = 10  # 80 bits: guessing one valid token takes 2^79 tries on average
_MAX_ID_BYTES = 8


@dataclass(frozen=True)
class ReturnPath:
    """Who a message sent to a return path was about: one reader's issue (one delivery)."""

    subscriber_id: int
    issue_date: date


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _unb32(text: str) -> bytes | None:
    if not re.fullmatch(r"[a-z2-7]+", text):
        return None
    try:
        raw = base64.b32decode(text.upper() + "=" * (-len(text) % 8))
    except ValueError:
        return None
    return raw if _b32(raw) == text else None  # one spelling per token: unused low bits must be zero


def _id_bytes(subscriber_id: int) -> bytes:
    return subscriber_id.to_bytes(max(1, (subscriber_id.bit_length() + 7) // 8), "big")


class MailTokens:
    """Signs and reads the two kinds of address token; a forged, foreign or damaged one reads as None."""

    def __init__(self, secret_key: str) -> None:
        # Keyed once per purpose; each token copies its keyed HMAC instead of keying a new one.
        self._keyed = {
            purpose: hmac.new(
                hmac.new(secret_key.encode(), f"newsletter.verp.{purpose}".encode(), hashlib.sha256).digest(),
                digestmod=hashlib.sha256,
            )
            for purpose in ("return", "unsubscribe")
        }

    def _mac(self, purpose: str, payload: bytes) -> bytes:
        mac = self._keyed[purpose].copy()
        mac.update(payload)
        return mac.digest()[:_MAC_BYTES]

    def _sign(self, purpose: str, payload: bytes) -> str:
        token = _b32(payload + self._mac(purpose, payload))
        assert len(token) <= TOKEN_LENGTH
        return token

    def _open(self, purpose: str, token: str) -> bytes | None:
        raw = _unb32(token.lower())
        if raw is None or len(raw) <= _MAC_BYTES:
            return None
        payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        return payload if hmac.compare_digest(mac, self._mac(purpose, payload)) else None

    def return_token(self, subscriber_id: int, issue_date: date) -> str:
        day = (issue_date - _EPOCH).days
        return self._sign("return", day.to_bytes(2, "big") + _id_bytes(subscriber_id))

    def read_return_token(self, token: str) -> ReturnPath | None:
        payload = self._open("return", token)
        if payload is None or not 3 <= len(payload) <= 2 + _MAX_ID_BYTES:
            return None
        day = _EPOCH + timedelta(days=int.from_bytes(payload[:2], "big"))
        return ReturnPath(int.from_bytes(payload[2:], "big"), day)

    def unsubscribe_token(self, subscriber_id: int) -> str:
        return self._sign("unsubscribe", _id_bytes(subscriber_id))

    def read_unsubscribe_token(self, token: str) -> int | None:
        payload = self._open("unsubscribe", token)
        if payload is None or not 1 <= len(payload) <= _MAX_ID_BYTES:
            return None
        return int.from_bytes(payload, "big")


class MailAddresses:
    """The configured address templates filled with tokens, and the way back from an address to a token."""

    def __init__(self, settings: Settings) -> None:
        domain = settings.sender.domain
        self.tokens = MailTokens(settings.web.secret_key)
        self.return_template = settings.sender.return_path or f"bounces+{{token}}@{domain}"
        self.unsubscribe_template = settings.sender.unsubscribe_address or f"unsubscribe+{{token}}@{domain}"
        self._return = _pattern(self.return_template)
        self._unsubscribe = _pattern(self.unsubscribe_template)

    def return_path(self, subscriber_id: int, issue_date: date) -> str:
        return self.return_template.replace("{token}", self.tokens.return_token(subscriber_id, issue_date))

    def unsubscribe_address(self, subscriber_id: int) -> str:
        return self.unsubscribe_template.replace("{token}", self.tokens.unsubscribe_token(subscriber_id))

    def read_return_path(self, address: str) -> ReturnPath | None:
        found = self._return.fullmatch(address.strip())
        return self.tokens.read_return_token(found.group("token")) if found else None

    def read_unsubscribe_address(self, address: str) -> int | None:
        found = self._unsubscribe.fullmatch(address.strip())
        return self.tokens.read_unsubscribe_token(found.group("token")) if found else None


def _pattern(template: str) -> re.Pattern[str]:
    """'bounces+{token}@example.org' -> a case-insensitive pattern with a `token` group."""
    before, _, after = template.partition("{token}")
    return re.compile(re.escape(before) + r"(?P<token>[A-Za-z2-7]{1,64})" + re.escape(after), re.IGNORECASE)
