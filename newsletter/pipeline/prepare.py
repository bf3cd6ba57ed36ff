"""Preparing an issue: each reader's digest built and archived with a pending ledger row, or a reason to skip."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from newsletter.models import FINAL_STATES, Delivery, DeliveryState, Digest, Status, Subscriber
from newsletter.pipeline.context import Context
from newsletter.pipeline.digests import DigestBuilder, unsent_reason

if TYPE_CHECKING:
    from newsletter.pipeline.send import SendOptions  # send runs prepare: only its type is needed here


@dataclass(frozen=True)
class Plan:
    """One reader in one issue: a digest to send (and its ledger row), or a reason to skip."""

    subscriber: Subscriber
    digest: Digest | None = None
    delivery: Delivery | None = None
    skip: str | None = None


def prepare_issue(
    ctx: Context,
    batches: Iterable[list[Subscriber]],
    options: SendOptions,
    on_built: Callable[[Digest], None] | None = None,
) -> Iterator[Plan]:
    """Each reader's digest for the issue, archived with a pending ledger row (or a skipped one, with why),
    one transaction per batch of readers.

    Lazy, so a dry run can stream it; readers whose row exists already keep it (a re-run neither rebuilds
    nor repeats them). `on_built` sees each digest to send whose row this call opened, as archived."""
    builder = DigestBuilder(ctx)
    for batch in batches:
        existing = ctx.deliveries.of(options.issue_date, [s.id for s in batch])
        builder.preload([s for s in batch if s.id not in existing], options.issue_date)
        plans: list[Plan] = []
        to_record: list[tuple[Digest, DeliveryState, str | None]] = []
        to_build = [s for s in batch if s.status is Status.ACTIVE and s.id not in existing]
        built = dict(zip((s.id for s in to_build), builder.build_many(to_build, options.issue_date), strict=True))
        for subscriber in batch:
            delivery = existing.get(subscriber.id)
            if subscriber.status is not Status.ACTIVE:
                plans.append(Plan(subscriber, skip=f"status is {subscriber.status}"))
            elif delivery is not None:
                final = delivery.state in FINAL_STATES
                skip = f"already {delivery.state} for {options.issue_date}" if final else None
                plans.append(Plan(subscriber, delivery=delivery, skip=skip))
            else:
                digest = built[subscriber.id]
                skip = unsent_reason(ctx, digest)
                plans.append(Plan(subscriber, digest=digest, skip=skip))
                to_record.append((digest, DeliveryState.SKIPPED if skip else DeliveryState.PENDING, skip))
        if not options.dry_run:
            opened = {d.subscriber_id: d for d in ctx.archive.record_digests(to_record)}
            if on_built is not None:
                for digest, state, _ in to_record:
                    if state is DeliveryState.PENDING and opened[digest.subscriber.id].created:
                        on_built(digest)
            plans = [
                p if p.delivery or p.digest is None else replace(p, delivery=opened[p.subscriber.id]) for p in plans
            ]
        yield from plans
