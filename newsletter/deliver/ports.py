"""What delivery needs of the store, declared here so deliver/ imports no store module (the pipeline passes them in)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from newsletter.models import Delivery, Digest, Outcome, Paper, Subscriber


class DeliveryLedger(Protocol):
    """The delivery ledger: ready rows claimed under a lease, outcomes recorded, unsent rows given back."""

    def claim(
        self,
        owner: str,
        lease: timedelta,
        limit: int,
        issue_date: date | None = None,
        subscriber_ids: Collection[int] | None = None,
        skip_domains: Collection[str] = (),
    ) -> list[Delivery]: ...

    def record(self, outcomes: Sequence[Outcome]) -> None: ...

    def apply_journal(self, owner: str, outcomes: Sequence[Outcome]) -> int: ...

    def release(self, delivery_ids: Collection[int]) -> None: ...

    def renew(self, owner: str, delivery_ids: Collection[int], lease: timedelta) -> None: ...

    def lease_owners(self) -> set[str]: ...

    def supersede(self, issue_date: date | None) -> int: ...

    def expire_leases(self, owners: Collection[str]) -> int: ...

    def next_retry(self, issue_date: date | None) -> datetime | None: ...

    def retries_scheduled(self, issue_date: date | None) -> int: ...


class ArchivedDigests(Protocol):
    """The archived digests of claimed rows (those this process did not just build)."""

    def load_digests(
        self, deliveries: Sequence[Delivery], subscribers: Mapping[int, Subscriber], papers: dict[int, Paper]
    ) -> dict[int, Digest]: ...


class Readers(Protocol):
    """The readers of claimed rows, by id."""

    def by_ids(self, ids: Collection[int]) -> dict[int, Subscriber]: ...


class SendJournal(Protocol):
    """Outcomes appended the moment the server answers, so a crash repeats only messages in flight."""

    @property
    def owner(self) -> str: ...

    @property
    def directory(self) -> Path: ...

    def open(self) -> None: ...

    def append(self, outcome: Outcome) -> None: ...

    def close(self, recorded: bool) -> None: ...

    def recover(self, ledger: DeliveryLedger) -> dict[str, int]: ...
