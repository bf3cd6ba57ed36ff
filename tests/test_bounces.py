"""Mail that comes back, on SQLite and PostgreSQL: VERP return paths, DSNs in the shapes Postfix, Gmail, Exim
and Yahoo produce, ARF complaints, mailto: unsubscribes, forgeries, and the deliverability counts."""

import json
import logging
import mailbox
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from newsletter import pipeline
from newsletter.cli import main
from newsletter.errors import InputError
from newsletter.models import DeliveryState, Status, SubscriberChanges
from newsletter.readers import subscriptions
from newsletter.returns import bounces
from newsletter.verp import MailAddresses
from tests.conftest import base_settings
from tests.factories import ISSUE, make_paper

SAMPLES = Path(__file__).parent / "data" / "bounces"
READERS = ("ada@example.com", "grace@mail.example.net", "edsger@example.com", "barbara@example.org")


def fill(name: str, **values: str) -> bytes:
    """A sample with its @@PLACEHOLDERS@@ filled in (the tokens and ids of this test's own messages)."""
    data = (SAMPLES / name).read_bytes()
    for key, value in values.items():
        data = data.replace(f"@@{key}@@".encode(), value.encode())
    assert b"@@" not in data.replace(b"@@@", b""), f"{name}: a placeholder is left"
    return data


def dated_now(data: bytes, days_ago: float = 0) -> bytes:
    """The sample dated `days_ago` before now (its Date header is what the 14-day window counts)."""
    when = format_datetime(datetime.now(UTC) - timedelta(days=days_ago))
    return re.sub(rb"(?m)^Date: .*$", f"Date: {when}".encode(), data, count=1)


@pytest.fixture
def sent(ctx, smtp_server):
    """Four readers who each got the issue of ISSUE through the capture server; their messages by address."""
    ctx.papers.upsert([make_paper(title="Circuits in transformers", abstract="mechanistic interpretability")])
    for email in READERS:
        subscriptions.add(ctx.settings, ctx.subscribers, email, SubscriberChanges(topics=("interpretability",)))
    summary = pipeline.send_issue(ctx, pipeline.SendOptions(issue_date=ISSUE, show_progress=False))
    assert summary.sent == 4
    return {m.recipients[0]: m for m in smtp_server.messages}


def values_for(received, email: str) -> dict[str, str]:
    message = received.message
    mailto = re.search(r"<mailto:([^>]+)>", str(message["List-Unsubscribe"])).group(1)
    return {
        "RETURN_PATH": received.sender,
        "RECIPIENT": email,
        "DOMAIN": email.rpartition("@")[2],
        "MESSAGE_ID": str(message["Message-ID"]),
        "UNSUBSCRIBE": urlsplit("mailto:" + mailto).path,
    }


def import_files(ctx, tmp_path: Path, *files: tuple[str, bytes]):
    paths = []
    for name, data in files:
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    return pipeline.import_bounces(ctx, paths)


# -- the return path -----------------------------------------------------------------------------------


def test_every_delivery_has_its_own_signed_return_path(ctx, sent) -> None:
    addresses = MailAddresses(ctx.settings)
    senders = {email: m.sender for email, m in sent.items()}
    assert len(set(senders.values())) == 4
    for email, sender in senders.items():
        local, _, domain = sender.rpartition("@")
        assert domain == "example.com" and local.startswith("bounces+") and len(local) <= 64
        path = addresses.read_return_path(sender)
        assert path is not None and path.issue_date == ISSUE
        assert path.subscriber_id == ctx.subscribers.get(email).id
        assert addresses.read_return_path(sender.upper()) == path  # a server that changes case
        token = local.removeprefix("bounces+")
        flipped = token[:-1] + ("a" if token[-1] != "a" else "b")
        assert addresses.read_return_path(f"bounces+{flipped}@example.com") is None
        # another key reads nothing
        other = MailAddresses(base_settings(web={"secret_key": "another-key"}))
        assert other.read_return_path(sender) is None
    # the public From address stays in the header; the envelope is the return path
    ada = sent["ada@example.com"].message
    assert "papers@example.com" in str(ada["From"]) and "bounces+" not in str(ada)


