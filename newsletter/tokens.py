"""Signed tokens for the reader's links, and the stable Message-ID of each issue (both keyed by web.secret_key).

A token names a reader by id *and* by their link key (a random value kept on the reader's row): a token
only opens the reader whose row still holds that key, so `forget` (which erases the row) kills every link
ever mailed to them, and a new reader can never be reached through an old reader's links.

API for other modules: `make(purpose, subscriber)` -> token; `read(purpose, token)` -> Claim or None;
`claim.opens(subscriber)` says whether the claim is this reader's (constant time). Purposes: PURPOSES.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

from itsdangerous import BadSignature, SignatureExpired, Signer, URLSafeSerializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, want_bytes

PURPOSES = ("unsubscribe", "preferences", "confirm", "feedback")
# A confirmation link expires: one found in an old mailbox must not re-subscribe anyone. The links in
# every digest stay valid as long as the key and the reader do (mail clients keep old issues around).
EXPIRING = {"confirm": 7 * 24 * 3600}


class Reader(Protocol):
    """What a token is made for: a subscriber (models.Subscriber) or anything with the same two fields."""

    @property
    def id(self) -> int: ...

    @property
    def link_key(self) -> str: ...


@dataclass(frozen=True)
class Claim:
    """What a genuine token says: which reader (id and link key) and, for expiring purposes, when it was made."""

    subscriber_id: int
    link_key: str
    issued_at: datetime | None = None

    def opens(self, reader: Reader | None) -> bool:
        """True only for the reader this token was made for, whose row still holds the same link key."""
        if reader is None or reader.id != self.subscriber_id or not reader.link_key:
            return False
        return hmac.compare_digest(reader.link_key.encode(), self.link_key.encode())


class _KeyOnce(Signer):
    """itsdangerous's Signer, deriving its key once instead of for every signature (three links per
    email made key derivation a tenth of the cost of building one), and its HMAC-SHA1 from a keyed copy:
    itsdangerous passes sha1 as a function, which makes the stdlib fall back to a pure-Python HMAC per
    signature. Same tokens, byte for byte."""

    def __init__(self, secret_key: str, salt: str) -> None:
        super().__init__(secret_key, salt=salt)
        self._key = super().derive_key()
        self._keyed = hmac.new(self._key, digestmod=hashlib.sha1)

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        return self._key if secret_key is None else super().derive_key(secret_key)

    def get_signature(self, value: str | bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(want_bytes(value))
        return base64_encode(mac.digest())


class Tokens:
    """HMAC-signed (subscriber id, link key) pairs bound to a purpose; itsdangerous compares signatures in
    constant time."""

    def __init__(self, secret_key: str) -> None:
        self._signers = {
            p: (URLSafeTimedSerializer if p in EXPIRING else URLSafeSerializer)(secret_key, salt=f"newsletter.{p}")
            for p in PURPOSES
        }
        self._csrf = Signer(secret_key, salt="newsletter.csrf")
        self._fast = {p: _KeyOnce(secret_key, salt=f"newsletter.{p}") for p in PURPOSES if p not in EXPIRING}
        self._message_ids = hmac.new(secret_key.encode(), digestmod=hashlib.sha256)
        self._last_payload: tuple[tuple[int, str], bytes] | None = None

    def make(self, purpose: str, reader: Reader) -> str:
        signer = self._fast.get(purpose)
        if signer is None:
            return str(self._signers[purpose].dumps([reader.id, reader.link_key]))
        return signer.sign(self._payload(purpose, reader)).decode("ascii")

    def _payload(self, purpose: str, reader: Reader) -> bytes:
        """The serialized [id, link key] (JSON, zlib, base64): the same for every purpose, so the links of
        one mail serialize it once (the last reader's is kept; one tuple, read and replaced whole)."""
        key = (reader.id, reader.link_key)
        last = self._last_payload
        if last is None or last[0] != key:
            last = self._last_payload = (key, self._signers[purpose].dump_payload(list(key)))
        return last[1]

    def read(self, purpose: str, token: str) -> Claim | None:
        """What a genuine, unexpired token of this purpose claims, or None for a forged, foreign or expired
        one (callers answer 404 and reveal nothing). The caller still checks `claim.opens(reader)`."""
        signer = self._signers[purpose]
        issued: datetime | None = None
        try:
            if isinstance(signer, URLSafeTimedSerializer):
                value, issued = signer.loads(token, max_age=EXPIRING[purpose], return_timestamp=True)
            else:
                value = signer.loads(token)
        except (BadSignature, UnicodeError):  # SignatureExpired is a BadSignature
            return None
        if not (isinstance(value, list) and len(value) == 2):
            return None
        subscriber_id, link_key = value
        if not isinstance(subscriber_id, int) or isinstance(subscriber_id, bool) or not isinstance(link_key, str):
            return None
        return Claim(subscriber_id, link_key, issued.astimezone(UTC) if issued else None)

    def expired(self, purpose: str, token: str) -> bool:
        """Whether a token is genuine but past its time (a reader who comes back late is told so, not 404)."""
        signer = self._signers[purpose]
        if not isinstance(signer, URLSafeTimedSerializer):
            return False
        try:
            signer.loads(token, max_age=EXPIRING[purpose])
        except SignatureExpired:
            return True
        except (BadSignature, UnicodeError):
            return False
        return False

    def csrf_field(self, cookie: str) -> str:
        """The form's hidden field for a browser's CSRF cookie (signed double submit)."""
        return self._csrf.sign(cookie).decode("ascii")

    def csrf_ok(self, cookie: str | None, field: str | None) -> bool:
        if not cookie or not field:
            return False
        try:
            signed = self._csrf.unsign(field).decode("ascii")
        except (BadSignature, UnicodeError):
            return False
        return hmac.compare_digest(signed.encode(), cookie.encode())

    def message_id(self, issue_date: date, subscriber_id: int, domain: str) -> str:
        """The same id for every (re)send of one issue to one reader, so clients fold duplicates (ids are
        never reused, so it names one reader for good)."""
        mac = self._message_ids.copy()
        mac.update(f"{issue_date.isoformat()}:{subscriber_id}".encode())
        digest = mac.hexdigest()[:32]
        return f"<{issue_date:%Y%m%d}.{digest}@{domain}>"
