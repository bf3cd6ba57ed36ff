"""All database access: nothing outside this package opens a session.

The stores are imported on first use (PEP 562), so a command that needs one of them loads only that one.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newsletter.store.archive import DigestArchive
    from newsletter.store.background import Background
    from newsletter.store.db import Database
    from newsletter.store.deliverability import DeliverabilityStats
    from newsletter.store.deliveries import Deliveries
    from newsletter.store.ingest_runs import IngestRuns
    from newsletter.store.ledger import Ledger
    from newsletter.store.mail_events import MailEventStore
    from newsletter.store.papers import PaperStore
    from newsletter.store.roster import Roster
    from newsletter.store.search import PaperSearch, SearchHit
    from newsletter.store.subscribers import SubscriberStore

_HOMES = {
    "Background": "background",
    "Database": "db",
    "DeliverabilityStats": "deliverability",
    "Deliveries": "deliveries",
    "DigestArchive": "archive",
    "IngestRuns": "ingest_runs",
    "Ledger": "ledger",
    "MailEventStore": "mail_events",
    "PaperStore": "papers",
    "PaperSearch": "search",
    "Roster": "roster",
    "SearchHit": "search",
    "SubscriberStore": "subscribers",
}
__all__ = [
    "Background",
    "Database",
    "DeliverabilityStats",
    "Deliveries",
    "DigestArchive",
    "IngestRuns",
    "Ledger",
    "MailEventStore",
    "PaperSearch",
    "PaperStore",
    "Roster",
    "SearchHit",
    "SubscriberStore",
]


if not TYPE_CHECKING:  # to mypy, a module __getattr__ would make every misspelt name Any

    def __getattr__(name: str) -> Any:
        if name not in _HOMES:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