def test_list_unsubscribe_mailto_names_its_reader(ctx, sent) -> None:
    addresses = MailAddresses(ctx.settings)
    for email, received in sent.items():
        header = str(received.message["List-Unsubscribe"])
        url = urlsplit(re.search(r"<(mailto:[^>]+)>", header).group(1))
        assert parse_qs(url.query) == {"subject": ["unsubscribe"]}
        assert url.path.startswith("unsubscribe+") and url.path.endswith("@example.com")
        assert addresses.read_unsubscribe_address(url.path) == ctx.subscribers.get(email).id
        assert addresses.read_return_path(url.path) is None  # purposes do not mix


def test_configured_templates_and_their_checks(tmp_path) -> None:
    settings = base_settings(
        sender={"return_path": "bnc-{token}@returns.example.org", "unsubscribe_address": "leave.{token}@example.org"}
    )
    addresses = MailAddresses(settings)
    path = addresses.return_path(7, ISSUE)
    assert re.fullmatch(r"bnc-[a-z2-7]+@returns\.example\.org", path)
    assert addresses.read_return_path(path).subscriber_id == 7
    assert addresses.read_unsubscribe_address(addresses.unsubscribe_address(7)) == 7
    from newsletter.config import load_settings
    from newsletter.errors import ConfigError

    config = tmp_path / "c.toml"
    for bad in ('"bounces@example.org"', '"{token}@exa{mple.org"', f'"{"x" * 30}{{token}}@example.org"'):
        config.write_text(f"[sender]\nreturn_path = {bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match="'sender.return_path'"):
            load_settings(config, env={})


# -- reading the samples -------------------------------------------------------------------------------

PLACEHOLDERS = {
    "RETURN_PATH": "bounces+abc@example.com",
    "RECIPIENT": "ada@example.net",
    "DOMAIN": "example.net",
    "MESSAGE_ID": "<20261124.x@example.com>",
    "UNSUBSCRIBE": "unsubscribe+xyz@example.com",
}


@pytest.mark.parametrize(
    ("name", "kind", "severity", "status"),
    [
        ("postfix-hard.eml", bounces.DSN, "hard", "5.1.1"),
        ("postfix-hard-no-quote.eml", bounces.DSN, "hard", "5.1.1"),
        ("postfix-soft.eml", bounces.DSN, "soft", "4.2.2"),
        ("postfix-delayed.eml", bounces.DSN, "delayed", "4.4.1"),
        ("gmail-hard.eml", bounces.DSN, "hard", "5.1.1"),
        ("exim-hard.eml", bounces.BOUNCE, "hard", "5.0.0"),
        ("yahoo-hard.eml", bounces.BOUNCE, "hard", "5.0.0"),
        ("arf-yahoo.eml", bounces.ARF, "hard", "abuse"),
        ("arf-generic.eml", bounces.ARF, "hard", "abuse"),
    ],
)
def test_parse_reports(name: str, kind: str, severity: str, status: str) -> None:
    report = bounces.parse(fill(name, **PLACEHOLDERS), name)
    assert report.problem is None
    assert (report.kind, report.worst.severity, report.worst.status) == (kind, severity, status)
    assert report.worst.recipient == "ada@example.net"
    if name != "postfix-hard-no-quote.eml":
        assert "<20261124.x@example.com>" in report.quoted_ids
    else:
        assert report.quoted_ids == () and report.addressed_to == ("bounces+abc@example.com",)
    if kind == bounces.ARF:
        assert report.feedback.startswith("Feedback-Type: abuse")


def test_parse_other_mail() -> None:
    unsubscribe = bounces.parse(fill("mailto-unsubscribe.eml", **PLACEHOLDERS), "m")
    assert (unsubscribe.kind, unsubscribe.addressed_to, unsubscribe.subject) == (
        bounces.MAIL,
        ("unsubscribe+xyz@example.com",),
        "unsubscribe",
    )
    reply = bounces.parse(fill("not-a-report.eml", **PLACEHOLDERS), "r")
    assert reply.kind == bounces.MAIL and reply.bounces == ()
    # flufl.bounce's detectors raise on a message without From: (IndexError); it is mail, not a bounce.
    bare = bounces.parse(b"To: someone@example.com\r\nSubject: hi\r\n\r\nhello\r\n", "bare")
    assert (bare.kind, bare.bounces, bare.subject) == (bounces.MAIL, (), "hi")


# -- acting on them ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["postfix-hard.eml", "postfix-hard-no-quote.eml", "gmail-hard.eml", "exim-hard.eml", "yahoo-hard.eml"]
)
def test_a_hard_bounce_of_ours_suppresses_its_reader(ctx, sent, tmp_path, name: str) -> None:
    email = "grace@mail.example.net"
    summary = import_files(ctx, tmp_path, (name, fill(name, **values_for(sent[email], email))))
    assert (summary.hard, summary.suppressed, summary.unattributed) == (1, 1, 0), summary.problems
    assert ctx.subscribers.get(email).status is Status.BOUNCED
    assert ctx.subscribers.is_suppressed(email) == "bounce"
    delivery = ctx.deliveries.get(ctx.subscribers.get(email).id, ISSUE)
    assert delivery.state is DeliveryState.FAILED_PERMANENT and delivery.last_reply.startswith("5.")
    others = [ctx.subscribers.get(e).status for e in READERS if e != email]
    assert others == [Status.ACTIVE] * 3


