"""Link tokens and Message-IDs: the fast paths (one serialized payload per reader, keyed HMAC copies) make
exactly what itsdangerous and the plain HMAC make, for any order of readers and purposes."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from itsdangerous import URLSafeSerializer

from newsletter.tokens import PURPOSES, Tokens
from tests.factories import make_subscriber

SECRET = "a test secret"


def test_tokens_are_itsdangerous_tokens_byte_for_byte() -> None:
    tokens = Tokens(SECRET)
    readers = [make_subscriber(id=1, link_key="k1"), make_subscriber(id=2, link_key="k2"), make_subscriber(id=1)]
    for reader in [*readers, *reversed(readers)]:
        for purpose in [p for p in PURPOSES if p != "confirm"]:
            plain = URLSafeSerializer(SECRET, salt=f"newsletter.{purpose}").dumps([reader.id, reader.link_key])
            made = tokens.make(purpose, reader)
            assert made == plain
            claim = tokens.read(purpose, made)
            assert claim is not None and claim.opens(reader)


def test_a_long_payload_is_compressed_as_itsdangerous_does() -> None:
    reader = make_subscriber(id=7, link_key="x" * 200)  # compresses: the token starts with "."
    made = Tokens(SECRET).make("unsubscribe", reader)
    assert made.startswith(".")
    assert made == URLSafeSerializer(SECRET, salt="newsletter.unsubscribe").dumps([7, "x" * 200])


def test_message_id_is_the_hmac_of_issue_and_reader() -> None:
    tokens = Tokens(SECRET)
    for subscriber_id in (1, 2, 1):
        digest = hmac.new(SECRET.encode(), f"2026-11-24:{subscriber_id}".encode(), hashlib.sha256).hexdigest()[:32]
        assert tokens.message_id(date(2026, 11, 24), subscriber_id, "example.org") == f"<20261124.{digest}@example.org>"
