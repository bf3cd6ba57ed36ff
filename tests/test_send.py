"""Sending an issue through a real aiosmtpd server, on SQLite and PostgreSQL: exactly once per reader."""

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest

from newsletter import pipeline
from newsletter.capture import CaptureHandler, CaptureServer
from newsletter.deliver.progress import NoProgress
from newsletter.errors import DeliveryError, InputError
from newsletter.models import DeliveryState, Status, SubscriberChanges
from newsletter.readers import subscriptions
from tests.factories import ISSUE, make_paper

INTERP = dict(title="Circuits in transformer language models", abstract="Mechanistic interpretability of circuits.")
ANALOG = dict(title="An analog circuit design for regulators", abstract="Analog circuit design of an LDO regulator.")


@pytest.fixture
def world(ctx):
    """Two papers and three readers: two who match something, one who matches nothing."""
    ctx.papers.upsert([make_paper(**INTERP), make_paper(**ANALOG)])
    for email, topics in [
        ("ada@example.com", ("mechanistic interpretability",)),
        ("grace@example.com", ("analog circuit design",)),
        ("nobody@example.com", ("marine biology",)),
    ]:
        subscriptions.add(ctx.settings, ctx.subscribers, email, SubscriberChanges(topics=topics))
    return ctx


def send(ctx, **kw):
    return pipeline.send_issue(ctx, pipeline.SendOptions(issue_date=ISSUE, show_progress=False, **kw))


def test_send_then_send_again_sends_nothing(world, smtp_server) -> None:
    summary = send(world)
    assert (summary.sent, summary.skipped, summary.failed) == (2, 1, 0)
    assert sorted(m.recipients[0] for m in smtp_server.messages) == ["ada@example.com", "grace@example.com"]
    ada = next(m.message for m in smtp_server.messages if m.recipients == ("ada@example.com",))
    assert "Circuits in transformer language models" in ada.get_body(("plain",)).get_content()
    assert "analog" not in ada.get_body(("plain",)).get_content().lower()

    again = send(world)
    assert again.sent == 0 and len(smtp_server.messages) == 2
    assert world.deliveries.status(ISSUE)[0].counts == {
        "pending": 0,
        "sending": 0,
        "sent": 2,
        "failed_transient": 0,
        "failed_permanent": 0,
        "skipped": 1,
    }


def test_a_watched_send_runs_with_rich_progress(world, smtp_server) -> None:
    # A quiet send (every other test) has no progress display at all; a terminal's gets rich's.
    summary = pipeline.send_issue(world, pipeline.SendOptions(issue_date=ISSUE, show_progress=True))
    assert (summary.sent, summary.skipped, summary.failed) == (2, 1, 0)


def test_next_issue_never_repeats_a_paper(world, smtp_server) -> None:
    send(world)
    world.papers.upsert(
        [
            make_paper(
                title="More circuits in transformers",
                abstract="mechanistic interpretability",
                announced=ISSUE + timedelta(days=1),
            )
        ]
    )
    pipeline.send_issue(world, pipeline.SendOptions(issue_date=ISSUE + timedelta(days=1), show_progress=False))
    ada = [m.message for m in smtp_server.messages if m.recipients == ("ada@example.com",)]
    assert len(ada) == 2
    second = ada[1].get_body(("plain",)).get_content()
    assert "More circuits in transformers" in second and "Circuits in transformer language models" not in second


def test_rejected_address_does_not_stop_the_others(world, smtp_server) -> None:
    smtp_server.handler.refuse["ada@example.com"] = 550
    summary = send(world)
    assert summary.sent == 1 and summary.failed_permanent == 1
    assert [m.recipients[0] for m in smtp_server.messages] == ["grace@example.com"]
    assert world.subscribers.get("ada@example.com").status is Status.BOUNCED
    assert world.subscribers.is_suppressed("ada@example.com") == "bounce"
    failure = world.deliveries.status(ISSUE)[0].last_errors[0]
    assert failure.email == "ada@example.com" and failure.last_code == 550 and "No such user" in failure.last_reply