@pytest.mark.parametrize("name", ["arf-yahoo.eml", "arf-generic.eml"])
def test_a_complaint_unsubscribes_and_suppresses(ctx, sent, tmp_path, name: str) -> None:
    email = "ada@example.com"
    values = values_for(sent[email], email)
    if name == "arf-generic.eml":  # sent to the feedback address, not the return path: the Message-ID proves it
        values["RETURN_PATH"] = "fbl@example.com"
    summary = import_files(ctx, tmp_path, (name, fill(name, **values)))
    assert (summary.complaints, summary.unsubscribed, summary.suppressed) == (1, 1, 1), summary.problems
    assert ctx.subscribers.get(email).status is Status.UNSUBSCRIBED
    assert ctx.subscribers.is_suppressed(email) == "complaint"
    import sqlalchemy as sa

    with ctx.db.engine.connect() as conn:
        kind, report = conn.execute(sa.text("SELECT kind, report FROM mail_events")).one()
    assert kind == "complaint" and "Feedback-Type: abuse" in report


def test_a_complaint_after_a_bounce_outranks_it_and_resume_keeps_it(ctx, sent, tmp_path) -> None:
    email = "ada@example.com"
    values = values_for(sent[email], email)
    import_files(ctx, tmp_path, ("postfix-hard.eml", fill("postfix-hard.eml", **values)))
    assert ctx.subscribers.is_suppressed(email) == "bounce"
    import_files(ctx, tmp_path, ("arf-yahoo.eml", fill("arf-yahoo.eml", **values)))
    assert ctx.subscribers.is_suppressed(email) == "complaint"
    with pytest.raises(InputError, match=r"suppressed \(complaint\)"):
        subscriptions.resume(ctx.subscribers, email)
    assert ctx.subscribers.is_suppressed(email) == "complaint"


def test_a_complaint_with_the_message_redacted_is_tied_by_original_mail_from(ctx, sent, tmp_path) -> None:
    email = "ada@example.com"
    arf = fill("arf-yahoo.eml", **values_for(sent[email], email))
    quoted = arf.index(b"Content-Type: message/rfc822")
    redacted = arf[:quoted] + re.sub(rb"(?m)^(Return-Path|Message-ID): .*\n", b"", arf[quoted:])
    assert redacted.count(b"bounces+") == 1  # only Original-Mail-From is left
    summary = import_files(ctx, tmp_path, ("c.eml", redacted))
    assert (summary.complaints, summary.unattributed) == (1, 0)
    assert ctx.subscribers.is_suppressed(email) == "complaint"


