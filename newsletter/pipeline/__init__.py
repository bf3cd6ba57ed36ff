"""The stages wired together, one module per verb; the CLI, the scheduler and the web pages call these names.

context: Context (the settings and the stores of one process) · ingest: feeds, backfills, snapshots ·
digests: each reader's digest · send: an issue, workers, the due pass · due: send hours and slots ·
returns: bounces imported, the inbox polled, deliverability.
"""

from newsletter.pipeline.context import Context, today
from newsletter.pipeline.digests import DigestBuilder, build_digest, explain, preview, quiet_days, sample_digest
from newsletter.pipeline.due import SendSlot, due_now, send_slots
from newsletter.pipeline.ingest import backfill, ingest, ingest_file, ingest_metadata, run_ingest
from newsletter.pipeline.returns import RECORD_BATCH, deliverability, import_bounces, poll_inbox
from newsletter.pipeline.send import (
    SHUTDOWN,
    Plan,
    SendOptions,
    deliver_once,
    mail_notice,
    make_mailer,
    prepare_issue,
    run_worker,
    send_due,
    send_issue,
)

__all__ = [
    "RECORD_BATCH",
    "SHUTDOWN",
    "Context",
    "DigestBuilder",
    "Plan",
    "SendOptions",
    "SendSlot",
    "backfill",
    "build_digest",
    "deliver_once",
    "deliverability",
    "due_now",
    "explain",
    "import_bounces",
    "ingest",
    "ingest_file",
    "ingest_metadata",
    "mail_notice",
    "make_mailer",
    "poll_inbox",
    "prepare_issue",
    "preview",
    "quiet_days",
    "run_ingest",
    "run_worker",
    "sample_digest",
    "send_due",
    "send_issue",
    "send_slots",
    "today",
]
