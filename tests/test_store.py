"""The store on SQLite and PostgreSQL: paper upserts and merges, subscribers, suppressions, the ledger."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from newsletter.errors import InputError, StoreError
from newsletter.models import DeliveryState, Frequency, Outcome, Status, SubscriberChanges
from newsletter.readers import subscriptions
from newsletter.store.db import Database
from tests.conftest import MIGRATIONS_HEAD, ROOT
from tests.factories import ISSUE, make_digest, make_paper, make_subscriber

HEAD = MIGRATIONS_HEAD


def test_upsert_counts_and_merges_sources(ctx) -> None:
    hf = make_paper(id="2611.10001", version=None, upvotes=5, github_url="https://github.com/x/y", sources=("hf",))
    counts = ctx.papers.upsert([hf, make_paper(id="2611.10002")])
    assert (counts.new, counts.updated, counts.unchanged) == (2, 0, 0)
    assert ctx.papers.upsert([hf]).unchanged == 1

    arxiv = make_paper(
        id="2611.10001",
        version=2,
        categories=("cs.LG",),
        primary_category="cs.LG",
        title="Title v2",
        upvotes=None,
        sources=("arxiv",),
        announced=ISSUE + timedelta(days=1),
    )
    assert ctx.papers.upsert([arxiv]).updated == 1
    merged = ctx.papers.get("2611.10001")
    assert merged.version == 2 and merged.title == "Title v2"
    assert merged.upvotes == 5 and merged.github_url == "https://github.com/x/y"  # kept from HF
    assert merged.categories == ("cs.LG",) and merged.sources == ("hf", "arxiv")
    assert merged.announced == ISSUE  # first seen wins: it is not announced again
    assert ctx.papers.count() == 2


def test_duplicates_in_one_batch_become_one_row(ctx) -> None:
    a = make_paper(id="2611.20001", upvotes=1)
    counts = ctx.papers.upsert([a, make_paper(id="2611.20001", upvotes=9, title=a.title)])
    assert counts.new == 1 and ctx.papers.get("2611.20001").upvotes == 9


def test_listing_and_windows(ctx) -> None:
    old = make_paper(announced=ISSUE - timedelta(days=3))
    new = make_paper(announced=ISSUE)
    ctx.papers.upsert([old, new])
    assert [p.id for p in ctx.papers.list()] == [new.id, old.id]
    assert [p.id for p in ctx.papers.list(on=ISSUE)] == [new.id]
    assert [p.id for p in ctx.papers.announced_between(ISSUE - timedelta(days=1), ISSUE)] == [new.id]
    assert ctx.papers.latest_announcement(ISSUE - timedelta(days=1)) == ISSUE - timedelta(days=3)


def add(ctx, email="ada@example.com", **changes):
    return subscriptions.add(ctx.settings, ctx.subscribers, email, SubscriberChanges(**changes))


def test_subscriber_lifecycle(ctx) -> None:
    sub = add(ctx, " Ada@Example.COM ", name="Ada", topics=("circuits", "circuits", " sparse  autoencoders "))
    assert sub.email == "ada@example.com" and sub.status is Status.ACTIVE
    assert sub.preferences.topics == ("circuits", "sparse autoencoders")
    assert sub.timezone == "UTC" and sub.send_hour == 7 and sub.max_items == 10

    with pytest.raises(InputError, match="already exists"):
        add(ctx, "ada@example.com")

    changed = subscriptions.update(
        ctx.subscribers,
        "ada@example.com",
        SubscriberChanges(topics=("circuits",), frequency=Frequency.WEEKLY, weekday=0),
    )
    assert changed.preferences.topics == ("circuits",) and changed.weekday == 0
    assert ctx.subscribers.set_status("ada@example.com", Status.PAUSED).status is Status.PAUSED
    assert list(ctx.subscribers.due(ISSUE)) == []
    ctx.subscribers.set_status("ada@example.com", Status.ACTIVE)
    monday = ISSUE - timedelta(days=ISSUE.weekday())
    assert [s.email for batch in ctx.subscribers.due(monday) for s in batch] == ["ada@example.com"]
    assert ctx.subscribers.count_due(monday) == 1
    assert list(ctx.subscribers.due(monday + timedelta(days=1))) == []


def test_feedback_likes_and_dislikes(ctx) -> None:
    add(ctx)
    ctx.subscribers.add_feedback("ada@example.com", "2611.00001", liked=True)
    sub = ctx.subscribers.add_feedback("ada@example.com", "2611.00002", liked=False)
    assert sub.preferences.liked == ("2611.00001",) and sub.preferences.disliked == ("2611.00002",)
    sub = ctx.subscribers.add_feedback("ada@example.com", "2611.00002", liked=True)
    assert set(sub.preferences.liked) == {"2611.00001", "2611.00002"} and sub.preferences.disliked == ()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Mars/Base"}, "not an IANA timezone"),
        ({"send_hour": 24}, "must be 0..23"),
        ({"max_items": 0}, "must be 1..100"),
        ({"frequency": Frequency.WEEKLY}, "needs a weekday"),
    ],
)
def test_invalid_subscriber_fields(ctx, changes, message) -> None:
    with pytest.raises(InputError, match=message):
        add(ctx, **changes)
    assert ctx.subscribers.list() == []


def test_invalid_address(ctx) -> None:
    with pytest.raises(InputError, match="invalid address 'not-an-address'"):
        add(ctx, "not-an-address")


def test_forget_erases_and_suppresses(ctx) -> None:
    sub = add(ctx, topics=("circuits",))
    paper = make_paper()
    ctx.papers.upsert([paper])
    ctx.archive.record_digest(make_digest([paper], sub), DeliveryState.PENDING)
    ctx.subscribers.forget("ada@example.com")
    assert ctx.subscribers.get("ada@example.com") is None
    assert ctx.deliveries.get(sub.id, ISSUE) is None
    assert ctx.subscribers.is_suppressed("ada@example.com") == "forget"
    with pytest.raises(InputError, match="suppressed"):
        add(ctx)


def _pending(ctx, email="ada@example.com"):
    sub = add(ctx, email)
    paper = make_paper()
    ctx.papers.upsert([paper])
    return sub, paper, ctx.archive.record_digest(make_digest([paper], sub), DeliveryState.PENDING)


def test_a_row_another_process_opens_meanwhile_is_kept_not_an_error(ctx, monkeypatch) -> None:
    """`run` and a `send` by hand prepare the same reader at once: the one that inserts second finds the
    reader's row taken between its look and its insert, looks again and keeps the other's row."""
    from newsletter import pipeline
    from newsletter.store.archive import DigestArchive

    sub = add(ctx)
    paper = make_paper()
    ctx.papers.upsert([paper])
    other = pipeline.Context.open(ctx.settings)  # the other process's own connection
    theirs = []
    numbered = DigestArchive._numbered

    def racing(self, conn, table, rows):
        if self is ctx.archive and not theirs:  # the other writer opens the row and commits, just before us
            theirs.append(other.archive.record_digest(make_digest([paper], sub), DeliveryState.PENDING))
        return numbered(self, conn, table, rows)

    monkeypatch.setattr(DigestArchive, "_numbered", racing)
    try:
        ours = ctx.archive.record_digest(make_digest([paper], sub), DeliveryState.PENDING)
    finally:
        other.close()
    assert theirs[0].created and (ours.id, ours.created) == (theirs[0].id, False)


def test_ledger_transitions(ctx) -> None:
    sub, paper, delivery = _pending(ctx)
    assert ctx.archive.record_digest(make_digest([paper], sub), DeliveryState.PENDING).id == delivery.id

    [claimed] = ctx.ledger.claim("w1", timedelta(minutes=5), 10, ISSUE)
    assert claimed.state is DeliveryState.SENDING and claimed.attempts == 1 and claimed.email == sub.email
    assert ctx.ledger.claim("w2", timedelta(minutes=5), 10, ISSUE) == [], "a live lease is exclusive"
    assert ctx.archive.sent_versions(sub.id) == {}

    ctx.ledger.record([Outcome(delivery.id, True, 250, "ok", "<m@x>")])
    done = ctx.deliveries.get(sub.id, ISSUE)
    assert done.state is DeliveryState.SENT and done.sent_at is not None and done.message_id == "<m@x>"
    assert ctx.archive.sent_versions(sub.id) == {paper.id: paper.version}
    assert ctx.archive.last_sent_issue(sub.id, before=ISSUE + timedelta(days=1)) == ISSUE
    assert ctx.ledger.claim("w2", timedelta(minutes=5), 10) == []
    assert ctx.deliveries.status(ISSUE)[0].counts["sent"] == 1

    archived = ctx.archive.load_digest(sub, ISSUE)
    assert [p.paper.id for p in archived.picks] == [paper.id]


def test_expired_lease_is_reclaimed_and_release_gives_back(ctx) -> None:
    _, _, delivery = _pending(ctx)
    ctx.ledger.claim("crashed", timedelta(seconds=-1), 10)
    [again] = ctx.ledger.claim("w2", timedelta(minutes=5), 10)
    assert again.id == delivery.id and again.attempts == 2
    ctx.ledger.release([delivery.id])
    [third] = ctx.ledger.claim("w3", timedelta(minutes=5), 10)
    assert third.attempts == 2, "a released row was never handed to the server"


def test_transient_failure_waits_for_its_retry_time_or_parks(ctx) -> None:
    _, _, delivery = _pending(ctx)
    ctx.ledger.claim("w", timedelta(minutes=5), 10)
    later = datetime.now(UTC) + timedelta(hours=1)
    ctx.ledger.record([Outcome(delivery.id, False, 451, "later", transient=True, retry_at=later)])
    assert ctx.ledger.claim("w", timedelta(minutes=5), 10) == []
    assert abs((ctx.ledger.next_retry(ISSUE) - later).total_seconds()) < 1
    assert ctx.ledger.retries_scheduled(ISSUE) == 1
    assert ctx.ledger.reopen(ISSUE) == 1
    [again] = ctx.ledger.claim("w", timedelta(minutes=5), 10)
    ctx.ledger.record([Outcome(again.id, False, 451, "later", transient=True, retry_at=None)])
    assert ctx.ledger.next_retry(ISSUE) is None and ctx.ledger.claim("w", timedelta(minutes=5), 10) == []


def test_claims_are_disjoint_between_concurrent_workers(ctx) -> None:
    for i in range(40):
        _pending(ctx, f"r{i}@example.com")
    from concurrent.futures import ThreadPoolExecutor

    def worker(name: str) -> list[int]:
        taken = []
        while batch := ctx.ledger.claim(name, timedelta(minutes=5), 3):
            taken.extend(d.id for d in batch)
        return taken

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(worker, ["a", "b", "c", "d"]))
    every = [i for r in results for i in r]
    assert len(every) == 40 and len(set(every)) == 40


def test_permanent_failure_bounces_and_suppresses(ctx) -> None:
    sub, _, delivery = _pending(ctx)
    ctx.ledger.claim("w", timedelta(minutes=5), 10)
    ctx.ledger.record([Outcome(delivery.id, False, 550, "no such user")])
    assert ctx.subscribers.get(sub.email).status is Status.BOUNCED
    assert ctx.subscribers.is_suppressed(sub.email) == "bounce"
    status = ctx.deliveries.status(ISSUE)[0]
    assert status.counts["failed_permanent"] == 1 and status.last_errors[0].last_code == 550


def test_database_that_does_not_connect(tmp_path) -> None:
    db = Database("postgresql+psycopg://postgres@127.0.0.1:1/nope", str(ROOT / "migrations"))
    with pytest.raises(StoreError, match=r"database postgresql\+psycopg://postgres@127.0.0.1:1/nope: .*"):
        db.ensure_schema()
    db = Database(f"sqlite:///{tmp_path}/missing/dir/x.db", str(ROOT / "migrations"))
    with pytest.raises(StoreError, match="unable to open database file"):
        db.ensure_schema()


def test_password_is_hidden_in_errors() -> None:
    db = Database("postgresql+psycopg://u:topsecret@127.0.0.1:1/nope", str(ROOT / "migrations"))
    with pytest.raises(StoreError) as info:
        db.ensure_schema()
    assert "topsecret" not in str(info.value) and "***" in str(info.value)


def test_schema_behind_is_refused(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    db = Database(url, str(ROOT / "migrations"))
    db.upgrade()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0003'")
    with pytest.raises(StoreError, match="run `newsletter db upgrade`"):
        db.ensure_schema()


def downgrade(db: Database, revision: str) -> None:
    from alembic import command

    cfg = db._alembic()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_migrations_downgrade_and_upgrade(db_url) -> None:
    db = Database(db_url, str(ROOT / "migrations"))
    downgrade(db, "base")
    assert db.upgrade() == (None, HEAD)
    assert db.upgrade() == (HEAD, HEAD)
    db.dispose()


def test_date_type_roundtrip(ctx) -> None:
    ctx.papers.upsert([make_paper(announced=date(2026, 1, 31))])
    assert ctx.papers.latest_announcement(date(2026, 2, 1)) == date(2026, 1, 31)


def test_migration_0008_gives_every_reader_a_link_key_keeps_their_rows_and_never_reuses_ids(db_url) -> None:
    from newsletter.store import SubscriberStore

    db = Database(db_url, str(ROOT / "migrations"))
    downgrade(db, "0006")
    with db.engine.begin() as conn:
        for n in (1, 2, 3):
            conn.exec_driver_sql(
                "INSERT INTO subscribers (email, name, status, timezone, send_hour, frequency, max_items, "
                f"created_at, consent_source, trending_items) VALUES ('r{n}@example.com', '', 'active', "
                "'UTC', 7, 'daily', 10, '2026-01-01 00:00:00', 'cli', 0)"
            )
            conn.exec_driver_sql(
                "INSERT INTO preferences (subscriber_id, kind, value, position, created_at) "
                f"VALUES ((SELECT id FROM subscribers WHERE email = 'r{n}@example.com'), 'topic', 'topic {n}', 0, "
                "'2026-01-01 00:00:00')"
            )
    assert db.upgrade() == ("0006", HEAD)
    store = SubscriberStore(db)
    readers = store.list()
    assert [r.preferences.topics for r in readers] == [("topic 1",), ("topic 2",), ("topic 3",)]  # no cascade
    keys = [r.link_key for r in readers]
    assert all(len(k) >= 16 for k in keys) and len(set(keys)) == 3
    store.forget("r3@example.com")  # the highest id: the one SQLite would hand out again
    added = store.add(make_subscriber(id=0, email="new@example.com"))
    assert added.id == max(r.id for r in readers) + 1 and added.link_key not in keys
    db.dispose()


def test_migration_0011_lets_fts5_gather_a_batch_in_memory_and_gives_it_back_on_downgrade(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'fts.db'}", str(ROOT / "migrations"))
    db.upgrade()

    def hashsize() -> int | None:
        with db.engine.begin() as conn:
            return conn.exec_driver_sql("SELECT v FROM papers_fts_config WHERE k = 'hashsize'").scalar()

    assert hashsize() == 16 * 1024 * 1024
    downgrade(db, "0010")
    assert hashsize() == 1024 * 1024
    db.dispose()


def test_sent_papers_are_read_back_only_from_the_window_that_can_hold_them(ctx) -> None:
    sub = add(ctx)
    old = make_paper(announced=ISSUE - timedelta(days=30))
    revised = make_paper(announced=ISSUE - timedelta(days=30))
    recent = make_paper(announced=ISSUE - timedelta(days=1))
    ctx.papers.upsert([old, revised, recent])
    digest = make_digest([old, revised, recent], sub, issue_date=ISSUE - timedelta(days=1))
    delivery = ctx.archive.record_digest(digest, DeliveryState.PENDING)
    ctx.ledger.claim("w1", timedelta(minutes=5), 10)
    ctx.ledger.record([Outcome(delivery.id, True, 250, "ok", "<m@x>")])
    ctx.papers.upsert([], [replace(revised, version=2)], today=ISSUE)  # a new version arrives today
    everything = {old.id: 1, revised.id: 1, recent.id: 1}
    assert ctx.archive.sent_versions_many([sub.id]) == {sub.id: everything}
    window = ctx.archive.sent_versions_many([sub.id], since=ISSUE - timedelta(days=2))
    assert window == {sub.id: {revised.id: 1, recent.id: 1}}  # the old paper cannot be a candidate again
    assert ctx.archive.sent_versions_many([sub.id], since=ISSUE + timedelta(days=1)) == {}


@pytest.fixture
def own_pg(pg_url):
    """A new, empty PostgreSQL schema for one test (one that migrates down and up, or reads statistics)."""
    import uuid

    import sqlalchemy as sa

    from tests.conftest import PG_ADMIN_URL

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    db = Database(f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}", str(ROOT / "migrations"))
    yield db
    db.dispose()
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_migration_0012_fills_postgresql_search_by_trigger_for_old_new_and_changed_papers(own_pg) -> None:
    from newsletter.query import parse
    from newsletter.store import PaperSearch, PaperStore

    db = own_pg
    db.upgrade()
    papers = PaperStore(db)
    old = make_paper(title="Sparse feature circuits", abstract="Dictionary learning of transformer features.")
    papers.upsert([old])
    search = PaperSearch(db)

    def found(text: str) -> list[str]:
        return [hit.paper.id for hit in search.search(parse(text))]

    downgrade(db, "0011")  # the generated column of 0006, made again for the stored paper
    assert found("dictionary features") == [old.id]
    db.upgrade()  # the trigger's column, filled for the paper already stored
    assert found("dictionary features") == [old.id]
    new = make_paper(title="Quantum error correction codes", abstract="Surface codes below threshold.")
    papers.upsert([new])
    assert found("surface code") == [new.id]
    papers.upsert([], [replace(old, title="Attribution graphs", version=(old.version or 1) + 1)], today=ISSUE)
    assert found("attribution graphs") == [old.id] and found("sparse circuits") == []


def test_a_bulk_load_on_postgresql_analyzes_the_lookup_columns_only(own_pg) -> None:
    import sqlalchemy as sa

    from newsletter.store import PaperStore

    db = own_pg
    db.upgrade()
    PaperStore(db).upsert([make_paper(title=f"Paper {i}", abstract="circuits in models") for i in range(1000)])
    with db.engine.connect() as conn:
        analyzed = set(
            conn.execute(
                sa.text("SELECT attname FROM pg_stats WHERE tablename = 'papers' AND schemaname = current_schema()")
            ).scalars()
        )
    # Statistics for the next batch's lookups by id; none of the costly full-text column (autovacuum's).
    assert {"arxiv_id", "announced", "background"} <= analyzed and "search" not in analyzed


def test_author_names_outside_ascii_are_found_and_migration_0013_rewrites_the_old_rows(db_url) -> None:
    """Names are stored as written ("Zoë", not "Zo\\u00eb"), which both full-text indexes read: a search for
    an accented or a Chinese name finds the paper, stored now or stored before 0013 with the escapes."""
    import sqlalchemy as sa

    from newsletter.query import parse
    from newsletter.store import PaperSearch, PaperStore

    db = Database(db_url, str(ROOT / "migrations"))
    db.upgrade()
    new = make_paper(title="Circuits", authors=("Zoë Ünal", "李小龙"))
    PaperStore(db).upsert([new])
    search = PaperSearch(db)

    def found(text: str) -> list[str]:
        return sorted(hit.paper.id for hit in search.search(parse(text)))

    assert found("Zoë") == [new.id] and found("李小龙") == [new.id]
    downgrade(db, "0012")
    old = make_paper(title="Codes", authors=("José Núñez",))
    PaperStore(db).upsert([old])
    escaped = '["Jos\\u00e9 N\\u00fa\\u00f1ez"]'  # as json.dumps wrote it before 0013
    cast = "CAST(:a AS json)" if db.is_postgresql else ":a"
    with db.engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE papers SET authors = {cast} WHERE arxiv_id = :id"), {"a": escaped, "id": old.id})
    assert found("Núñez") == []
    db.upgrade()
    assert found("Núñez") == [old.id] and found("Zoë") == [new.id]
    assert PaperStore(db).get(old.id).authors == ("José Núñez",)
    db.dispose()