def test_the_mailto_unsubscribes_at_once(ctx, sent, tmp_path) -> None:
    email = "edsger@example.com"
    summary = import_files(ctx, tmp_path, ("u.eml", fill("mailto-unsubscribe.eml", **values_for(sent[email], email))))
    assert (summary.unsubscribes, summary.unsubscribed, summary.suppressed) == (1, 1, 0)
    assert ctx.subscribers.get(email).status is Status.UNSUBSCRIBED
    assert ctx.subscribers.is_suppressed(email) is None  # they may come back by signing up again


def test_forged_reports_change_nothing(ctx, sent, tmp_path) -> None:
    email = "barbara@example.org"
    values = values_for(sent[email], email)
    good = MailAddresses(ctx.settings).tokens.return_token(ctx.subscribers.get(email).id, ISSUE)
    fake = good[:-2] + ("aa" if not good.endswith("aa") else "bb")
    forged_dsn = fill("forged-dsn.eml", RECIPIENT=email)
    forged_arf = fill("forged-arf.eml", RECIPIENT=email, FAKE_TOKEN=fake)
    # a Postfix-shaped bounce to a return path with a wrong signature, quoting a Message-ID that is not ours
    wrong_token = fill("postfix-hard-no-quote.eml", **{**values, "RETURN_PATH": f"bounces+{fake}@example.com"})
    wrong_unsubscribe = fill("mailto-unsubscribe.eml", **{**values, "UNSUBSCRIBE": f"unsubscribe+{fake}@example.com"})
    summary = import_files(
        ctx,
        tmp_path,
        ("1.eml", dated_now(forged_dsn)),
        ("2.eml", dated_now(forged_arf)),
        ("3.eml", dated_now(wrong_token)),
        ("4.eml", wrong_unsubscribe),
    )
    assert summary.unattributed == 3 and summary.other == 1
    assert summary.hard == summary.complaints == summary.unsubscribes == summary.suppressed == 0
    assert all("nothing done" in p or "not a delivery report" in p for p in summary.problems)
    assert [ctx.subscribers.get(e).status for e in READERS] == [Status.ACTIVE] * 4
    assert ctx.subscribers.is_suppressed(email) is None
    assert ctx.deliveries.get(ctx.subscribers.get(email).id, ISSUE).state is DeliveryState.SENT
    assert pipeline.deliverability(ctx).unattributed == {7: 3, 30: 3}


def test_soft_bounces_suppress_after_three_in_fourteen_days(ctx, sent, tmp_path) -> None:
    email = "ada@example.com"
    reader = ctx.subscribers.get(email)
    addresses = MailAddresses(ctx.settings)

    def soft(day_offset: int, days_ago: float) -> bytes:
        values = values_for(sent[email], email)
        values["RETURN_PATH"] = addresses.return_path(reader.id, ISSUE + timedelta(days=day_offset))
        return dated_now(fill("postfix-soft.eml", **values), days_ago)

    old = import_files(ctx, tmp_path, ("old.eml", soft(-30, days_ago=20)))  # outside the window
    first = import_files(ctx, tmp_path, ("a.eml", soft(0, 2)), ("b.eml", soft(1, 1)))
    assert (old.soft, first.soft, first.suppressed) == (1, 2, 0)
    assert ctx.subscribers.get(email).status is Status.ACTIVE
    third = import_files(ctx, tmp_path, ("c.eml", soft(2, 0)))
    assert (third.soft, third.suppressed) == (1, 1)
    assert ctx.subscribers.get(email).status is Status.BOUNCED
    assert ctx.subscribers.is_suppressed(email) == "soft bounces"

    # three at once, in one batch of one import, count the same
    grace = ctx.subscribers.get("grace@mail.example.net")
    values = values_for(sent[grace.email], grace.email)
    batch = [
        (f"g{n}.eml", dated_now(fill("postfix-soft.eml", **{**values, "RETURN_PATH": path}), n))
        for n, path in enumerate(addresses.return_path(grace.id, ISSUE + timedelta(days=n)) for n in range(3))
    ]
    together = import_files(ctx, tmp_path, *batch)
    assert (together.soft, together.suppressed) == (3, 1)
    assert ctx.subscribers.is_suppressed(grace.email) == "soft bounces"


