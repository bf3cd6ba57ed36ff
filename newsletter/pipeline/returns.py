"""Returned mail: bounce files imported, the inbox polled, deliverability summed up."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from newsletter.pipeline.context import Context
from newsletter.returns import bounces, returned_mail
from newsletter.returns.inbox import Inbox
from newsletter.returns.returned_mail import Deliverability, ReturnedMail, ReturnSummary

PROGRESS_EVERY = 1000  # messages between two progress lines of `bounces import`


RECORD_BATCH = 200  # returned mails recorded per commit by `bounces import` (files stay: a re-run resumes)


def import_bounces(
    ctx: Context, paths: Sequence[str | Path], on_progress: Callable[[ReturnSummary], None] | None = None
) -> ReturnSummary:
    """`bounces import`: delivery reports, complaints and mailto: unsubscribes from files, folders,
    maildirs and mbox files; only those that prove they answer our mail act."""
    handler = ReturnedMail(ctx.settings, ctx.mail_events, ctx.mail_stats, batch=RECORD_BATCH)
    for source, data in bounces.read_paths(paths):
        handler.handle(source, data)
        if on_progress is not None and handler.summary.messages % PROGRESS_EVERY == 0:
            on_progress(handler.summary)
    return handler.finish()


def poll_inbox(ctx: Context) -> ReturnSummary:
    """The scheduler's inbox job (and `bounces poll`): every mail of the IMAP folder read, then moved."""
    handler = ReturnedMail(ctx.settings, ctx.mail_events, ctx.mail_stats)
    try:
        Inbox(ctx.settings.inbox).poll(handler.handle)
    finally:  # what was handled before the mailbox failed is recorded and counted all the same
        summary = handler.finish()
    return summary


def deliverability(ctx: Context, issue_date: date | None = None) -> Deliverability:
    """`status --deliverability`: per recipient domain and per issue, with the warnings past the limits."""
    return returned_mail.deliverability(ctx.mail_stats, issue_date)
