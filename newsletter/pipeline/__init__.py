"""The stages wired together, one module per verb; the CLI, the scheduler and the web pages call these names.

context: Context (the settings and the stores of one process) · ingest: feeds, backfills, snapshots ·
digests: each reader's digest · prepare: an issue's digests archived with their ledger rows · send: an
issue, dry runs, the due pass · workers: claiming and delivering rows, in one process or several · due:
send hours and slots · notices: one-off mails (sign-up) · returns: bounces imported, the inbox polled,
deliverability.

Each verb is imported on first use (PEP 562): `status` does not load the ranker, a send does not load the
bounce parsers, the IMAP client or the mailbox reader.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newsletter.interrupts import SHUTDOWN
    from newsletter.pipeline.context import Context, today
    from newsletter.pipeline.digests import DigestBuilder, build_digest, explain, preview, quiet_days, sample_digest
    from newsletter.pipeline.due import SendSlot, due_now, send_slots
    from newsletter.pipeline.ingest import backfill, ingest, ingest_file, ingest_metadata, ingest_missed, run_ingest
    from newsletter.pipeline.notices import mail_notice, mail_signup
    from newsletter.pipeline.prepare import Plan, prepare_issue
    from newsletter.pipeline.returns import RECORD_BATCH, deliverability, import_bounces, poll_inbox
    from newsletter.pipeline.send import SendOptions, make_mailer, send_due, send_issue
    from newsletter.pipeline.workers import deliver_once, run_worker

# Where each name lives: a command imports the verbs it uses when it first names them (PEP 562), so
# `status` does not load the ranker, the renderer and the SMTP client.
_HOME = {
    "SHUTDOWN": "newsletter.interrupts",
    **dict.fromkeys(("Context", "today"), "context"),
    **dict.fromkeys(("DigestBuilder", "build_digest", "explain", "preview", "quiet_days", "sample_digest"), "digests"),
    **dict.fromkeys(("SendSlot", "due_now", "send_slots"), "due"),
    **dict.fromkeys(("backfill", "ingest", "ingest_file", "ingest_metadata", "ingest_missed", "run_ingest"), "ingest"),
    **dict.fromkeys(("mail_notice", "mail_signup"), "notices"),
    **dict.fromkeys(("Plan", "prepare_issue"), "prepare"),
    **dict.fromkeys(("RECORD_BATCH", "deliverability", "import_bounces", "poll_inbox"), "returns"),
    **dict.fromkeys(("SendOptions", "make_mailer", "send_due", "send_issue"), "send"),
    **dict.fromkeys(("deliver_once", "run_worker"), "workers"),
}

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
    "ingest_missed",
    "mail_notice",
    "mail_signup",
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


if not TYPE_CHECKING:  # to mypy, a module __getattr__ would make every misspelt name Any

    def __getattr__(name: str) -> Any:
        if name not in _HOME:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        home = _HOME[name]
        module = import_module(home if "." in home else f"{__name__}.{home}")
        # Every name of that module at once: importing pipeline/ingest.py has just set `ingest` here to the
        # module, and it is the verb of that name that callers mean.
        for found, where in _HOME.items():
            if where == home:
                globals()[found] = getattr(module, found)
        return globals()[name]
