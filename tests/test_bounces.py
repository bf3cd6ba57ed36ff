"""`bounces import`: RFC 3464 DSNs from .eml files and maildirs, on SQLite and PostgreSQL."""

import mailbox
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from newsletter import pipeline, subscriptions
from newsletter.bounces import parse
from newsletter.cli import main
from newsletter.models import DeliveryState, Status, SubscriberChanges
from newsletter.store.ledger import Outcome
from tests.factories import ISSUE, make_digest, make_paper

DSN = Path(__file__).parent / "data" / "dsn"


def test_parse_hard_and_delayed() -> None:
    [hard] = parse((DSN / "hard.eml").read_bytes(), "hard.eml").bounces
    assert (hard.recipient, hard.status, hard.hard) == ("ada@example.com", "5.1.1", True)
    assert hard.diagnostic.startswith("smtp; 550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown")
    assert hard.message_id == "MESSAGE_ID"
    [soft] = parse((DSN / "delayed.eml").read_bytes(), "delayed.eml").bounces
    assert soft.hard is False and soft.status == "4.4.1"
    assert parse((DSN / "not-a-dsn.eml").read_bytes(), "x").problem.startswith("not a delivery status notification")


def test_import_marks_bounced_and_the_delivery(ctx, tmp_path) -> None:
    for email in ("ada@example.com", "grace@example.com"):
        subscriptions.add(ctx.settings, ctx.subscribers, email, SubscriberChanges(topics=("x",)))
    ada = ctx.subscribers.get("ada@example.com")
    paper = make_paper()
    ctx.papers.upsert([paper])
    delivery = ctx.ledger.record_digest(make_digest([paper], ada), DeliveryState.PENDING)
    ctx.ledger.claim("w", timedelta(minutes=1), 5)
    ctx.ledger.record([Outcome(delivery.id, True, 250, "ok", "<20261124.abc@example.com>")])

    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add((DSN / "hard.eml").read_bytes().replace(b"MESSAGE_ID", b"<20261124.abc@example.com>"))
    box.add((DSN / "delayed.eml").read_bytes())
    box.add((DSN / "not-a-dsn.eml").read_bytes())
    report = pipeline.import_bounces(ctx, tmp_path / "Maildir")
    assert (report.messages, report.hard, report.bounced_subscribers, report.soft) == (3, 1, 1, 1)
    assert len(report.problems) == 1
    assert ctx.subscribers.get("ada@example.com").status is Status.BOUNCED
    assert ctx.subscribers.is_suppressed("ada@example.com") == "bounce"
    assert ctx.subscribers.get("grace@example.com").status is Status.ACTIVE
    after = ctx.ledger.get(ada.id, ISSUE)
    assert after.state is DeliveryState.FAILED_PERMANENT and after.last_reply.startswith("5.1.1")


def test_cli_reads_a_folder_and_reports(tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/b.db"\n', encoding="utf-8")
    runner = CliRunner()
    runner.invoke(main, ["--config", str(config), "subscribers", "add", "ada@example.com"])
    result = runner.invoke(main, ["--config", str(config), "bounces", "import", str(DSN)])
    assert result.exit_code == 0, result.output
    assert "read 3 messages: 1 hard bounces (1 subscribers marked bounced and suppressed), 1 soft" in result.stdout
    assert "not-a-dsn.eml: not a delivery status notification" in result.stderr
    missing = runner.invoke(main, ["--config", str(config), "bounces", "import", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "no such file or folder" in missing.stderr