def test_a_delay_is_counted_and_nothing_else(ctx, sent, tmp_path) -> None:
    email = "ada@example.com"
    summary = import_files(ctx, tmp_path, ("d.eml", fill("postfix-delayed.eml", **values_for(sent[email], email))))
    assert (summary.delayed, summary.hard, summary.soft) == (1, 0, 0)
    assert ctx.subscribers.get(email).status is Status.ACTIVE


def test_a_report_read_twice_counts_once(ctx, sent, tmp_path) -> None:
    email = "ada@example.com"
    data = dated_now(fill("postfix-soft.eml", **values_for(sent[email], email)))  # counted in the last 7 days
    first = import_files(ctx, tmp_path, ("a.eml", data), ("copy.eml", data))  # twice in one batch
    assert (first.soft, first.duplicates) == (1, 1)
    again = import_files(ctx, tmp_path, ("a.eml", data))
    assert (again.duplicates, again.soft) == (1, 0)
    assert pipeline.deliverability(ctx).domains[0]["soft_bounces"] == {"7d": 1, "30d": 1}


def test_maildir_mbox_and_folders(ctx, sent, tmp_path) -> None:
    a, e = "ada@example.com", "edsger@example.com"
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(fill("postfix-hard.eml", **values_for(sent[a], a)))
    mbox = mailbox.mbox(tmp_path / "returns.mbox")
    mbox.add(fill("mailto-unsubscribe.eml", **values_for(sent[e], e)))
    mbox.add(fill("not-a-report.eml", **values_for(sent[e], e)))
    mbox.flush()
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / "delayed").write_bytes(fill("postfix-delayed.eml", **values_for(sent[e], e)))
    summary = pipeline.import_bounces(ctx, [tmp_path / "Maildir", tmp_path / "returns.mbox", folder])
    assert (summary.messages, summary.hard, summary.unsubscribes, summary.delayed, summary.other) == (4, 1, 1, 1, 1)


# -- deliverability ------------------------------------------------------------------------------------


def test_deliverability_per_domain_and_the_issue_warning(ctx, sent, tmp_path, caplog) -> None:
    a, g = "ada@example.com", "grace@mail.example.net"
    with caplog.at_level(logging.WARNING, logger="newsletter"):
        import_files(
            ctx,
            tmp_path,
            ("h.eml", dated_now(fill("postfix-hard.eml", **values_for(sent[g], g)))),
            ("c.eml", dated_now(fill("arf-yahoo.eml", **values_for(sent[a], a)))),
        )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"issue {ISSUE}: 1 of 4 messages bounced (25.0%" in w for w in warnings), warnings
    assert any(f"issue {ISSUE}: 1 of 4 messages drew a spam complaint" in w for w in warnings), warnings
    report = pipeline.deliverability(ctx)
    rows = {r["domain"]: r for r in report.domains}
    assert rows["example.com"]["sent"] == {"7d": 2, "30d": 2} and rows["example.org"]["sent"]["7d"] == 1
    assert rows["example.com"]["complaints"] == {"7d": 1, "30d": 1}
    assert rows["example.com"]["unsubscribes"] == {"7d": 1, "30d": 1}
    assert rows["example.com"]["suppressions"] == 1
    assert rows["mail.example.net"]["hard_bounces"] == {"7d": 1, "30d": 1}
    assert rows["mail.example.net"]["suppressions"] == 1
    assert rows["example.org"]["hard_bounces"] == {"7d": 0, "30d": 0}
    [issue] = report.issues
    assert (issue.attempted, issue.bounces, issue.complaints) == (4, 1, 1)


