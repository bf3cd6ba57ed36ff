"""Signed tokens for the reader's links, and the stable Message-ID of each issue (both keyed by web.secret_key)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from itsdangerous import BadSignature, URLSafeSerializer

PURPOSES = ("unsubscribe", "preferences", "confirm", "feedback")


class Tokens:
    """HMAC-signed subscriber ids bound to a purpose; itsdangerous compares signatures in constant time."""

    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key
        self._signers = {p: URLSafeSerializer(secret_key, salt=f"newsletter.{p}") for p in PURPOSES}

    def make(self, purpose: str, subscriber_id: int) -> str:
        return str(self._signers[purpose].dumps(subscriber_id))

    def read(self, purpose: str, token: str) -> int | None:
        """The subscriber id, or None for a forged or foreign token (callers answer 404 and reveal nothing)."""
        try:
            value = self._signers[purpose].loads(token)
        except BadSignature:
            return None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def message_id(self, issue_date: date, subscriber_id: int, domain: str) -> str:
        """The same id for every (re)send of one issue to one reader, so clients fold duplicates."""
        digest = hmac.new(
            self._secret.encode(), f"{issue_date.isoformat()}:{subscriber_id}".encode(), hashlib.sha256
        ).hexdigest()[:32]
        return f"<{issue_date:%Y%m%d}.{digest}@{domain}>"
