"""The send journal on SQLite and PostgreSQL: what a sender that is gone kept is applied to the rows it still
holds, and only those; a live sender's journal is left alone; a torn line costs only its own outcome."""

import socket
import subprocess
from datetime import timedelta

from newsletter import pipeline
from newsletter.models import DeliveryState, Outcome
from newsletter.owners import new_owner
from newsletter.store.journal import Journal, folder
from tests.factories import ISSUE, insert_readers, make_paper


def dead_owner() -> str:
    """The lease owner of a process of this machine that has exited."""
    child = subprocess.Popen(["true"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}:dead01"


def test_a_gone_senders_journal_is_applied_to_the_rows_it_still_holds(ctx, tmp_path) -> None:
    ctx.papers.upsert([make_paper(title="Sparse circuits in transformer language models", abstract="circuits")])
    insert_readers(ctx, 4, max_items=5)
    options = pipeline.SendOptions(issue_date=ISSUE, show_progress=False)
    list(pipeline.prepare_issue(ctx, ctx.subscribers.due(ISSUE), options))
    gone, alive = dead_owner(), f"{socket.gethostname()}:1:alive1"  # pid 1 always exists
    where = folder(tmp_path, ctx.db.identity)

    a, b, c = ctx.ledger.claim(gone, timedelta(minutes=2), 3)
    [d] = ctx.ledger.claim(alive, timedelta(minutes=2), 1)
    crashed = Journal(where, gone)
    crashed.append(Outcome(a.id, True, 250, "2.0.0 accepted", "<a@example.com>"))
    crashed.append(Outcome(b.id, False, 451, "4.3.0 try later", "<b@example.com>", transient=True))
    crashed.append(Outcome(c.id, True, 250, "2.0.0 accepted", "<c@example.com>"))
    crashed.close(recorded=False)  # as a kill -9 leaves it: synced, kept
    with crashed.path.open("a", encoding="utf-8") as torn:
        torn.write('{"id": 9999, "ok": tr')  # cut short by a power loss
    ctx.ledger.release([c.id])  # c was given back meanwhile: the journal must not touch it
    running = Journal(where, alive)
    running.append(Outcome(d.id, True, 250, "2.0.0 accepted", "<d@example.com>"))
    running.close(recorded=False)

    assert Journal(where, new_owner()).recover(ctx.ledger) == {gone: 2}  # the live sender's is left alone
    rows = ctx.deliveries.of(ISSUE, [x.subscriber_id for x in (a, b, c, d)])
    by_id = {row.id: row for row in rows.values()}
    assert by_id[a.id].state is DeliveryState.SENT and by_id[a.id].message_id == "<a@example.com>"
    assert by_id[b.id].state is DeliveryState.FAILED_TRANSIENT and by_id[b.id].last_code == 451
    assert by_id[c.id].state is DeliveryState.PENDING
    assert by_id[d.id].state is DeliveryState.SENDING, "a live sender's journal is its own"
    assert not crashed.path.exists() and running.path.exists()


def test_a_run_that_recorded_everything_leaves_no_journal(ctx, tmp_path) -> None:
    journal = Journal(folder(tmp_path, ctx.db.identity), new_owner())
    journal.append(Outcome(1, True, 250, "ok", "<x@example.com>"))
    assert journal.path.stat().st_mode & 0o777 == 0o600
    journal.close(recorded=True)
    assert not journal.path.exists()


def test_a_dead_senders_rows_taken_back_are_no_longer_its_own(ctx) -> None:
    """Rows of a dead sender, once its journal is recorded, go back to pending with no owner: a later run that
    does not claim them (a reader who left meanwhile) does not see that sender again, nor warn of it."""
    ctx.papers.upsert([make_paper(title="Sparse circuits in transformer language models", abstract="circuits")])
    insert_readers(ctx, 2, max_items=5)
    options = pipeline.SendOptions(issue_date=ISSUE, show_progress=False)
    list(pipeline.prepare_issue(ctx, ctx.subscribers.due(ISSUE), options))
    gone = dead_owner()
    held = ctx.ledger.claim(gone, timedelta(minutes=2), 2)
    assert ctx.ledger.lease_owners() == {gone}
    assert ctx.ledger.expire_leases({gone}) == 2
    assert ctx.ledger.lease_owners() == set()
    rows = ctx.deliveries.of(ISSUE, [d.subscriber_id for d in held])
    assert {row.state for row in rows.values()} == {DeliveryState.PENDING}
