"""What a send run tells when it ends: each reader's final outcome counted, failures and a few skips named."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

SAMPLE = 50  # skipped readers listed by name; beyond that only counted


@dataclass
class Summary:
    """Counts of each reader's final outcome in this run (a 451 then a 250 counts as sent).

    Memory stays flat however many readers: only failures are kept by reader (a later success removes
    them), and skipped readers are counted by reason with the first few named."""

    failures: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # delivery id -> (email, state, why)
    counts: Counter[str] = field(default_factory=Counter)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    skip_sample: list[tuple[str, str, str]] = field(default_factory=list)
    retry_later: int = 0
    held: int = 0  # rows another sender holds as this send ends
    elapsed: float = 0.0

    def set(self, key: int, email: str, state: str, detail: str) -> None:
        """Record a reader's latest outcome, keeping the counts current (progress reads them per message)."""
        previous = self.failures.pop(key, None)
        if previous is not None:
            self.counts[previous[1]] -= 1
        self.counts[state] += 1
        if state != "sent":
            self.failures[key] = (email, state, detail)

    def skip(self, email: str, reason: str) -> None:
        self.skip_reasons[reason.split(" among ")[0]] += 1
        if len(self.skip_sample) < SAMPLE:
            self.skip_sample.append((email, "skipped", reason))

    @property
    def sent(self) -> int:
        return self.counts["sent"]

    @property
    def failed_transient(self) -> int:
        return self.counts["failed_transient"]

    @property
    def failed_permanent(self) -> int:
        return self.counts["failed_permanent"]

    @property
    def failed(self) -> int:
        return self.failed_transient + self.failed_permanent

    @property
    def skipped(self) -> int:
        return sum(self.skip_reasons.values())

    @property
    def outcomes(self) -> list[tuple[str, str, str]]:
        """The readers worth naming: every failure, and the first skipped ones."""
        return [*self.failures.values(), *self.skip_sample]

    @property
    def skipped_unnamed(self) -> str:
        """'… and 531 more skipped: 520 already sent for 2026-11-30, 11 status is paused' (none: "")."""
        left = self.skipped - len(self.skip_sample)
        if left <= 0:
            return ""
        named = Counter(reason.split(" among ")[0] for _, _, reason in self.skip_sample)
        rest = ", ".join(f"{n - named[r]} {r}" for r, n in self.skip_reasons.most_common() if n > named[r])
        return f"… and {left} more skipped: {rest}"

    def add(self, other: Summary) -> None:
        self.counts.update(other.counts)
        self.failures.update(other.failures)
        self.skip_reasons.update(other.skip_reasons)
        self.skip_sample.extend(other.skip_sample[: SAMPLE - len(self.skip_sample)])
        self.retry_later += other.retry_later
        self.elapsed = max(self.elapsed, other.elapsed)

    def line(self, label: str, sent_as: str = "sent") -> str:
        """The run in one line; `sent_as` says what became of the messages counted as sent (a dry run's are
        built, not sent)."""
        rate = self.sent / self.elapsed if self.elapsed > 0 else 0.0
        later = f", {self.retry_later} to retry later" if self.retry_later else ""
        held = f", {self.held} held by another sender" if self.held else ""
        return (
            f"{label}: {self.sent} {sent_as}, {self.failed} failed "
            f"({self.failed_permanent} permanent, {self.failed_transient} transient{later}), {self.skipped} skipped"
            f"{held} in {self.elapsed:.1f}s ({rate:.1f} msg/s)"
        )


@dataclass(frozen=True)
class Tally:
    """How far a campaign has got: readers with an outcome (each once: one deferred, then sent, is one), sent,
    failed."""

    SIZE: ClassVar[int] = 3
    done: int = 0
    sent: int = 0
    failed: int = 0

    @classmethod
    def of(cls, summary: Summary) -> Tally:
        return cls(sum(summary.counts.values()), summary.sent, summary.failed)

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.done + other.done, self.sent + other.sent, self.failed + other.failed)
