"""All database access: nothing outside this package opens a session."""

from newsletter.store.background import Background
from newsletter.store.db import Database
from newsletter.store.ledger import Ledger
from newsletter.store.papers import PaperStore
from newsletter.store.search import PaperSearch, SearchHit
from newsletter.store.subscribers import SubscriberStore

__all__ = ["Background", "Database", "Ledger", "PaperSearch", "PaperStore", "SearchHit", "SubscriberStore"]
