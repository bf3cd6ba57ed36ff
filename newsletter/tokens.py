"""Signed tokens for the reader's links, and the stable Message-ID of each issue (both keyed by web.secret_key)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from itsdangerous import BadSignature, Signer, URLSafeSerializer, URLSafeTimedSerializer

PURPOSES = ("unsubscribe", "preferences", "confirm", "feedback")
# A confirmation link expires: one found in an old mailbox must not re-subscribe anyone. The links in
# every digest stay valid as long as the key does (mail clients keep old issues around).
EXPIRING = {"confirm": 7 * 24 * 3600}


class Tokens:
    """HMAC-signed subscriber ids bound to a purpose; itsdangerous compares signatures in constant time."""

    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key
        self._signers = {
            p: (URLSafeTimedSerializer if p in EXPIRING else URLSafeSerializer)(secret_key, salt=f"newsletter.{p}")
            for p in PURPOSES
        }
        self._csrf = Signer(secret_key, salt="newsletter.csrf")

    def make(self, purpose: str, subscriber_id: int) -> str:
        return str(self._signers[purpose].dumps(subscriber_id))

    def read(self, purpose: str, token: str) -> int | None:
        """The subscriber id, or None for a forged, foreign or expired token (callers answer 404 and reveal
        nothing)."""
        signer = self._signers[purpose]
        try:
            if isinstance(signer, URLSafeTimedSerializer):
                value = signer.loads(token, max_age=EXPIRING[purpose])
            else:
                value = signer.loads(token)
        except BadSignature:  # SignatureExpired is a BadSignature
            return None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def csrf_field(self, cookie: str) -> str:
        """The form's hidden field for a browser's CSRF cookie (signed double submit)."""
        return self._csrf.sign(cookie).decode("ascii")

    def csrf_ok(self, cookie: str | None, field: str | None) -> bool:
        if not cookie or not field:
            return False
        try:
            signed = self._csrf.unsign(field).decode("ascii")
        except BadSignature:
            return False
        return hmac.compare_digest(signed, cookie)

    def message_id(self, issue_date: date, subscriber_id: int, domain: str) -> str:
        """The same id for every (re)send of one issue to one reader, so clients fold duplicates."""
        digest = hmac.new(
            self._secret.encode(), f"{issue_date.isoformat()}:{subscriber_id}".encode(), hashlib.sha256
        ).hexdigest()[:32]
        return f"<{issue_date:%Y%m%d}.{digest}@{domain}>"
