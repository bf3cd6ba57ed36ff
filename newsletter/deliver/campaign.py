"""One issue's send loop: claim each reader's ledger row, send, mark; progress bar and a summary."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from newsletter.deliver.mailer import CONNECTION_LOST, Mailer
from newsletter.errors import DeliveryError
from newsletter.models import Digest, Outgoing, Subscriber
from newsletter.store.ledger import Delivery, Ledger

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
# Consecutive lost connections after which the server is taken to be down and the run stops.
MAX_CONNECTION_FAILURES = 3


@dataclass(frozen=True)
class Plan:
    """What to do for one reader: send `digest` (tracked by `delivery` unless a dry run), or skip and why."""

    subscriber: Subscriber
    digest: Digest | None = None
    delivery: Delivery | None = None
    skip: str | None = None


@dataclass
class Summary:
    sent: int = 0
    failed_transient: int = 0
    failed_permanent: int = 0
    skipped: int = 0
    elapsed: float = 0.0
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return self.failed_transient + self.failed_permanent

    def line(self, label: str) -> str:
        rate = self.sent / self.elapsed if self.elapsed > 0 else 0.0
        return (
            f"{label}: {self.sent} sent, {self.failed} failed "
            f"({self.failed_permanent} permanent, {self.failed_transient} to retry), {self.skipped} skipped "
            f"in {self.elapsed:.1f}s ({rate:.1f} msg/s)"
        )


class Campaign:
    def __init__(
        self,
        mailer: Mailer,
        compose: Callable[[Digest], Outgoing],
        ledger: Ledger | None,
        owner: str,
        show_progress: bool = True,
    ) -> None:
        self.mailer = mailer
        self.compose = compose
        self.ledger = ledger
        self.owner = owner
        self.show_progress = show_progress

    async def run(self, plans: Iterable[Plan], total: int, label: str) -> Summary:
        summary = Summary()
        started = time.monotonic()
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]:.1f} msg/s · {task.fields[failed]} failed"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not self.show_progress,
            transient=True,
        )
        lost_in_a_row = 0
        await self.mailer.open()
        try:
            with progress:
                task = progress.add_task(label, total=total, rate=0.0, failed=0)
                for plan in plans:
                    outcome = await self._one(plan, summary)
                    lost_in_a_row = lost_in_a_row + 1 if outcome == CONNECTION_LOST else 0
                    elapsed = time.monotonic() - started
                    progress.update(
                        task, advance=1, rate=summary.sent / elapsed if elapsed else 0, failed=summary.failed
                    )
                    if lost_in_a_row >= MAX_CONNECTION_FAILURES:
                        raise DeliveryError(
                            f"{self.mailer.name}: connection lost {lost_in_a_row} times in a row; stopped "
                            f"after {summary.sent} sent (the rest stays pending: run `send` again)"
                        )
        finally:
            await self.mailer.close()
            summary.elapsed = time.monotonic() - started
        return summary

    async def _one(self, plan: Plan, summary: Summary) -> int | None:
        email = plan.subscriber.email
        if plan.skip is not None or plan.digest is None:
            summary.skipped += 1
            summary.outcomes.append((email, "skipped", plan.skip or ""))
            log.info("skipped %s: %s", email, plan.skip)
            return None
        outgoing = self.compose(plan.digest)
        if self.ledger is not None and plan.delivery is not None:
            claimed = self.ledger.claim(plan.delivery.id, self.owner, outgoing.message_id, LEASE)
            if claimed is None:
                summary.skipped += 1
                summary.outcomes.append((email, "skipped", "taken by another sender"))
                log.info("skipped %s: its delivery is being handled by another sender", email)
                return None
        result = await self.mailer.send(outgoing)
        if self.ledger is not None and plan.delivery is not None:
            if result.ok:
                self.ledger.mark_sent(plan.delivery.id, result.code, result.reply)
            else:
                self.ledger.mark_failed(plan.delivery.id, result.code, result.reply, result.transient)
        if result.ok:
            summary.sent += 1
            summary.outcomes.append((email, "sent", result.reply))
        else:
            state = "failed_transient" if result.transient else "failed_permanent"
            if result.transient:
                summary.failed_transient += 1
            else:
                summary.failed_permanent += 1
            summary.outcomes.append((email, state, f"{result.code} {result.reply}"))
            log.warning(
                "%s %s: %s %s",
                "deferred" if result.transient else "rejected",
                email,
                result.code,
                result.reply,
            )
        return result.code
