"""Settings: defaults < TOML file < NEWSLETTER_* environment < CLI flags; the only module that reads os.environ."""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsletter.errors import ConfigError
from newsletter.resources import bundled

ENV_PREFIX = "NEWSLETTER_"
DEFAULT_CONFIG_FILE = "newsletter.toml"
USER_AGENT = "newsletter/0.1 (research paper digest; mailto:papers@example.com)"

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Settings = TypeVar("_Settings", bound="DataclassInstance")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///newsletter.db"


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 1025
    tls: str = "none"
    username: str = ""
    password: str = field(default="", repr=False)
    allow_plain_auth: bool = False
    timeout: float = 30.0
    pool_size: int = 4
    rate_per_second: float = 0.0
    rate_per_hour: int = 0
    ca_file: str = ""
    max_attempts: int = 5
    retry_base: float = 30.0
    retry_wait: float = 120.0
    batch_size: int = 100
    # Per recipient domain, on top of the global limits: (("gmail.com", "20/s"), ...) from a TOML table.
    domain_limits: tuple[tuple[str, str], ...] = ()

    @property
    def domain_intervals(self) -> dict[str, float]:
        """Seconds between two messages to each limited domain."""
        return {domain: rate_interval(rate) for domain, rate in self.domain_limits}


@dataclass(frozen=True)
class SenderSettings:
    from_address: str = "papers@example.com"
    from_name: str = "Daily Papers"
    reply_to: str = ""
    postal_address: str = "Daily Papers, 1 Example Street, Example City"
    list_id: str = ""  # the List-Id; "" = digest.<from_address's domain>
    feedback_sender: str = ""  # the last field of Feedback-ID; "" = from_address's domain
    # Envelope sender (VERP) and List-Unsubscribe mailto:, each with a signed token in the local part;
    # "" derives them from from_address's domain (bounces+{token}@domain, unsubscribe+{token}@domain).
    return_path: str = ""
    unsubscribe_address: str = ""

    @property
    def domain(self) -> str:
        return self.from_address.rpartition("@")[2]

    @property
    def list_identifier(self) -> str:
        return self.list_id or f"digest.{self.domain}"

    @property
    def feedback_sender_id(self) -> str:
        return self.feedback_sender or self.domain


@dataclass(frozen=True)
class InboxSettings:
    """The IMAP mailbox where bounces, complaints and mailto: unsubscribes arrive ("" host: not polled)."""

    host: str = ""
    port: int = 143
    tls: str = "none"
    username: str = ""
    password: str = field(default="", repr=False)
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    poll_minutes: int = 10
    ca_file: str = ""
    timeout: float = 30.0
    allow_plain_auth: bool = False


@dataclass(frozen=True)
class DkimSettings:
    selector: str = ""
    domain: str = ""
    private_key_file: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.selector and self.private_key_file)


@dataclass(frozen=True)
class WebSettings:
    base_url: str = "http://localhost:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = field(default="", repr=False)  # required by serve/send/run/worker: `newsletter init`
    confirm_per_address: int = 3
    confirm_per_ip: int = 20


@dataclass(frozen=True)
class DigestSettings:
    max_items: int = 10
    first_digest_days: int = 3
    send_empty: bool = False
    default_timezone: str = "UTC"
    default_send_hour: int = 7
    subject: str = "{count} new papers on {topics} — {date}"


@dataclass(frozen=True)
class HfSourceSettings:
    enabled: bool = True
    url: str = "https://huggingface.co/api/daily_papers"
    paper_url: str = "https://huggingface.co/api/papers"
    enrich: bool = False
    timeout: float = 20.0
    deadline: float = 60.0
    max_bytes: int = 20_000_000
    max_pages: int = 20
    attempts: int = 4
    backoff: float = 2.0
    user_agent: str = USER_AGENT


@dataclass(frozen=True)
class ArxivSourceSettings:
    enabled: bool = False
    categories: tuple[str, ...] = ("cs.LG", "cs.CL", "cs.AI")
    feed_url: str = "https://rss.arxiv.org/rss"
    api_url: str = "https://export.arxiv.org/api/query"
    include_cross_lists: bool = False
    complete: bool = True
    api_interval: float = 3.0
    timeout: float = 30.0
    deadline: float = 120.0
    max_bytes: int = 50_000_000
    attempts: int = 4
    backoff: float = 2.0
    user_agent: str = USER_AGENT


@dataclass(frozen=True)
class SourcesSettings:
    hf: HfSourceSettings = field(default_factory=HfSourceSettings)
    arxiv: ArxivSourceSettings = field(default_factory=ArxivSourceSettings)


@dataclass(frozen=True)
class IngestSettings:
    """Length caps on what a feed entry may carry; an entry past one is skipped with a warning."""

    max_title_chars: int = 1000
    max_abstract_chars: int = 10_000
    max_author_chars: int = 300
    max_authors: int = 5000


