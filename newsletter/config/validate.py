"""The checks a loaded configuration must pass, each naming the key and what it must be."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from newsletter.config.merge import ENV_PREFIX
from newsletter.config.sections import SenderSettings, Settings
from newsletter.config.values import is_timezone, rate_interval
from newsletter.errors import ConfigError

_SMTP_TLS_MODES = ("none", "starttls", "implicit")
_ADDRESS = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
# The longest token newsletter.verp puts into a return path or unsubscribe address.
TOKEN_LENGTH = 40


def validate(settings: Settings) -> None:
    def need(ok: bool, message: str) -> None:
        """A ConfigError naming where the key the message names ('smtp.tls') was set: its variable or the file."""
        if not ok:  # of the keys it names, one a variable set, else the file
            named = [settings.origin(key) for key in re.findall(r"'([a-z_]+\.[a-z_.]+)'", message)]
            where = next((o for o in named if o.startswith(ENV_PREFIX)), settings.origin(""))
            raise ConfigError(f"{where}: {message}")

    need(settings.smtp.tls in _SMTP_TLS_MODES, f"'smtp.tls' must be one of {', '.join(_SMTP_TLS_MODES)}")
    need(1 <= settings.smtp.port <= 65535, "'smtp.port' must be between 1 and 65535")
    need(1 <= settings.web.port <= 65535, "'web.port' must be between 1 and 65535")
    need(settings.smtp.pool_size >= 1, "'smtp.pool_size' must be at least 1")
    need(settings.smtp.timeout > 0, "'smtp.timeout' must be positive")
    need(settings.smtp.max_attempts >= 1, "'smtp.max_attempts' must be at least 1")
    need(settings.smtp.batch_size >= 1, "'smtp.batch_size' must be at least 1")
    need(
        settings.smtp.rate_per_second >= 0 and settings.smtp.rate_per_hour >= 0,
        "'smtp.rate_per_second' and 'smtp.rate_per_hour' must be >= 0",
    )
    for domain, rate in settings.smtp.domain_limits:
        try:
            rate_interval(rate)
        except ValueError as exc:
            need(False, f"'smtp.domain_limits' {domain!r}: {exc}")
        is_domain = re.fullmatch(r"[a-z0-9.-]+\.[a-z0-9-]+", domain) is not None
        need(is_domain, f"'smtp.domain_limits': {domain!r} is not a domain")
    # Before the List-Id, which is made of the sender's domain: the key at fault is named, not the one made of it.
    for key in ("from_address", "reply_to"):
        address = getattr(settings.sender, key)
        need(
            (key == "reply_to" and not address) or _ADDRESS.fullmatch(address) is not None,
            f"'sender.{key}' must be an email address such as papers@example.org, got {address[:80]!r}",
        )
    need(
        re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", settings.sender.list_identifier) is not None,
        f"'sender.list_id' must be a dotted name such as digest.example.org, got {settings.sender.list_identifier!r}",
    )
    need(
        re.fullmatch(r"[\x21-\x39\x3b-\x7e]+", settings.sender.feedback_sender_id) is not None,
        "'sender.feedback_sender' must be printable ASCII without spaces or colons",
    )
    for name in ("hf", "arxiv"):
        source = getattr(settings.sources, name)
        need(source.attempts >= 1, f"'sources.{name}.attempts' must be at least 1")
        need(source.timeout > 0, f"'sources.{name}.timeout' must be positive")
        need(source.deadline > 0, f"'sources.{name}.deadline' must be positive")
        need(source.max_bytes >= 1, f"'sources.{name}.max_bytes' must be at least 1")
    need(settings.sources.hf.max_pages >= 1, "'sources.hf.max_pages' must be at least 1")
    for key in ("max_title_chars", "max_abstract_chars", "max_author_chars", "max_authors"):
        need(getattr(settings.ingest, key) >= 1, f"'ingest.{key}' must be at least 1")
    need(1 <= settings.schedule.send_every_minutes <= 60, "'schedule.send_every_minutes' must be 1..60")
    need(settings.digest.max_items >= 1, "'digest.max_items' must be at least 1")
    need(
        settings.web.confirm_per_address >= 1 and settings.web.confirm_per_ip >= 1,
        "'web.confirm_per_address' and 'web.confirm_per_ip' must be at least 1",
    )
    need(settings.digest.first_digest_days >= 1, "'digest.first_digest_days' must be at least 1")
    need(0 <= settings.digest.default_send_hour <= 23, "'digest.default_send_hour' must be 0..23")
    for key in ("return_path", "unsubscribe_address"):
        template = getattr(settings.sender, key)
        local, _, domain = template.rpartition("@")
        need(
            not template or (local.count("{token}") == 1 and "{" not in domain and "." in domain),
            f"'sender.{key}' must look like name+{{token}}@domain (the {{token}} in the part before the @)",
        )
        # RFC 5321 4.5.3.1.1: a local part has at most 64 octets; a token has at most TOKEN_LENGTH.
        need(
            len(local.replace("{token}", "")) + TOKEN_LENGTH <= 64,
            f"'sender.{key}' leaves no room for the token (the part before the @ is at most 64 characters)",
        )
    inbox = settings.inbox
    need(inbox.tls in _SMTP_TLS_MODES, f"'inbox.tls' must be one of {', '.join(_SMTP_TLS_MODES)}")
    need(1 <= inbox.port <= 65535, "'inbox.port' must be between 1 and 65535")
    need(inbox.poll_minutes >= 1, "'inbox.poll_minutes' must be at least 1")
    need(inbox.timeout > 0, "'inbox.timeout' must be positive")
    need(not inbox.host or bool(inbox.processed_folder), "'inbox.processed_folder' must be set (mail is moved there)")
    need(inbox.folder != inbox.processed_folder, "'inbox.processed_folder' must differ from 'inbox.folder'")
    for key in ("ingest_at", "ingest_deadline"):
        need(
            re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", getattr(settings.schedule, key)) is not None,
            f"'schedule.{key}' must be HH:MM (24-hour)",
        )
    need(settings.schedule.ingest_retry_minutes >= 1, "'schedule.ingest_retry_minutes' must be at least 1")
    need(settings.web.base_url.startswith(("http://", "https://")), "'web.base_url' must start with http(s)://")
    # It goes into every link and the List-Unsubscribe header: a line break (a secrets file's last newline)
    # would end that header and start another.
    need(
        re.fullmatch(r"https?://[^\s<>\"'\x00-\x1f\x7f]+", settings.web.base_url) is not None,
        "'web.base_url' must be one address, without spaces, line breaks or quotes",
    )
    for key, zone in (
        ("digest.default_timezone", settings.digest.default_timezone),
        ("schedule.timezone", settings.schedule.timezone),
    ):
        need(is_timezone(zone), f"'{key}' is not an IANA timezone: {zone!r}")
    try:
        settings.digest.subject.format(count=1, papers="x", topics="x", date="x")
    except (KeyError, IndexError, ValueError) as exc:
        need(False, f"'digest.subject' may use only {{count}}, {{papers}}, {{topics}} and {{date}} ({exc})")


# Keys that were ever shipped in this repository (the example config, the docs): anyone can read them, so
# they sign nothing. The empty string is "not set".
PLACEHOLDER_KEYS = frozenset({"", "insecure-development-key-change-me", "change-me", "changeme", "…", "..."})
MIN_KEY_LENGTH = 16
MAKE_A_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


# Domains that can never be a sender's own (RFC 2606, RFC 6761).
_EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")
_EXAMPLE_SUFFIXES = (".example", ".invalid", ".test", ".localhost")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def example_values(settings: Settings) -> list[str]:
    """What readers would see that is still the example's: a sender at a reserved domain, the example postal
    address, links to this machine. Fine for trying the tool against a capture server; wrong for readers."""
    from urllib.parse import urlsplit

    found = []
    domain = settings.sender.from_address.rpartition("@")[2].lower()
    if domain in _EXAMPLE_DOMAINS or domain.endswith(_EXAMPLE_SUFFIXES):
        found.append(f"sender.from_address is {settings.sender.from_address}")
    if settings.sender.postal_address == SenderSettings().postal_address:
        found.append("sender.postal_address is the example street")
    host = (urlsplit(settings.web.base_url).hostname or "").lower()
    if host in _LOOPBACK or host.endswith(".localhost"):
        found.append(f"web.base_url is {settings.web.base_url}, which readers cannot open")
    return found


def require_secret_key(settings: Settings) -> None:
    """Refuse to sign links with a missing, empty or published key: anyone could mint any reader's links."""
    key = settings.web.secret_key.strip()
    where = settings.origin("web.secret_key")
    if key in PLACEHOLDER_KEYS:
        state = "is not set" if not key else "is the published example value"
        raise ConfigError(
            f"{where}: 'web.secret_key' {state}: run `newsletter init` for a config "
            f"with a fresh key, or set NEWSLETTER_WEB_SECRET_KEY to the output of {MAKE_A_KEY}"
        )
    if len(key) < MIN_KEY_LENGTH:  # a short key is guessed offline from one link, then every link is forged
        raise ConfigError(
            f"{where}: 'web.secret_key' is {len(key)} characters, and the key that "
            f"signs every reader's links needs at least {MIN_KEY_LENGTH}: run `newsletter init` for a config with "
            f"a fresh key, or set it to the output of {MAKE_A_KEY}"
        )


def readable_secrets(settings: Settings) -> str | None:
    """The config file holds a secret (the key that signs readers' links, a password) and other users of the
    machine can read it, as a copy of config.example.toml can (`init` writes its file 0600): what to do."""
    file = settings.source_file
    if file is None:
        return None
    values = {
        "web.secret_key": settings.web.secret_key,
        "smtp.password": settings.smtp.password,
        "inbox.password": settings.inbox.password,
        "database.url": urlsplit(settings.database.url).password or "",
    }
    held = [key for key, value in values.items() if value and key not in settings.from_environment]
    if not held:
        return None
    try:
        mode = os.stat(file).st_mode & 0o777
    except OSError:
        return None
    if not mode & 0o077:
        return None
    return f"{file} holds {', '.join(held)} and other users can read it (mode {mode:o}): chmod 600 {file}"