@pytest.mark.parametrize("code", [451, 552])
def test_transient_failure_is_retried_on_the_next_run(world, smtp_server, code) -> None:
    smtp_server.handler.refuse["ada@example.com"] = code
    summary = send(world)
    assert summary.failed_transient == 1 and summary.sent == 1
    ada = world.subscribers.get("ada@example.com")
    assert ada.status is Status.ACTIVE
    assert world.deliveries.get(ada.id, ISSUE).state is DeliveryState.FAILED_TRANSIENT
    (shown,) = world.deliveries.status(ISSUE)[0].last_errors
    assert shown.next_step().startswith("retried from ") and shown.next_step().endswith("UTC (attempt 2)")

    del smtp_server.handler.refuse["ada@example.com"]
    retry = send(world)
    assert retry.sent == 1
    assert sorted(m.recipients[0] for m in smtp_server.messages) == ["ada@example.com", "grace@example.com"]
    assert world.deliveries.get(ada.id, ISSUE).attempts == 2


def test_resent_message_keeps_its_message_id(world, smtp_server) -> None:
    smtp_server.handler.refuse["ada@example.com"] = 451
    send(world)
    ada = world.subscribers.get("ada@example.com")
    first_id = world.deliveries.get(ada.id, ISSUE).message_id
    del smtp_server.handler.refuse["ada@example.com"]
    send(world)
    received = next(m.message for m in smtp_server.messages if m.recipients == ("ada@example.com",))
    assert received["Message-ID"] == first_id


def test_server_down_changes_nothing(world) -> None:
    down = world.settings.replace(smtp={"port": 1})
    ctx = pipeline.Context(down, world.db)
    with pytest.raises(DeliveryError, match=r"cannot connect to SMTP server 127\.0\.0\.1:1: Connection refused"):
        send(ctx)
    assert world.deliveries.status() == []


def test_server_lost_mid_run_stops_and_keeps_the_rest_pending(world) -> None:
    with CaptureServer() as server:
        settings = world.settings.replace(smtp={"port": server.port})
    # The server is gone: connecting works for nobody; the run stops after a few tries.
    ctx = pipeline.Context(settings, world.db)
    with pytest.raises(DeliveryError):
        send(ctx)
    assert all(s.counts["sent"] == 0 for s in world.deliveries.status())


