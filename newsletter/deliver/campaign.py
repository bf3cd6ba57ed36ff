"""Delivering claimed ledger rows: claim in batches, compose, send over the pool, record, tell how far it got.

A producer claims ready rows (leased, so a crashed sender's rows come back), loads their archived digests
and composes the messages; `pool_size` senders take them from a pacer that keeps the global and per-domain
rate limits (a domain waiting for its turn holds up no other), and send; outcomes are committed in small
batches. Memory stays flat: at most a few batches of messages exist at once, whatever the number of readers.
The run's counts are a Summary (summary.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime, timedelta

from newsletter import owners
from newsletter.config import SmtpSettings
from newsletter.deliver.mailer import CONNECTION_LOST, Mailer
from newsletter.deliver.pacing import Pacer
from newsletter.deliver.ports import ArchivedDigests, DeliveryLedger, Readers, SendJournal
from newsletter.deliver.ratelimit import RateLimiter
from newsletter.deliver.refusals import FirstRefusals
from newsletter.deliver.summary import Summary
from newsletter.errors import DeliveryError, NewsletterError, SmtpUnreachable, StoreError
from newsletter.models import Delivery, Digest, Outcome, Outgoing, Paper, SendResult

log = logging.getLogger(__name__)

# Short leases, renewed by a live sender: a sender that died on another machine frees its rows within this.
LEASE = timedelta(minutes=2)
HEARTBEAT_SECONDS = 30.0
# Consecutive lost connections after which the server is taken to be down and the run stops.
MAX_CONNECTION_FAILURES = 3
FLUSH_EVERY = 50  # outcomes per commit at most
FLUSH_SECONDS = 0.2  # and at least this often
PREPARING_POLL = 0.02  # seconds between claims while the issue is still being archived
ADVICE = "check [smtp] username and password and [sender] from_address"
CHECK = f": no reader was marked; {ADVICE}"
NOT_MARKED = f"; none of them was marked: {ADVICE}"


def retry_delay(settings: SmtpSettings, attempt: int) -> float:
    """Exponential backoff with jitter: about retry_base, 2x, 4x … seconds after attempts 1, 2, 3 …"""
    return settings.retry_base * 2.0 ** (attempt - 1) * random.uniform(0.75, 1.25)


class Campaign:
    def __init__(
        self,
        mailer: Mailer,
        compose: Callable[[Digest], Outgoing],
        ledger: DeliveryLedger,
        archive: ArchivedDigests,
        subscribers: Readers,
        settings: SmtpSettings,
        journal: SendJournal,
        tally: Callable[[Summary], None] | None = None,
        shutdown: threading.Event | None = None,
    ) -> None:
        self.shutdown = shutdown or threading.Event()
        self.mailer = mailer
        self.compose = compose
        self.ledger = ledger
        self.archive = archive
        self.subscribers = subscribers
        self.settings = settings
        self.journal = journal
        self.owner = journal.owner  # the lease owner of every row this run claims
        self.tally = tally  # told the run's counts after each outcome (a progress bar)
        self.limiter = RateLimiter(settings.rate_per_second, settings.rate_per_hour)

    async def run(
        self,
        issue_date: date | None,
        subscriber_ids: Collection[int] | None = None,
        fresh: dict[int, Digest] | None = None,
        preparing: Callable[[], bool] | None = None,
        settled: Callable[[], None] | None = None,
    ) -> Summary:
        """Send every ready row (of one issue, or of all) through the open mailer; wait for retries that
        fall due within `retry_wait`, leave later ones to the next run. `fresh` holds digests of this issue
        this process has just built, by subscriber id: a claimed row found there is not read back from the
        database (each is taken out as it is used). While `preparing()` says rows of the run are still being
        archived, finding none ready means waiting for them, not the end; `settled()` is called once the
        ledger's start-up work is done (what stopped senders left, superseded rows), which on SQLite holds the
        one write lock: the archiving starts after it.

        A fault that makes going on pointless (the server gone, the outbox or the database failing) stops
        the run: messages in flight finish, every outcome is journaled and recorded if the database still
        answers, the claimed rows not sent are given back, and the fault is raised with how far it got."""
        fresh = {} if fresh is None else fresh
        summary = Summary()
        started = time.monotonic()
        pending: list[Outcome] = []
        unsent: set[int] = set()
        state = {"lost": 0, "inflight": 0, "last_flush": time.monotonic()}
        first = FirstRefusals()  # refusals before the server takes a message: whose they are
        stop = asyncio.Event()
        faults: list[Exception] = []  # the first one is what the run reports
        pacer: Pacer[tuple[Delivery, Outgoing]] = Pacer(
            self.settings.domain_intervals,
            self.limiter,
            capacity=2 * self.settings.batch_size,
            stopped=lambda: stop.is_set() or self.shutdown.is_set(),
        )
        papers: dict[int, Paper] = {}  # shared by every reader of the run: one Paper object per paper

        def halt(fault: Exception) -> None:
            faults.append(fault)
            stop.set()

        def store_lost() -> bool:
            return any(isinstance(f, StoreError) for f in faults)

        async def flush(force: bool = False) -> None:
            if not pending or (store_lost() and not force):
                return
            if force or len(pending) >= FLUSH_EVERY or time.monotonic() - state["last_flush"] > FLUSH_SECONDS:
                batch = pending[:]
                pending.clear()
                state["last_flush"] = time.monotonic()
                try:
                    await asyncio.to_thread(self.ledger.record, batch)
                except StoreError as exc:
                    pending[:0] = batch  # still in the journal; one more try when the run ends
                    halt(exc)

        def settle(delivery: Delivery, outgoing: Outgoing, result: SendResult) -> None:
            """One message's outcome: journaled at once (crash-safe), recorded with the next batch."""
            unsent.discard(delivery.id)
            outcome = self._outcome(delivery, outgoing, result, summary)
            pending.append(outcome)
            try:
                self.journal.append(outcome)
            except StoreError as exc:  # no longer crash-safe: record what is known and stop
                halt(exc)
            if self.tally is not None:
                self.tally(summary)

        async def sender() -> None:
            while (item := await pacer.get()) is not None:  # None when stopped: the rest is released below
                delivery, outgoing = item
                state["inflight"] += 1
                try:
                    result = await self.mailer.send(outgoing)
                except Exception as exc:  # the outbox copy could not be written (or a bug): this one was not sent
                    halt(exc)  # and a sender that died would leave the claimer waiting on a full pacer for ever
                    continue
                finally:
                    state["inflight"] -= 1
                if result.refused_sender:  # the reader's row stays as it was, given back with the rest
                    kind = SmtpUnreachable if 400 <= result.code < 500 else DeliveryError  # 451: may pass
                    halt(kind(f"the SMTP server refused mail from us ({result.code} {result.reply}){CHECK}"))
                    continue
                state["lost"] = state["lost"] + 1 if result.code == CONNECTION_LOST else 0
                if state["lost"] >= MAX_CONNECTION_FAILURES:
                    lost = f"{self.mailer.name}: connection lost {MAX_CONNECTION_FAILURES} times in a row"
                    halt(SmtpUnreachable(lost))
                outcomes, blame = first.judge((delivery, outgoing, result))
                if blame:  # the rows held back are given back unmarked, with the rest
                    halt(DeliveryError(f"the SMTP server {blame}{NOT_MARKED}"))
                    continue
                for one in outcomes:
                    settle(*one)
                await flush()

        async def produce() -> None:
            """Claim ready rows batch by batch (not those of domains whose pace is full: their rows wait in the
            ledger while the others move on), load and compose their digests and hand the messages to the
            pacer; wait for due retries when nothing is ready."""
            # Made before the first claim: a sender of this machine that dies holding rows has left a journal,
            # so one not found means another paths.state (see _reclaim_dead_local_senders).
            await asyncio.to_thread(self.journal.open)
            while not stop.is_set() and not self.shutdown.is_set():
                full = pacer.full_domains()
                # Asked before the claim: rows archived after a claim that found none are claimed next round.
                more = preparing is not None and preparing()
                claimed = await asyncio.to_thread(
                    self.ledger.claim, self.owner, LEASE, self.settings.batch_size, issue_date, subscriber_ids, full
                )
                if not claimed and full:
                    await pacer.wait_for_room(full)
                    continue
                if not claimed and more:
                    await asyncio.sleep(PREPARING_POLL)
                    continue
                if not claimed:
                    # Everything claimed so far is sent and recorded before looking for due retries.
                    while (len(pacer) or state["inflight"]) and not stop.is_set() and not self.shutdown.is_set():
                        await asyncio.sleep(0.005)
                    await flush(force=True)
                    if stop.is_set():
                        return
                    wait = await self._next_retry_wait(issue_date)
                    if wait is None:
                        return
                    await asyncio.sleep(wait)
                    continue
                unsent.update(d.id for d in claimed)
                digests = {d.id: fresh.pop(d.subscriber_id) for d in claimed if d.subscriber_id in fresh}
                archived = [d for d in claimed if d.id not in digests]
                if archived:
                    readers = await asyncio.to_thread(self.subscribers.by_ids, {d.subscriber_id for d in archived})
                    digests.update(await asyncio.to_thread(self.archive.load_digests, archived, readers, papers))
                for delivery in claimed:
                    if stop.is_set() or self.shutdown.is_set():
                        return  # the rest of the batch is released below
                    await pacer.put((delivery, self.compose(digests[delivery.id])), delivery.email)

        # What senders that are gone had acknowledged goes in first, then their rows become claimable.
        recovered = await asyncio.to_thread(self.journal.recover, self.ledger)
        if outcomes_recovered := sum(recovered.values()):
            log.warning("recorded %d outcomes a stopped sender had kept in its journal", outcomes_recovered)
        reclaimed = await asyncio.to_thread(self._reclaim_dead_local_senders, set(recovered))
        if reclaimed:
            log.warning("took back %d deliveries of a sender on this machine that died mid-send", reclaimed)
        # Readers named by hand (`send --to`, `--resend --to`) get what the admin asked for.
        superseded = 0 if subscriber_ids is not None else await asyncio.to_thread(self.ledger.supersede, issue_date)
        if superseded:
            log.warning(
                "skipped %d deliveries of readers a later issue has reached since, with their papers", superseded
            )
        if settled is not None:
            settled()

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(HEARTBEAT_SECONDS)
                try:
                    await asyncio.to_thread(self.ledger.renew, self.owner, set(unsent), LEASE)
                except StoreError as exc:
                    halt(exc)
                    return

        beat = asyncio.create_task(heartbeat())
        try:
            senders = [asyncio.create_task(sender()) for _ in range(self.settings.pool_size)]
            try:
                await produce()
            except NewsletterError as exc:
                halt(exc)
            finally:
                pacer.close()
                await asyncio.gather(*senders)
                for one in first.at_end(stopped=stop.is_set() or self.shutdown.is_set()):
                    settle(*one)
                await flush(force=True)
                if not pending:  # the database answers: give back what was claimed and not sent
                    try:
                        await asyncio.to_thread(self.ledger.release, unsent)
                    except StoreError:
                        log.info("claimed deliveries not sent are left for their lease to run out")
                # After the rows are given back: a stop in between leaves the journal for the next run.
                self.journal.close(recorded=not pending)
        finally:
            beat.cancel()
            summary.elapsed = time.monotonic() - started
        if faults:
            fault = faults[0]
            if not isinstance(fault, NewsletterError):
                raise fault
            kept = " (what the server accepted is kept in the send journal)" if pending else ""
            raise type(fault)(
                f"{fault}; stopped after {summary.sent} sent{kept}: the rest stays pending, run `send` again"
            )
        if summary.failed_transient:
            summary.retry_later = await asyncio.to_thread(self.ledger.retries_scheduled, issue_date)
        return summary

    def _reclaim_dead_local_senders(self, journaled: set[str]) -> int:
        """Rows leased by a process of this machine that no longer exists (kill -9, power loss of a
        container) are claimable at once instead of when their lease runs out, once its journal (who the
        server accepted) is recorded. A dead sender whose journal is not in this folder ran with another
        `paths.state` (a send by hand beside the service): taken back now, its readers would be mailed twice."""
        dead = {owner for owner in self.ledger.lease_owners() if owners.gone(owner)}
        if dead - journaled:
            log.warning(
                "a sender of this machine that died (%s) holds deliveries and its send journal is not in %s: it "
                "ran with another paths.state, whose journal says whom the server accepted. Run `send` with that "
                "paths.state to record them; else they are sent again when its lease runs out",
                ", ".join(sorted(dead - journaled)),
                self.journal.directory,
            )
        return self.ledger.expire_leases(dead & journaled)

    async def _next_retry_wait(self, issue_date: date | None) -> float | None:
        """Seconds until the next retry falls due, if within `retry_wait`; None when nothing is left to do."""
        if self.settings.retry_wait <= 0:
            return None  # 0: every retry is left to the next run
        due: datetime | None = await asyncio.to_thread(self.ledger.next_retry, issue_date)
        if due is None:
            return None
        wait = (due - _utcnow()).total_seconds()
        return max(0.0, wait) if wait <= self.settings.retry_wait else None

    def _outcome(self, delivery: Delivery, outgoing: Outgoing, result: SendResult, summary: Summary) -> Outcome:
        email = delivery.email
        if result.ok:
            summary.set(delivery.id, email, "sent", result.reply)
            return Outcome(delivery.id, True, result.code, result.reply, outgoing.message_id)
        detail = f"{result.code} {result.reply}"
        if result.transient:
            retry_at = None
            if delivery.attempts < self.settings.max_attempts and not result.held:
                retry_at = _utcnow() + timedelta(seconds=retry_delay(self.settings, delivery.attempts))
            summary.set(delivery.id, email, "failed_transient", detail)
            # A lost connection is the server's trouble, not this reader's: the run's summary tells it.
            level = logging.INFO if result.code == CONNECTION_LOST else logging.WARNING
            log.log(level, "deferred %s (attempt %d): %s", email, delivery.attempts, detail)
            return Outcome(delivery.id, False, result.code, result.reply, outgoing.message_id, True, retry_at)
        summary.set(delivery.id, email, "failed_permanent", detail)
        log.warning("rejected %s: %s", email, detail)
        return Outcome(delivery.id, False, result.code, result.reply, outgoing.message_id)


def _utcnow() -> datetime:
    return datetime.now(UTC)