@dataclass(frozen=True)
class ScheduleSettings:
    ingest_at: str = "01:30"
    timezone: str = "UTC"
    send_every_minutes: int = 5
    ingest_retry_minutes: int = 20
    ingest_deadline: str = "08:00"


@dataclass(frozen=True)
class PathSettings:
    templates: str = str(bundled("templates"))
    migrations: str = str(bundled("migrations"))
    cache: str = ""  # "" = $XDG_CACHE_HOME/newsletter, else ~/.cache/newsletter
    state: str = ""  # "" = $XDG_STATE_HOME/newsletter, else ~/.local/state/newsletter


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    sender: SenderSettings = field(default_factory=SenderSettings)
    dkim: DkimSettings = field(default_factory=DkimSettings)
    inbox: InboxSettings = field(default_factory=InboxSettings)
    web: WebSettings = field(default_factory=WebSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    sources: SourcesSettings = field(default_factory=SourcesSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    paths: PathSettings = field(default_factory=PathSettings)
    source_file: str | None = None

    def replace(self, **sections: Mapping[str, Any]) -> Settings:
        """Return a copy with some keys of some sections overridden (CLI flags, tests)."""
        return _merge(self, sections, origin="override")


def load_settings(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Layer defaults, the TOML file, then NEWSLETTER_* variables; validate once."""
    env = os.environ if env is None else env
    chosen = _choose_file(path, env)
    settings = Settings()
    if chosen is not None:
        settings = _merge(settings, _read_toml(chosen), origin=str(chosen))
        settings = dataclasses.replace(settings, source_file=str(chosen))
    settings = _merge(settings, _env_overrides(settings, env), origin="environment")
    if not settings.paths.cache:
        base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
        settings = settings.replace(paths={"cache": str(base / "newsletter")})
    if not settings.paths.state:
        base = Path(env["XDG_STATE_HOME"]) if env.get("XDG_STATE_HOME") else Path.home() / ".local" / "state"
        settings = settings.replace(paths={"state": str(base / "newsletter")})
    _validate(settings)
    return settings


def _choose_file(path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    if path is not None:
        return Path(path)
    if env.get("NEWSLETTER_CONFIG"):
        return Path(env["NEWSLETTER_CONFIG"])
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.exists() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def _merge(obj: _Settings, values: Mapping[str, Any], origin: str, prefix: str = "") -> _Settings:
    """Return obj (a settings dataclass) with values applied, checking every key and type."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{origin}: [{prefix.rstrip('.')}] must be a table")
    known = {f.name: f for f in dataclasses.fields(obj) if f.name != "source_file"}
    hints = typing.get_type_hints(type(obj))
    changes: dict[str, Any] = {}
    for key, value in values.items():
        where = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(f"{origin}: unknown key '{where}'")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current) and not isinstance(current, type):
            changes[key] = _merge(current, value, origin, prefix=f"{where}.")
        else:
            changes[key] = _coerce(value, hints[key], origin, where)
    return dataclasses.replace(obj, **changes)


def _coerce(value: Any, kind: Any, origin: str, where: str) -> Any:
    def bad(expected: str) -> ConfigError:
        # A database URL may hold a password too.
        shown = "(hidden)" if any(word in where for word in ("password", "secret", "database.url")) else repr(value)
        return ConfigError(f"{origin}: '{where}' must be {expected}, got {shown}")

    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        }:
            return value.strip().lower() in {"1", "true", "yes", "on"}
        raise bad("true or false")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        raise bad("a whole number")
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise bad("a number")
    if kind is str:
        if isinstance(value, str):
            return value
        raise bad("a string")
    if kind == tuple[tuple[str, str], ...]:  # a TOML table of strings; in the environment "a=x, b=y"
        if isinstance(value, str):
            pairs = [part.partition("=") for part in value.split(",") if part.strip()]
            if all(sep for _key, sep, _value in pairs):
                value = {key.strip(): item.strip() for key, _sep, item in pairs}
        if isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            return tuple((k.strip().lower(), v) for k, v in value.items())
        raise bad('a table of strings (in the environment: "key=value, key=value")')
    if typing.get_origin(kind) is tuple:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        raise bad("a list of strings")
    raise TypeError(f"settings field {where} has an unsupported type {kind}")


def _env_overrides(settings: Settings, env: Mapping[str, str]) -> dict[str, Any]:
    """Map NEWSLETTER_<SECTION>_<KEY> (nested: NEWSLETTER_SOURCES_HF_URL) onto the settings tree."""
    overrides: dict[str, Any] = {}

    def walk(obj: Any, path: list[str], target: dict[str, Any]) -> None:
        for f in dataclasses.fields(obj):
            if f.name == "source_file":
                continue
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                sub: dict[str, Any] = {}
                walk(value, [*path, f.name], sub)
                if sub:
                    target[f.name] = sub
                continue
            name = ENV_PREFIX + "_".join([*path, f.name]).upper()
            if name in env:
                target[f.name] = env[name]

    walk(settings, [], overrides)
    return overrides