def test_dry_run_with_outbox_writes_eml_and_records_nothing(world, smtp_server, tmp_path) -> None:
    summary = send(world, dry_run=True, outbox=str(tmp_path / "out"))
    assert summary.sent == 2 and smtp_server.messages == []
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["1.eml", "2.eml"]
    parsed = message_from_bytes((tmp_path / "out" / "1.eml").read_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert world.deliveries.status() == []
    assert send(world).sent == 2, "a dry run does not count as sent"
    # After the send, a dry run says what the same options would do: nothing again, a re-send with --to.
    assert send(world, dry_run=True).sent == 0
    reader = smtp_server.messages[0].recipients[0]
    again = send(world, dry_run=True, resend=True, to=(reader,))
    assert again.sent == 1 and len(smtp_server.messages) == 2
    assert send(world, resend=True, to=(reader,)).sent == 1


def test_outbox_with_real_send_keeps_copies(world, smtp_server, tmp_path) -> None:
    send(world, outbox=str(tmp_path / "copies"))
    assert len(smtp_server.messages) == 2 and len(list((tmp_path / "copies").glob("*.eml"))) == 2


def test_outbox_keeps_no_copy_of_a_refused_message(world, smtp_server, tmp_path) -> None:
    smtp_server.handler.refuse["grace@example.com"] = 550
    summary = send(world, outbox=str(tmp_path / "copies"))
    assert summary.sent == 1 and summary.failed_permanent == 1
    [copy] = (tmp_path / "copies").glob("*.eml")
    assert (
        message_from_bytes(copy.read_bytes(), policy=policy.default)["To"].addresses[0].addr_spec
        == (smtp_server.messages[0].recipients[0])
    )


def test_to_sends_only_to_those(world, smtp_server) -> None:
    summary = send(world, to=("grace@example.com",))
    assert summary.sent == 1 and [m.recipients[0] for m in smtp_server.messages] == ["grace@example.com"]
    with pytest.raises(InputError, match=r"--to x@example\.com: no such subscriber"):
        send(world, to=("x@example.com",))


def test_paused_reader_is_skipped(world, smtp_server) -> None:
    world.subscribers.set_status("ada@example.com", Status.PAUSED)
    summary = send(world, to=("ada@example.com",))
    assert summary.sent == 0 and summary.outcomes == [("ada@example.com", "skipped", "status is paused")]


def test_first_digest_takes_the_latest_announcement_however_old(world, smtp_server) -> None:
    later = ISSUE + timedelta(days=10)
    summary = pipeline.send_issue(world, pipeline.SendOptions(issue_date=later, show_progress=False))
    assert summary.sent == 2 and summary.skipped == 1


def test_no_papers_at_all_sends_nothing(ctx, smtp_server) -> None:
    subscriptions.add(ctx.settings, ctx.subscribers, "a@example.com", SubscriberChanges(topics=("x",)))
    summary = send(ctx)
    assert summary.sent == 0 and summary.outcomes == [("a@example.com", "skipped", "nothing relevant among 0 papers")]


def test_returning_reader_gets_only_what_came_since(world, smtp_server) -> None:
    send(world)
    quiet = pipeline.send_issue(world, pipeline.SendOptions(issue_date=ISSUE + timedelta(days=1), show_progress=False))
    assert quiet.sent == 0, "nothing new since the last digest"


def test_send_empty_sends_a_short_note(world, smtp_server) -> None:
    ctx = pipeline.Context(world.settings.replace(digest={"send_empty": True}), world.db)
    assert send(ctx).sent == 3
    note = next(m.message for m in smtp_server.messages if m.recipients == ("nobody@example.com",))
    assert "Nothing new matched your topics" in note.get_body(("plain",)).get_content()


def test_capture_handler_refusal_table() -> None:
    handler = CaptureHandler(refuse={"x@example.com": 599})
    assert handler.refuse["x@example.com"] == 599


def test_new_version_comes_back_once_marked_updated(world, smtp_server) -> None:
    send(world)
    ada_first = [m for m in smtp_server.messages if m.recipients == ("ada@example.com",)]
    assert len(ada_first) == 1
    interp = next(p for p in world.papers.list() if p.title == INTERP["title"])
    next_day = ISSUE + timedelta(days=1)
    world.papers.upsert([], updates=[replace(interp, version=2, sources=("arxiv",))], today=next_day)
    pipeline.send_issue(world, pipeline.SendOptions(issue_date=next_day, show_progress=False))
    ada = [m.message for m in smtp_server.messages if m.recipients == ("ada@example.com",)]
    assert len(ada) == 2
    text = ada[1].get_body(("plain",)).get_content()
    assert INTERP["title"] in text and "updated (v2)" in text
    # Sent once as updated: the day after, it does not come back.
    again = pipeline.send_issue(
        world, pipeline.SendOptions(issue_date=next_day + timedelta(days=1), show_progress=False)
    )
    assert again.sent == 0


def test_greylisted_reader_is_retried_within_the_run(world, smtp_server) -> None:
    @dataclass
    class Greylist(CaptureHandler):
        """451 to the first try of each recipient, then accept: what greylisting servers do."""

        seen: set[str] = field(default_factory=set)

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
            if address not in self.seen:
                self.seen.add(address)
                return "451 4.7.1 Greylisted, try again later"
            return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    with CaptureServer(handler=Greylist()) as grey:
        settings = world.settings.replace(smtp={"port": grey.port, "retry_base": 0.05, "retry_wait": 5})
        summary = send(pipeline.Context(settings, world.db))
        assert summary.sent == 2 and summary.failed == 0
        assert sorted(m.recipients[0] for m in grey.messages) == ["ada@example.com", "grace@example.com"]
    ada = world.subscribers.get("ada@example.com")
    assert world.deliveries.get(ada.id, ISSUE).attempts == 2


def test_send_sends_each_batch_as_soon_as_it_is_archived(world, monkeypatch) -> None:
    """Readers are archived a batch (1,000) at a time: the first message leaves before the last batch is
    archived, not after the whole issue; the bar counts the readers sent to, fewer as some are skipped."""
    import sqlalchemy as sa

    from newsletter.store.tables import DigestRow
    from tests.factories import insert_readers

    shown: list[dict[str, float]] = []

    class Bar(NoProgress):
        def update(self, task_id: object, **fields: float) -> None:
            shown.append(fields)

    monkeypatch.setattr("newsletter.pipeline.send.progress_view", lambda show: Bar() if show else NoProgress())

    @dataclass
    class Clock(CaptureHandler):
        arrived: list[datetime] = field(default_factory=list)

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            self.arrived.append(datetime.now(UTC))
            return await super().handle_DATA(server, session, envelope)

    # Readers of a topic each: building the second batch takes a while (each phrase is looked up).
    insert_readers(world, 1500, topics=tuple(f"mechanistic interpretability {i}" for i in range(1500)))
    with CaptureServer(handler=Clock()) as sink:
        settings = world.settings.replace(smtp={"port": sink.port})
        options = pipeline.SendOptions(issue_date=ISSUE, show_progress=True)
        summary = pipeline.send_issue(pipeline.Context(settings, world.db), options)
        assert summary.sent == len(sink.messages) == 1502 and summary.skipped == 1
    with world.db.engine.connect() as connection:
        archived = connection.scalar(sa.select(sa.func.max(DigestRow.created_at)))
    assert min(sink.handler.arrived) < archived
    assert shown[-1]["total"] == shown[-1]["completed"] == 1502


@pytest.mark.parametrize("stop", ["sender refused", "shutdown"])
def test_a_send_stopped_while_it_archives_resumes_with_each_reader_once(world, stop) -> None:
    """The run stops while the second of three batches is being archived (the server refuses our sender; Ctrl-C):
    the archiving stops too, and the re-run, which first sorts out the half-sent issue in the ledger (on
    SQLite it held the one write lock for a minute while the archiving waited, and failed), sends everyone
    else, each reader once."""
    from tests.factories import insert_readers

    # Three batches of 1,000: alike readers, then readers of a topic each (each phrase is looked up: slow to
    # archive), then alike again.
    insert_readers(world, 1000, topics=("mechanistic interpretability",), domain="example.net")
    insert_readers(world, 1000, topics=tuple(f"mechanistic interpretability {i}" for i in range(1000)))
    insert_readers(world, 100, topics=("mechanistic interpretability",), domain="example.org")

    @dataclass
    class Stopping(CaptureHandler):
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            answer = await super().handle_DATA(server, session, envelope)
            if len(self.messages) == 1:  # the first batch archived, the second being archived
                if stop == "shutdown":
                    pipeline.SHUTDOWN.set()
                else:
                    self.refuse_sender = 550
            return answer

    options = pipeline.SendOptions(issue_date=ISSUE, show_progress=False)
    try:
        with CaptureServer(handler=Stopping()) as first:
            settings = world.settings.replace(smtp={"port": first.port, "pool_size": 1})
            if stop == "shutdown":
                pipeline.send_issue(pipeline.Context(settings, world.db), options)
            else:
                with pytest.raises(DeliveryError, match="refused mail from us"):
                    pipeline.send_issue(pipeline.Context(settings, world.db), options)
    finally:
        pipeline.SHUTDOWN.clear()
    archived = sum(sum(s.counts.values()) for s in world.deliveries.status(ISSUE))
    assert first.messages and archived <= 2000, "the archiving stopped with the send"
    with CaptureServer() as second:
        settings = world.settings.replace(smtp={"port": second.port})
        summary = pipeline.send_issue(pipeline.Context(settings, world.db), options)
    everyone = [m.recipients[0] for m in [*first.messages, *second.messages]]
    assert len(everyone) == len(set(everyone)) == 2102 and summary.sent == 2102 - len(first.messages)


def test_send_with_workers_shares_an_issue_smaller_than_a_claim(world, monkeypatch) -> None:
    """`send --workers 3` of 60 readers: every sending process takes part (each claimed 100 rows at once,
    so the first took the whole issue and the others had nothing: no faster than one process); its one
    progress bar counts what every process sent (it counted the first process's alone)."""

    class Bar(NoProgress):
        def __init__(self) -> None:
            self.shown: list[dict[str, float]] = []

        def add_task(self, description: str, **fields: object) -> int:
            self.total = fields["total"]
            return 0

        def update(self, task_id: object, **fields: float) -> None:
            self.shown.append(fields)

    bar = Bar()
    monkeypatch.setattr("newsletter.pipeline.send.progress_view", lambda show: bar if show else NoProgress())

    @dataclass
    class Peers(CaptureHandler):
        """Records the client end of the connection each message came over."""

        peers: set[tuple[str, int]] = field(default_factory=set)

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            self.peers.add(session.peer)
            return await super().handle_DATA(server, session, envelope)

    from tests.factories import insert_readers

    insert_readers(world, 60, topics=("mechanistic interpretability",))
    with CaptureServer(handler=Peers(data_delay=0.1)) as sink:  # slow enough for the processes to start
        settings = world.settings.replace(smtp={"port": sink.port, "pool_size": 1})
        summary = pipeline.send_issue(
            pipeline.Context(settings, world.db), pipeline.SendOptions(issue_date=ISSUE, show_progress=True, workers=3)
        )
        assert summary.sent == len(sink.messages) == 62
        assert len(sink.handler.peers) == 3, "one connection per process, and every process sent"
    assert bar.total == 62 and bar.shown[-1]["completed"] == 62 and bar.shown[-1]["failed"] == 0
    done = [shown["completed"] for shown in bar.shown]
    assert done == sorted(done) and len(set(done)) > 2, "it moved as the processes sent"


def test_max_attempts_parks_the_row_and_resend_reopens_it(world, smtp_server) -> None:
    smtp_server.handler.refuse["ada@example.com"] = 450
    ctx = pipeline.Context(world.settings.replace(smtp={"max_attempts": 2}), world.db)
    send(ctx)
    send(ctx)
    ada = world.subscribers.get("ada@example.com")
    parked = world.deliveries.get(ada.id, ISSUE)
    assert parked.state is DeliveryState.FAILED_TRANSIENT and parked.attempts == 2
    assert not send(ctx).counts, "a parked row is never looped on"
    del smtp_server.handler.refuse["ada@example.com"]
    resent = pipeline.send_issue(ctx, pipeline.SendOptions(issue_date=ISSUE, show_progress=False, resend=True))
    assert resent.sent == 1


def test_an_issue_parked_then_overtaken_by_a_later_one_is_skipped_not_sent_twice(world, smtp_server, caplog) -> None:
    """The earlier issue's row parked when the next issue is sent: that issue, made from the papers since the
    last one sent, brings the parked issue's papers (none lost); the parked row resent later is skipped, not
    mailed with the same papers again (admin trial; a first fix had left them out of the next issue, and a
    reader of `run` alone never got them)."""
    smtp_server.handler.refuse["ada@example.com"] = 450
    ctx = pipeline.Context(world.settings.replace(smtp={"max_attempts": 1}), world.db)
    send(ctx)  # parked: held for --resend
    del smtp_server.handler.refuse["ada@example.com"]
    later = ISSUE + timedelta(days=1)
    world.papers.upsert(
        [make_paper(title="More circuits in transformers", abstract="mechanistic interpretability", announced=later)]
    )
    pipeline.send_issue(ctx, pipeline.SendOptions(issue_date=later, show_progress=False, to=("ada@example.com",)))
    again = pipeline.send_issue(ctx, pipeline.SendOptions(issue_date=ISSUE, show_progress=False, resend=True))
    ada = [
        m.message.get_body(("plain",)).get_content()
        for m in smtp_server.messages
        if m.recipients == ("ada@example.com",)
    ]
    assert len(ada) == 1 and again.sent == 0
    assert "Circuits in transformer language models" in ada[0] and "More circuits in transformers" in ada[0]
    parked = world.deliveries.get(world.subscribers.get("ada@example.com").id, ISSUE)
    assert parked.state is DeliveryState.SKIPPED and "a later issue reached this reader first" in parked.last_reply
    assert any("skipped 1 deliveries of readers a later issue has reached" in r.getMessage() for r in caplog.records)


def test_resend_to_one_reader_sends_their_digest_again(world, smtp_server) -> None:
    send(world)
    again = pipeline.send_issue(
        world, pipeline.SendOptions(issue_date=ISSUE, to=("grace@example.com",), resend=True, show_progress=False)
    )
    assert again.sent == 1
    grace = [m.message for m in smtp_server.messages if m.recipients == ("grace@example.com",)]
    assert len(grace) == 2 and grace[0]["Message-ID"] == grace[1]["Message-ID"]


def test_what_is_sent_is_what_is_archived_whether_kept_in_memory_or_read_back(world, smtp_server, monkeypatch) -> None:
    """The first digests of a send go from the prepare step to the sender in memory; the rest are read
    back from the archive. Both give the message a preview of the archived digest gives."""
    monkeypatch.setattr("newsletter.pipeline.send.FRESH_DIGESTS", 1)  # one reader in memory, the other read back
    assert send(world).sent == 2
    for received in smtp_server.messages:
        archived, _ = pipeline.preview(world, received.recipients[0], ISSUE)
        body = received.message.get_body(("html",)).get_content().replace("\r\n", "\n")
        assert body == archived.html and received.message["Message-ID"] == archived.message_id


def test_a_long_skipped_list_ends_with_what_it_leaves_out(world, smtp_server) -> None:
    from tests.factories import insert_readers

    insert_readers(world, 60)
    assert send(world).sent == 62
    again = send(world)
    assert (again.sent, again.skipped, len(again.outcomes)) == (0, 63, 50)  # and the world's reader with none
    reasons = again.skip_reasons
    assert reasons[f"already sent for {ISSUE}"] == 62 and sum(reasons.values()) == 63
    prefix = "… and 13 more skipped: "
    assert again.skipped_unnamed.startswith(prefix)
    left = dict(part.split(" ", 1)[::-1] for part in again.skipped_unnamed.removeprefix(prefix).split(", "))
    assert sum(map(int, left.values())) == 13 and f"already sent for {ISSUE}" in left


def test_status_shows_an_old_issue_with_readers_still_to_send(world, smtp_server) -> None:
    """Past the seven latest issues, an issue with pending rows (a back-dated send interrupted) is still shown."""
    list(pipeline.prepare_issue(world, world.subscribers.due(ISSUE), pipeline.SendOptions(issue_date=ISSUE)))
    for n in range(1, 9):  # eight later issues, sent
        later = ISSUE + timedelta(days=n)
        pipeline.send_issue(world, pipeline.SendOptions(issue_date=later, show_progress=False))
    shown = world.deliveries.status()
    assert [s.issue_date for s in shown] == [ISSUE + timedelta(days=n) for n in range(8, 1, -1)] + [ISSUE]
    assert shown[-1].counts["pending"] == 2


def test_a_worker_says_how_long_it_ran(world, smtp_server) -> None:
    import threading

    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    summary = pipeline.run_worker(world, stop, poll=0.05)
    assert summary.sent == 0 and summary.elapsed >= 0.4  # waits included: it ran about that long, sending nothing
    assert "0 sent" in summary.line("worker") and " in 0.0s" not in summary.line("worker")


def test_a_worker_outlives_an_smtp_server_that_is_down_and_sends_once_it_is_back(world, caplog) -> None:
    """A worker whose SMTP server is down logs one line per try and goes on polling (a service that exited
    on it would soon be given up by systemd); once the server answers, the ready rows go."""
    import threading

    list(pipeline.prepare_issue(world, world.subscribers.due(ISSUE), pipeline.SendOptions(issue_date=ISSUE)))
    with CaptureServer() as later:
        port = later.port
    down = pipeline.Context(world.settings.replace(smtp={"port": port, "retry_wait": 0}), world.db)
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    summary = pipeline.run_worker(down, stop, poll=0.1)
    assert summary.sent == 0
    tries = [r.getMessage() for r in caplog.records if "cannot connect to SMTP server" in r.getMessage()]
    assert len(tries) >= 2 and tries[0].endswith("trying again in 0.1s") and tries[1].endswith("in 0.2s")
    with pytest.raises(DeliveryError, match="cannot connect"):
        pipeline.run_worker(down, threading.Event(), once=True)  # by hand: one line and exit 1
    # Settings that cannot work end the worker at once, whatever the poll: no login tried every few seconds.
    plain = pipeline.Context(down.settings.replace(smtp={"username": "u", "password": "pw"}), world.db)
    with pytest.raises(DeliveryError, match="refusing to send the password"):
        pipeline.run_worker(plain, threading.Event(), poll=0.01)
    with CaptureServer() as no_tls:  # implicit TLS against a plain server: the TLS setting, not the server
        tls = pipeline.Context(down.settings.replace(smtp={"port": no_tls.port, "tls": "implicit"}), world.db)
        with pytest.raises(DeliveryError, match="TLS failed"):
            pipeline.run_worker(tls, threading.Event(), poll=0.01)
    with CaptureServer(handler=CaptureHandler(refuse_sender=451)) as busy:  # "try later": the worker waits
        stop = threading.Event()
        threading.Timer(0.5, stop.set).start()
        caplog.clear()
        busy_ctx = pipeline.Context(down.settings.replace(smtp={"port": busy.port}), world.db)
        assert pipeline.run_worker(busy_ctx, stop, poll=0.1).sent == 0
        assert any("refused mail from us (451" in r.getMessage() for r in caplog.records)
    with CaptureServer(port=port) as back:
        stop = threading.Event()
        threading.Timer(1.5, stop.set).start()
        summary = pipeline.run_worker(pipeline.Context(down.settings, world.db), stop, poll=0.1)
    assert summary.sent == 2 and len(back.messages) == 2


def test_an_operator_resumes_a_bounced_reader_but_not_one_who_complained(world, smtp_server) -> None:
    smtp_server.handler.refuse["ada@example.com"] = 550
    send(world)
    assert world.subscribers.is_suppressed("ada@example.com") == "bounce"
    del smtp_server.handler.refuse["ada@example.com"]
    back = subscriptions.resume(world.subscribers, "ada@example.com")  # the mailbox works again
    assert back.status is Status.ACTIVE and world.subscribers.is_suppressed("ada@example.com") is None
    assert send(world, to=("ada@example.com",), resend=True).sent == 1

    world.subscribers.suppress("grace@example.com", "complaint")
    world.subscribers.set_status("grace@example.com", Status.UNSUBSCRIBED)
    with pytest.raises(InputError, match=r"suppressed \(complaint\)"):
        subscriptions.resume(world.subscribers, "grace@example.com", reader_asked=True)
