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


def on_the_wire(address: str) -> str:
    """The address as SMTP and the To header carry it: an internationalised domain as IDNA ('xn--...'),
    which every server takes. A local part that is not ASCII stays as it is: only a server that offers
    SMTPUTF8 takes it (RFC 6531), and the mailer asks for that."""
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    import idna  # email-validator's own dependency; only such a domain loads it

    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except idna.IDNAError:
        return address  # validated at sign-up, so not expected: then only SMTPUTF8 carries it


def address_hash(address: str) -> str:
    return hashlib.sha256(address.lower().encode()).hexdigest()
