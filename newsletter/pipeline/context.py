"""The settings and the stores of one process (Context), and the issue date of today."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from newsletter.config import Settings
from newsletter.store import (
    Database,
    DeliverabilityStats,
    Deliveries,
    DigestArchive,
    IngestRuns,
    Ledger,
    MailEventStore,
    PaperSearch,
    PaperStore,
    SubscriberStore,
)

if TYPE_CHECKING:
    from newsletter.meanings import Meanings


@dataclass
class Context:
    """The settings and the stores of one process."""

    settings: Settings
    db: Database
    papers: PaperStore = field(init=False)
    ingest_runs: IngestRuns = field(init=False)
    subscribers: SubscriberStore = field(init=False)
    archive: DigestArchive = field(init=False)
    ledger: Ledger = field(init=False)
    deliveries: Deliveries = field(init=False)
    search: PaperSearch = field(init=False)
    mail_events: MailEventStore = field(init=False)
    mail_stats: DeliverabilityStats = field(init=False)

    def __post_init__(self) -> None:
        self.papers = PaperStore(self.db)
        self.ingest_runs = IngestRuns(self.db)
        self.search = PaperSearch(self.db)
        self.subscribers = SubscriberStore(self.db)
        self.archive = DigestArchive(self.db)
        self.ledger = Ledger(self.db)
        self.deliveries = Deliveries(self.db)
        self.mail_events = MailEventStore(self.db)
        self.mail_stats = DeliverabilityStats(self.db)

    @cached_property
    def meanings(self) -> Meanings:
        """What the readers' phrases mean, from the stored papers; made on first use: it brings numpy and the
        shipped model, which a command that only reads the ledger (`status`, `jobs`) does without."""
        from newsletter.meanings import Meanings
        from newsletter.store import Background

        return Meanings(Background(self.db).neighbours)

    @classmethod
    def open(cls, settings: Settings, migrate: bool = True) -> Context:
        return cls(settings, Database.open(settings, migrate))

    def close(self) -> None:
        self.db.dispose()


def today(settings: Settings) -> date:
    """The issue date: today in the schedule's timezone."""
    return datetime.now(ZoneInfo(settings.schedule.timezone)).date()