def test_a_send_with_many_rejections_warns(ctx, smtp_server, caplog) -> None:
    ctx.papers.upsert([make_paper(title="Circuits in transformers", abstract="mechanistic interpretability")])
    for email in READERS:
        subscriptions.add(ctx.settings, ctx.subscribers, email, SubscriberChanges(topics=("interpretability",)))
    smtp_server.handler.refuse["barbara@example.org"] = 550
    with caplog.at_level(logging.WARNING, logger="newsletter"):
        summary = pipeline.send_issue(ctx, pipeline.SendOptions(issue_date=ISSUE, show_progress=False))
    assert (summary.sent, summary.failed_permanent) == (3, 1)
    warnings = [r.getMessage() for r in caplog.records if r.name == "newsletter.returns.sender_limits"]
    assert warnings == [f"issue {ISSUE}: 1 of 4 messages bounced (25.0%, above 2%): check the list for stale addresses"]
    rows = {r["domain"]: r for r in pipeline.deliverability(ctx).domains}
    assert rows["example.org"]["hard_bounces"] == {"7d": 1, "30d": 1} and rows["example.org"]["suppressions"] == 1


# -- the outside check ---------------------------------------------------------------------------------


def test_outside_check_four_readers_three_files_one_import(ctx, sent, smtp_server, tmp_path) -> None:
    """A late bounce quoting nothing, an ARF complaint quoting the digest's headers and a mail to the
    List-Unsubscribe mailto:, imported at once by the CLI: three readers stop getting mail, the fourth not."""
    bounced, complained, leaving, untouched = READERS
    # 1. a hard bounce sent to the return path, quoting nothing
    (tmp_path / "bounce.eml").write_bytes(
        dated_now(fill("postfix-hard-no-quote.eml", **values_for(sent[bounced], bounced)))
    )
    # 2. a complaint quoting the headers of the digest as it was received
    digest = sent[complained].data
    headers = digest[: digest.index(b"\r\n\r\n")].replace(b"\r\n", b"\n").decode()
    arf = fill("arf-generic.eml", **{**values_for(sent[complained], complained), "RETURN_PATH": "fbl@example.com"})
    arf = dated_now(arf)
    start = arf.index(b"Content-Type: text/rfc822-headers\n\n") + len(b"Content-Type: text/rfc822-headers\n\n")
    end = arf.index(b"\n--part1_13d.2e68ed54_boundary--")
    (tmp_path / "complaint.eml").write_bytes(arf[:start] + headers.encode() + b"\n" + arf[end:])
    assert b"@@" not in (tmp_path / "complaint.eml").read_bytes()
    # 3. what a mail client sends for the mailto: of List-Unsubscribe: its address and subject as given
    url = urlsplit(re.search(r"<(mailto:[^>]+)>", str(sent[leaving].message["List-Unsubscribe"])).group(1))
    mail = EmailMessage()
    mail["From"], mail["To"] = leaving, url.path
    mail["Subject"] = parse_qs(url.query)["subject"][0]
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail.set_content("This message was automatically generated by Gmail.")
    (tmp_path / "unsubscribe.eml").write_bytes(bytes(mail))

    config = tmp_path / "c.toml"
    config.write_text(
        f'[database]\nurl = "{ctx.settings.database.url}"\n[web]\nsecret_key = "{ctx.settings.web.secret_key}"\n'
        f'base_url = "{ctx.settings.web.base_url}"\n[smtp]\nport = {smtp_server.port}\nhost = "127.0.0.1"\n',
        encoding="utf-8",
    )
    files = [str(tmp_path / n) for n in ("bounce.eml", "complaint.eml", "unsubscribe.eml")]
    result = CliRunner().invoke(main, ["--config", str(config), "bounces", "import", *files, "--json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert (counts["hard_bounces"], counts["complaints"], counts["unsubscribes"], counts["unattributed"]) == (
        1,
        1,
        1,
        0,
    )

    assert ctx.subscribers.get(bounced).status is Status.BOUNCED
    assert ctx.subscribers.get(complained).status is Status.UNSUBSCRIBED
    assert ctx.subscribers.is_suppressed(complained) == "complaint"
    assert ctx.subscribers.get(leaving).status is Status.UNSUBSCRIBED
    assert ctx.subscribers.get(untouched).status is Status.ACTIVE and not ctx.subscribers.is_suppressed(untouched)

    # the next issue reaches the fourth reader only
    ctx.papers.upsert([make_paper(title="More circuits", abstract="interpretability", announced=ISSUE + timedelta(1))])
    before = len(smtp_server.messages)
    pipeline.send_issue(ctx, pipeline.SendOptions(issue_date=ISSUE + timedelta(days=1), show_progress=False))
    assert [m.recipients[0] for m in smtp_server.messages[before:]] == [untouched]

    status = CliRunner().invoke(main, ["--config", str(config), "status", "--deliverability", "--json"])
    assert status.exit_code == 0, status.output
    domains = {d["domain"]: d for d in json.loads(status.stdout)["domains"]}
    assert domains["mail.example.net"]["complaints"]["7d"] == 1
    assert domains["example.com"]["hard_bounces"]["7d"] == 1 and domains["example.com"]["unsubscribes"]["7d"] == 1


def test_cli_reports_problems_and_missing_paths(tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/b.db"\n', encoding="utf-8")
    runner = CliRunner()
    # Tokens signed with no key (or a published one) prove nothing: both commands refuse to run.
    for command in (["import", str(SAMPLES)], ["poll"]):
        unkeyed = runner.invoke(main, ["--config", str(config), "bounces", *command])
        assert unkeyed.exit_code == 1 and "'web.secret_key' is not set" in unkeyed.stderr
    with config.open("a", encoding="utf-8") as out:
        out.write(f'[web]\nsecret_key = "{"k" * 40}"\n')
    assert runner.invoke(main, ["--config", str(config), "db", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["--config", str(config), "bounces", "import", str(SAMPLES)])
    assert result.exit_code == 0, result.output
    assert re.search(r"read 13 messages: .* unattributed", result.stdout)
    assert "forged-dsn.eml: unattributed dsn naming @@recipient@@" in result.stderr
    # Mail with no From: (and a file that is no mail at all) is no bounce, said without a library's traceback.
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "nofrom.eml").write_bytes(b"To: bounces+abc@example.org\nSubject: hello\n\nbody\n")
    (odd / "binary.eml").write_bytes(bytes(range(256)) * 4)
    quiet = runner.invoke(main, ["--config", str(config), "bounces", "import", str(odd)])
    assert quiet.exit_code == 0 and "read 2 messages" in quiet.stdout, quiet.output
    assert "Traceback" not in quiet.stderr and "ERROR" not in quiet.stderr, quiet.stderr
    missing = runner.invoke(main, ["--config", str(config), "bounces", "import", str(SAMPLES), str(tmp_path / "no")])
    assert missing.exit_code == 1 and f"{tmp_path / 'no'}: no such file or folder" in missing.stderr
    poll = runner.invoke(main, ["--config", str(config), "bounces", "poll"])
    assert poll.exit_code == 1 and "'inbox.host' is not set" in poll.stderr


def test_a_policy_block_in_a_report_is_soft() -> None:
    """A DSN whose status is 5.7.x (a filter or relay refused the message) is soft: only repeated ones, like
    other soft bounces, suppress the reader; 5.1.1 in the same report is hard."""
    hard = fill("postfix-hard.eml", **PLACEHOLDERS)
    blocked = hard.replace(b"Status: 5.1.1", b"Status: 5.7.1")
    assert blocked != hard
    report = bounces.parse(blocked, "blocked.eml")
    assert (report.worst.severity, report.worst.status) == ("soft", "5.7.1")
    assert bounces.parse(hard, "hard.eml").worst.severity == "hard"