_SMTP_TLS_MODES = ("none", "starttls", "implicit")
# The longest token newsletter.verp puts into a return path or unsubscribe address.
TOKEN_LENGTH = 40


def _validate(settings: Settings) -> None:
    origin = settings.source_file or "settings"

    def need(ok: bool, message: str) -> None:
        if not ok:
            raise ConfigError(f"{origin}: {message}")

    need(settings.smtp.tls in _SMTP_TLS_MODES, f"'smtp.tls' must be one of {', '.join(_SMTP_TLS_MODES)}")
    need(1 <= settings.smtp.port <= 65535, "'smtp.port' must be between 1 and 65535")
    need(1 <= settings.web.port <= 65535, "'web.port' must be between 1 and 65535")
    need(settings.smtp.pool_size >= 1, "'smtp.pool_size' must be at least 1")
    need(settings.smtp.timeout > 0, "'smtp.timeout' must be positive")
    need(settings.smtp.max_attempts >= 1, "'smtp.max_attempts' must be at least 1")
    need(settings.smtp.batch_size >= 1, "'smtp.batch_size' must be at least 1")
    need(settings.smtp.rate_per_second >= 0 and settings.smtp.rate_per_hour >= 0, "SMTP rate limits must be >= 0")
    for domain, rate in settings.smtp.domain_limits:
        try:
            rate_interval(rate)
        except ValueError as exc:
            raise ConfigError(f"{origin}: 'smtp.domain_limits' {domain!r}: {exc}") from None
        is_domain = re.fullmatch(r"[a-z0-9.-]+\.[a-z0-9-]+", domain) is not None
        need(is_domain, f"'smtp.domain_limits': {domain!r} is not a domain")
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
    need("@" in settings.sender.from_address, "'sender.from_address' must be an email address")
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
    for key, zone in (
        ("digest.default_timezone", settings.digest.default_timezone),
        ("schedule.timezone", settings.schedule.timezone),
    ):
        need(is_timezone(zone), f"'{key}' is not an IANA timezone: {zone!r}")
    try:
        settings.digest.subject.format(count=1, topics="x", date="x")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"{origin}: 'digest.subject' may use only {{count}}, {{topics}} and {{date}} ({exc})"
        ) from None


# Keys that were ever shipped in this repository (the example config, the docs): anyone can read them, so
# they sign nothing. The empty string is "not set".
PLACEHOLDER_KEYS = frozenset({"", "insecure-development-key-change-me", "change-me", "changeme", "…", "..."})
MAKE_A_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def require_secret_key(settings: Settings) -> None:
    """Refuse to sign links with a missing, empty or published key: anyone could mint any reader's links."""
    key = settings.web.secret_key.strip()
    if key in PLACEHOLDER_KEYS:
        state = "is not set" if not key else "is the published example value"
        raise ConfigError(
            f"{settings.source_file or 'settings'}: 'web.secret_key' {state}: run `newsletter init` for a config "
            f"with a fresh key, or set NEWSLETTER_WEB_SECRET_KEY to the output of {MAKE_A_KEY}"
        )


INITIAL_CONFIG = """\
# Written by `newsletter init`. Every key is documented in config.example.toml; any key can also come
# from the environment as NEWSLETTER_<SECTION>_<KEY>, which wins over this file.

[web]
# Public URL of `newsletter serve` (the links in every mail point here).
base_url = "http://localhost:8000"
# Signs every link and Message-ID; keep it secret (this file is mode 0600). Changing it kills old links.
secret_key = "{key}"

[smtp]
host = "localhost"
port = 1025

[sender]
from_address = "papers@example.com"
postal_address = "Daily Papers, 1 Example Street, Example City"
"""


def write_initial(path: Path) -> None:
    """A new config file with a fresh random secret key, readable by its owner only; never overwrites."""
    text = INITIAL_CONFIG.format(key=secrets.token_urlsafe(32))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"{path} exists already: not overwritten (choose another with --path)") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*([smh])\s*")
_PERIODS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def rate_interval(rate: str) -> float:
    """Seconds between two messages for a rate such as "20/s", "300/m" or "2000/h" (ValueError if malformed)."""
    found = _RATE.fullmatch(rate)
    if found is None or float(found.group(1)) <= 0:
        raise ValueError(f'{rate!r} is not a rate such as "20/s", "300/m" or "2000/h"')
    return _PERIODS[found.group(2)] / float(found.group(1))
