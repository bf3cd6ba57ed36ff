"""All database access: nothing outside this package opens a session."""

from newsletter.store.db import Database
from newsletter.store.ledger import Ledger
from newsletter.store.mail_events import MailEventStore
from newsletter.store.papers import PaperStore
from newsletter.store.search import PaperSearch, SearchHit
from newsletter.store.subscribers import SubscriberStore

__all__ = ["Database", "Ledger", "MailEventStore", "PaperSearch", "PaperStore", "SearchHit", "SubscriberStore"]
