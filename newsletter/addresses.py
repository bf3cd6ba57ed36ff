"""Email addresses: validation, the normalised form used as identity, and the hash kept for suppressions."""

from __future__ import annotations

import hashlib

from newsletter.errors import InputError


def normalize_email(address: str) -> str:
    """The canonical form of an address (lower case, IDNA domain), or InputError naming what is wrong."""
    if any(ch in address for ch in "\r\n"):
        raise InputError(f"invalid address {address.strip()!r}: contains a line break")
    # Imported here: the store needs only address_hash, and every command would pay for the validator.
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InputError(f"invalid address {address!r}: {exc}") from None
    return checked.normalized.lower()


def address_hash(address: str) -> str:
    return hashlib.sha256(address.lower().encode()).hexdigest()
