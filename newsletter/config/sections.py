"""The settings tree: one frozen dataclass per section of newsletter.toml, each key with its documented default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from newsletter.config.merge import ENV_PREFIX, merge
from newsletter.config.values import hour_minute, rate_interval
from newsletter.resources import bundled

USER_AGENT = "newsletter/0.1 (research paper digest; mailto:papers@example.com)"


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
    subject: str = "{count} new {papers} on {topics} — {date}"


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

    def at(self, clock: str, day: datetime) -> datetime:
        """The day at one of these "HH:MM" (ingest_at, ingest_deadline), in the day's own timezone."""
        hour, minute = hour_minute(clock)
        return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


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
    from_environment: frozenset[str] = frozenset()  # the keys ('web.secret_key') a NEWSLETTER_ variable set

    def origin(self, key: str) -> str:
        """Where a key's value came from, for a message about it: its variable, else the file, else the defaults."""
        if key in self.from_environment:
            return ENV_PREFIX + key.replace(".", "_").upper()
        return self.source_file or "settings"

    def replace(self, **sections: Mapping[str, Any]) -> Settings:
        """Return a copy with some keys of some sections overridden (CLI flags, tests)."""
        return merge(self, sections, origin="override")
