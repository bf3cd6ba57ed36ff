"""Acting on mail that came back, only when it proves it answers a message we sent.

A report proves it by a valid return path token or the Message-ID of one of our deliveries; then its reader is
suppressed (hard bounce, 3 soft ones in 14 days), unsubscribed and suppressed (complaint) or unsubscribed
(mailto:). Anything that proves nothing is recorded as unattributed and never acted on. Called by `bounces
import` and the inbox poll."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from newsletter.config import Settings
from newsletter.returns import bounces
from newsletter.returns.bounces import Report
from newsletter.returns.sender_limits import rate_warnings, warn_past_limits
from newsletter.store.deliverability import DeliverabilityStats, IssueRates
from newsletter.store.mail_events import (
    COMPLAINT,
    HARD,
    SOFT,
    UNATTRIBUTED,
    UNSUBSCRIBE,
    MailEvent,
    MailEventStore,
    Target,
)
from newsletter.verp import MailAddresses

log = logging.getLogger(__name__)

_COUNTERS = {HARD: "hard", SOFT: "soft", COMPLAINT: "complaints", UNSUBSCRIBE: "unsubscribes"}  # in ReturnSummary


@dataclass
class ReturnSummary:
    """Counts of one import or poll, by what each message turned out to be."""

    messages: int = 0
    hard: int = 0
    soft: int = 0
    delayed: int = 0
    complaints: int = 0
    unsubscribes: int = 0
    unattributed: int = 0
    duplicates: int = 0
    other: int = 0  # neither a report nor a mail to the unsubscribe address
    suppressed: int = 0
    unsubscribed: int = 0
    problems: list[str] = field(default_factory=list)
    issues: set[date] = field(default_factory=set)
    elapsed: float = 0.0

    def line(self) -> str:
        rate = self.messages / self.elapsed if self.elapsed > 0 else 0.0
        return (
            f"read {self.messages} messages: {self.hard} hard bounces, {self.soft} soft, {self.delayed} delayed, "
            f"{self.complaints} complaints, {self.unsubscribes} unsubscribes, {self.unattributed} unattributed "
            f"(nothing done), {self.duplicates} read before, {self.other} other; {self.suppressed} readers "
            f"suppressed, {self.unsubscribed} unsubscribed in {self.elapsed:.1f}s ({rate:.0f} msg/s)"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "messages": self.messages,
            "hard_bounces": self.hard,
            "soft_bounces": self.soft,
            "delayed": self.delayed,
            "complaints": self.complaints,
            "unsubscribes": self.unsubscribes,
            "unattributed": self.unattributed,
            "duplicates": self.duplicates,
            "other": self.other,
            "suppressed": self.suppressed,
            "unsubscribed": self.unsubscribed,
            "problems": self.problems,
            "elapsed": round(self.elapsed, 3),
        }


class ReturnedMail:
    """Reads, attributes and records each message; `finish` records what is left and warns about issues
    past the limits.

    Events are recorded `batch` at a time (one commit each). The inbox poll uses 1: a mail is moved out of
    the folder only once what it said is committed."""

    def __init__(self, settings: Settings, events: MailEventStore, stats: DeliverabilityStats, batch: int = 1) -> None:
        self.addresses = MailAddresses(settings)
        self.events = events
        self.stats = stats
        self.batch = batch
        self.summary = ReturnSummary()
        self._pending: list[tuple[MailEvent, str]] = []  # (event, the line naming it if unattributed)
        self._started = time.monotonic()

    def handle(self, source: str, data: bytes) -> None:
        summary = self.summary
        summary.messages += 1
        report = bounces.parse(data, source)
        if self.events.seen(report.key):
            summary.duplicates += 1
            return
        if report.kind == bounces.MAIL:
            self._mail(report)
        elif report.kind == bounces.ARF:
            self._complaint(report)
        else:
            self._bounce(report)

    def finish(self) -> ReturnSummary:
        self.flush()
        self.summary.elapsed = time.monotonic() - self._started
        warn_past_limits(self.stats, self.summary.issues)
        return self.summary

    def _bounce(self, report: Report) -> None:
        worst = report.worst
        if worst is None:
            self._unusable(report, report.problem or "no failed recipient found")
            return
        if worst.severity == "delayed":
            self.summary.delayed += 1  # the sending server still tries: nothing to do yet
            return
        kind = HARD if worst.severity == "hard" else SOFT
        self._record(report, kind, self._attribute(report), worst.status, worst.diagnostic, worst.recipient)

    def _complaint(self, report: Report) -> None:
        if report.problem:
            self._unusable(report, report.problem)
            return
        if report.feedback_type in bounces.NOT_COMPLAINTS:
            self._unusable(report, f"feedback type {report.feedback_type}: not a complaint")
            return
        claimed = report.bounces[0].recipient if report.bounces else ""
        target = self._attribute(report)
        self._record(report, COMPLAINT, target, report.feedback_type, report.subject, claimed, report.feedback)

    def _mail(self, report: Report) -> None:
        """A mail to the List-Unsubscribe mailto: address unsubscribes the reader its token names."""
        for address in report.addressed_to:
            subscriber_id = self.addresses.read_unsubscribe_address(address)
            if subscriber_id is not None:
                target = self.events.by_subscriber(subscriber_id)
                self._record(report, UNSUBSCRIBE, target, "mailto", report.subject, "")
                return
        self.summary.other += 1
        self.summary.problems.append(f"{report.source}: not a delivery report, complaint or unsubscribe")

    def _attribute(self, report: Report) -> Target | None:
        """The delivery a report proves it is about: a valid return path token among the addresses it was
        sent to (or in the Return-Path it quotes), else a quoted Message-ID found in the ledger."""
        for address in report.addressed_to + report.quoted_return_paths:
            path = self.addresses.read_return_path(address)
            if path is not None:
                target = self.events.by_delivery(path.subscriber_id, path.issue_date)
                if target is not None:
                    return target
        return self.events.by_message_ids(report.quoted_ids)

    def _record(
        self,
        report: Report,
        kind: str,
        target: Target | None,
        status: str,
        detail: str,
        claimed: str,
        feedback: str | None = None,
    ) -> None:
        unattributed = ""
        if target is None:
            unattributed = (
                f"{report.source}: unattributed {report.kind}"
                + (f" naming {claimed}" if claimed else "")
                + ": it proves no message of ours (no valid return path, no Message-ID of our deliveries); "
                "nothing done"
            )
            kind, status = UNATTRIBUTED, f"{report.kind}:{kind}"
        event = MailEvent(
            message_key=report.key,
            kind=kind,
            occurred_at=report.date or datetime.now(UTC),
            target=target,
            domain=(target.email if target else claimed).rpartition("@")[2],
            status=status,
            detail=detail,
            source=report.source,
            report=feedback,
        )
        self._pending.append((event, unattributed))
        if len(self._pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Record the pending events (one transaction) and count what they did."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        summary = self.summary
        for (event, unattributed), applied in zip(pending, self.events.record([e for e, _ in pending]), strict=True):
            target = event.target
            if applied.duplicate:
                summary.duplicates += 1
            elif target is None:
                summary.unattributed += 1
                summary.problems.append(unattributed)
            else:
                counter = _COUNTERS[event.kind]
                setattr(summary, counter, getattr(summary, counter) + 1)
                summary.suppressed += applied.suppressed
                summary.unsubscribed += applied.unsubscribed
                if target.issue_date is not None:
                    summary.issues.add(target.issue_date)

    def _unusable(self, report: Report, why: str) -> None:
        self.summary.other += 1
        self.summary.problems.append(f"{report.source}: {why}")


WINDOWS = (7, 30)  # days shown by `status --deliverability`


@dataclass(frozen=True)
class Deliverability:
    domains: list[dict[str, Any]]
    issues: list[IssueRates]
    unattributed: dict[int, int]
    warnings: list[str]

    def to_dict(self) -> dict[str, object]:
        return {
            "domains": self.domains,
            "issues": [
                {
                    "issue_date": r.issue_date.isoformat(),
                    "sent": r.attempted,
                    "bounces": r.bounces,
                    "complaints": r.complaints,
                    "bounce_rate": round(r.bounce_rate, 4),
                    "complaint_rate": round(r.complaint_rate, 5),
                }
                for r in self.issues
            ],
            "unattributed": {f"{days}d": n for days, n in self.unattributed.items()},
            "warnings": self.warnings,
        }


def deliverability(stats: DeliverabilityStats, issue_date: date | None = None) -> Deliverability:
    """Per recipient domain over 7 and 30 days, per recent issue (or the one given), and the warnings."""
    columns = ("sent", "hard_bounces", "soft_bounces", "complaints", "unsubscribes")
    rows: dict[str, dict[str, Any]] = {}
    for days in WINDOWS:
        for counts in stats.domain_counts(days):
            row = rows.setdefault(counts.domain, {"domain": counts.domain, **{c: {} for c in columns}})
            for column in columns:
                row[column][f"{days}d"] = getattr(counts, column)
    suppressions = stats.suppressions_by_domain()
    for domain in suppressions:
        rows.setdefault(domain, {"domain": domain, **{c: {} for c in columns}})
    for row in rows.values():
        row["suppressions"] = suppressions.get(row["domain"], 0)
        for column in columns:
            for days in WINDOWS:
                row[column].setdefault(f"{days}d", 0)
    domains = sorted(rows.values(), key=lambda r: (-r["sent"]["30d"], r["domain"]))
    issues = stats.issue_rates([issue_date] if issue_date else stats.recent_issues())
    unattributed = {days: stats.unattributed(days) for days in WINDOWS}
    return Deliverability(domains, issues, unattributed, rate_warnings(issues))
