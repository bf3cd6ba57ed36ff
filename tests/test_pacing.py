"""Per-domain pace (smtp.domain_limits) through a real aiosmtpd sink that records when each domain's mail
arrives: every limit held, and the unlimited domains never wait behind a slow one."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

from newsletter import pipeline
from newsletter.capture import CaptureHandler, CaptureServer
from newsletter.config import rate_interval
from newsletter.deliver.campaign import LEASE
from newsletter.models import DeliveryState
from tests.factories import ISSUE, insert_readers, make_digest, make_paper

pytestmark = pytest.mark.slow

LIMITS = {"slow.test": 10, "mid.test": 40}  # messages per second
READERS = {"slow.test": 20, "mid.test": 40, "example.com": 60, "example.org": 30}


class CountingSink(CaptureHandler):
    """Accepts everything and notes the time each message arrives, by recipient domain."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: dict[str, list[float]] = defaultdict(list)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.arrivals[envelope.rcpt_tos[0].rpartition("@")[2]].append(time.monotonic())
        return await super().handle_DATA(server, session, envelope)


def most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))


def test_each_domain_keeps_its_pace_and_none_waits_behind_another(ctx) -> None:
    # The slow domain's readers come first in the ledger: a sender taking rows in order would hold
    # everybody behind them.
    for domain, count in READERS.items():
        insert_readers(ctx, count, domain=domain)
    ctx.papers.upsert([make_paper(title="Transformer circuits at scale", abstract="Transformer circuits.")])
    sink = CountingSink()
    with CaptureServer(handler=sink) as server:
        settings = ctx.settings.replace(
            smtp={
                "port": server.port,
                "pool_size": 4,
                "batch_size": 5,  # a slow domain's backlog fills after two batches
                "domain_limits": {domain: f"{rate}/s" for domain, rate in LIMITS.items()},
            }
        )
        paced = pipeline.Context(settings, ctx.db)
        summary = pipeline.send_issue(paced, pipeline.SendOptions(issue_date=ISSUE, show_progress=False))
    assert summary.sent == sum(READERS.values())
    arrivals = sink.arrivals
    assert {domain: len(times) for domain, times in arrivals.items()} == READERS

    for domain, rate in LIMITS.items():
        times = sorted(arrivals[domain])
        assert most_in_one_second(times) <= rate + 1, domain  # + 1: a window closed at both ends
        assert (len(times) - 1) / (times[-1] - times[0]) <= rate * 1.05, domain

    first = min(min(times) for times in arrivals.values())
    slow_share = (READERS["slow.test"] - 1) / LIMITS["slow.test"]  # 1.9 s
    total = max(max(times) for times in arrivals.values()) - first
    assert slow_share <= total <= slow_share * 1.25 + 0.3, (total, slow_share)
    # The unlimited domains were done before the slow one, though all its rows came first (a sender taking
    # rows in order would send them after its last). Not "before its middle": composing them takes CPU, and
    # on a loaded machine that alone can take a second.
    for domain in ("example.com", "example.org"):
        assert max(arrivals[domain]) < max(arrivals["slow.test"]), domain
    # The medium domain took its own share, side by side with the slow one.
    mid_span = max(arrivals["mid.test"]) - min(arrivals["mid.test"])
    assert mid_span <= (READERS["mid.test"] - 1) / LIMITS["mid.test"] * 1.25 + 0.3


@pytest.mark.parametrize(("rate", "seconds"), [("20/s", 0.05), ("300/m", 0.2), ("2000/h", 1.8), (" 2.5 / s ", 0.4)])
def test_rates_read_as_the_spacing_between_messages(rate, seconds) -> None:
    assert rate_interval(rate) == pytest.approx(seconds)


@pytest.mark.parametrize("rate", ["20", "0/s", "20/d", "fast", "-1/s", ""])
def test_a_malformed_rate_is_refused(rate) -> None:
    with pytest.raises(ValueError, match="is not a rate"):
        rate_interval(rate)


def test_a_claim_leaves_the_rows_of_full_domains_in_the_ledger(ctx) -> None:
    insert_readers(ctx, 3, domain="slow.test")
    insert_readers(ctx, 2, domain="example.com")
    paper = make_paper(title="Transformer circuits", abstract="Transformer circuits.")
    ctx.papers.upsert([paper])
    ctx.archive.record_digests(
        [(make_digest([paper], reader), DeliveryState.PENDING, None) for reader in ctx.subscribers.list()]
    )
    taken = ctx.ledger.claim("me", LEASE, 10, ISSUE, skip_domains={"slow.test"})
    assert sorted(d.email for d in taken) == ["r000000@example.com", "r000001@example.com"]
    rest = ctx.ledger.claim("me", LEASE, 10, ISSUE)
    assert sorted(d.email.rpartition("@")[2] for d in rest) == ["slow.test"] * 3


def test_a_domain_waiting_for_its_turn_holds_up_nobody_and_a_stop_ends_the_wait() -> None:
    """The pacer on its own: an hourly domain's second message waits; everybody else's goes at once; a
    stop (SIGTERM, lost server) answers the waiting sender within a fraction of a second."""
    import asyncio

    from newsletter.deliver.pacing import Pacer
    from newsletter.deliver.ratelimit import RateLimiter

    async def scenario() -> tuple[list[str], float]:
        stopped = asyncio.Event()
        pacer: Pacer[str] = Pacer({"slow.test": 3600.0}, RateLimiter(), capacity=2, stopped=stopped.is_set)
        for n in range(3):
            await pacer.put(f"slow{n}", f"r{n}@Slow.Test")
        await pacer.put("fast0", "a@example.com")
        await pacer.put("fast1", "b@example.org")
        assert pacer.full_domains() == {"slow.test"} and len(pacer) == 5
        taken = [await pacer.get() for _ in range(3)]
        waiting = asyncio.create_task(pacer.get())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # slow1's turn is an hour away
        started = time.monotonic()
        stopped.set()
        assert await waiting is None
        return taken, time.monotonic() - started

    taken, stop_took = asyncio.run(scenario())
    assert taken == ["slow0", "fast0", "fast1"]
    assert stop_took < 0.5
