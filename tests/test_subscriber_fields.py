"""One table of reader preferences: CLI options, export and import, the web form and validation all follow it."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from newsletter.addresses import address_hash
from newsletter.cli import main
from newsletter.errors import InputError
from newsletter.models import Consent, Frequency, Preferences, Status, Subscriber, SubscriberChanges
from newsletter.readers.fields import EXPORTED, FIELDS
from newsletter.readers.subscriptions import COLUMNS, CONSENT_COLUMNS, validate_changes
from newsletter.store import Database, SubscriberStore
from newsletter.web.forms import changes_from_form, form_values
from tests.conftest import ROOT

# Readers of every kind, each preference away from its default in at least one of them.
READERS = [
    ["ada@example.com", "--name", "Ada Lovelace", "--topic", "mechanistic interpretability",
     "--topic", "graphs, not grids", "--category", "cs.LG", "--category", "q-bio.NC", "--author", "Chris Olah",
     "--exclude", "survey", "--max-items", "7", "--min-score", "0.35", "--trending", "3",
     "--timezone", "Europe/Berlin", "--send-hour", "6"],
    ["weekly@example.com", "--name", 'Grace "Amazing" Hopper, RN', "--topic", "analog circuit design",
     "--frequency", "weekly", "--weekday", "fri", "--timezone", "America/New_York", "--send-hour", "18",
     "--min-score", "0.1"],
    ["plain@example.com"],
    ["émile@example.com", "--name", "Émile Zoë", "--topic", "réseaux de neurones", "--frequency", "weekly",
     "--weekday", "sunday", "--max-items", "100", "--send-hour", "0", "--trending", "20", "--min-score", "1"],
]  # fmt: skip
# What the readers did afterwards, with the commands an operator (or the reader's links) use.
ACTS = [
    ("like", "ada@example.com", "2406.11944v2"),
    ("like", "ada@example.com", "arXiv:2311.00001"),  # a paper this database has never stored
    ("dislike", "ada@example.com", "https://arxiv.org/abs/2401.01234"),
    ("like", "weekly@example.com", "hep-th/9901001"),
    ("pause", "weekly@example.com"),
    ("unsubscribe", "plain@example.com"),
]
# The states no command sets by hand: an unconfirmed web sign-up and an address that bounced, as an operator
# moving from another tool would write them.
OTHERS = "email,name,status,disliked\npending@example.com,Pat,pending,\nbounced@example.com,Bo,bounced,2406.11944\n"
EVERYONE = len(READERS) + 2


def make_cli(folder: Path, url: str = ""):
    config = folder / "newsletter.toml"
    url = url or f"sqlite:///{folder}/n.db"
    config.write_text(f'[database]\nurl = "{url}"\n[web]\nsecret_key = "kkkkkkkkkkkkkkkk"\n', encoding="utf-8")

    def run(*args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    run("db", "upgrade")  # a configured database is made by `db upgrade`, as deployed
    return run


@pytest.fixture
def filled(tmp_path: Path):
    (tmp_path / "a").mkdir()
    cli = make_cli(tmp_path / "a")
    for reader in READERS:
        cli("subscribers", "add", *reader)
    for act in ACTS:
        cli("subscribers", *act)
    others = tmp_path / "a" / "others.csv"
    others.write_text(OTHERS, encoding="utf-8")
    assert "imported 2 new, 0 updated, 0 unchanged, 0 rejected" in cli("subscribers", "import", str(others)).stdout
    return cli


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_then_import_into_an_empty_database_exports_the_same_bytes(filled, tmp_path, db_url, fmt) -> None:
    exported = filled("subscribers", "export", "--format", fmt).stdout
    path = tmp_path / f"readers.{fmt}"
    path.write_text(exported, encoding="utf-8")
    (tmp_path / "b").mkdir()
    empty = make_cli(tmp_path / "b", db_url)
    imported = empty("subscribers", "import", str(path)).stdout
    assert f"imported {EVERYONE} new, 0 updated, 0 unchanged, 0 rejected" in imported
    assert empty("subscribers", "export", "--format", fmt).stdout == exported
    # Importing it again over the same readers changes nothing either.
    assert f"0 new, 0 updated, {EVERYONE} unchanged" in empty("subscribers", "import", str(path)).stdout
    assert empty("subscribers", "export", "--format", fmt).stdout == exported
    # The bounced address is suppressed in the new database too, as it was in the old one.
    kept = json.loads(empty("subscribers", "export", "--suppressions", "--format", "json").stdout)
    assert [(k["email_hash"], k["reason"]) for k in kept] == [(address_hash("bounced@example.com"), "bounce")]


def test_export_carries_every_field_of_the_table(filled) -> None:
    records = json.loads(filled("subscribers", "export", "--format", "json").stdout)
    assert all(tuple(r) == COLUMNS == ("email", *(f.name for f in EXPORTED), *CONSENT_COLUMNS) for r in records)
    for field in EXPORTED:  # the test readers differ in every field, so each one is carried for real
        assert len({json.dumps(r[field.name]) for r in records}) > 1, field.name
    assert {r["status"] for r in records} == set(Status)
    ada = next(r for r in records if r["email"] == "ada@example.com")
    assert (ada["liked"], ada["disliked"]) == (["2406.11944", "2311.00001"], ["2401.01234"])
    weekly = next(r for r in records if r["email"] == "weekly@example.com")
    assert (weekly["frequency"], weekly["weekday"], weekly["min_score"]) == ("weekly", "friday", 0.1)
    header = filled("subscribers", "export").stdout.splitlines()[0]
    assert header.split(",") == list(COLUMNS)
    # The columns a hand-written file has always used (the CSV contract) come first, in their order.
    assert header.startswith("email,name,topics,categories,authors,excluded,max_items,timezone,send_hour,frequency,")
    assert header.endswith(
        ",status,liked,disliked,consent_source,consent_at,consent_ip,consent_user_agent,consent_form"
    )
    shown = json.loads(filled("subscribers", "show", "ada@example.com", "--json").stdout)
    fields = ("email", *(f.name for f in EXPORTED))
    assert {k: shown[k] for k in fields} == {k: records[0][k] for k in fields}  # to_dict comes from the same table


def test_a_web_readers_record_of_consent_survives_a_move_to_another_database(tmp_path) -> None:
    """Who agreed, when, from where and with which form: an export, imported into a new database, keeps it
    (an import recorded itself as the source and lost the sign-up's record)."""
    (tmp_path / "a").mkdir()
    before = make_cli(tmp_path / "a")
    before("db", "upgrade")  # the schema
    agreed = Consent(datetime(2026, 11, 2, 9, 30, tzinfo=UTC), "203.0.113.7", "Mozilla/5.0 (X11)", "signup-v2")
    store = SubscriberStore(Database(f"sqlite:///{tmp_path / 'a'}/n.db", str(ROOT / "migrations")))
    store.add(Subscriber(id=0, email="web@example.com", consent_source="web", consent=agreed))
    for fmt in ("csv", "json"):
        (tmp_path / fmt).mkdir()
        after = make_cli(tmp_path / fmt)
        moved = tmp_path / f"readers.{fmt}"
        moved.write_text(before("subscribers", "export", "--format", fmt).stdout, encoding="utf-8")
        after("subscribers", "import", str(moved))
        shown = json.loads(after("subscribers", "show", "web@example.com", "--json").stdout)
        assert (shown["consent_source"], shown["consent"]) == ("web", agreed.to_dict())
        assert after("subscribers", "export", "--format", fmt).stdout == moved.read_text(encoding="utf-8")
    broken = tmp_path / "broken.csv"
    broken.write_text("email,consent_at\nnew@example.com,2026-11-02 09:30\n", encoding="utf-8")
    refused = make_cli(tmp_path / "a")("subscribers", "import", str(broken), code=1)
    assert "consent_at: '2026-11-02 09:30' is not a date and time with its offset" in refused.stderr


def test_every_field_is_a_cli_option_with_help() -> None:
    for command in ("add", "update"):
        text = CliRunner().invoke(main, ["subscribers", command, "--help"], terminal_width=200).output
        for field in FIELDS:
            assert field.flag in text and field.help.split(".")[0][:30] in text, (command, field.name)


def test_the_web_form_shows_and_reads_back_every_field() -> None:
    reader = Subscriber(
        id=1,
        email="ada@example.com",
        name="Ada",
        timezone="Asia/Tokyo",
        send_hour=5,
        frequency=Frequency.WEEKLY,
        weekday=2,
        max_items=12,
        min_score=0.5,
        trending_items=4,
        preferences=Preferences(topics=("graphs, not grids", "circuits"), categories=("cs.LG", "cs.AI")),
    )
    values = form_values(reader)
    assert set(values) == {f.name for f in FIELDS}
    assert values["weekday"] == "wednesday" and values["topics"] == "graphs, not grids\ncircuits"
    back = validate_changes(changes_from_form(values, full=True))
    assert back == SubscriberChanges(**{f.name: f.get(reader) for f in FIELDS})


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({"weekday": "someday"}, "weekday 'someday': expected monday..sunday"),
        ({"frequency": "weekly"}, "a weekly subscription needs a weekday"),
        ({"frequency": "hourly"}, "frequency 'hourly': expected daily or weekly"),
        ({"min_score": "2"}, "min score 2.0 must be between 0 and 1"),
        ({"min_score": "high"}, "min score: 'high' is not a number"),
        ({"trending_items": "50"}, "trending 50 must be 0..20"),
        ({"send_hour": "x"}, "send hour: 'x' is not a whole number"),
        ({"max_items": "0"}, "papers per digest 0 must be 1..100"),
        ({"timezone": "Mars/Base"}, "timezone 'Mars/Base' is not an IANA timezone"),
        ({"topics": "a" * 201}, "topics: 'aaaa"),
        ({"status": "gone"}, "status 'gone': expected pending, active, paused, unsubscribed or bounced"),
        ({"liked": "2406.11944;see the abstract"}, "liked: 'see the abstract' is not an arXiv id"),
        ({"categories": "cs.LG;machine learning"}, "categories: 'machine learning' is not an arXiv category"),
        ({"topics": ";".join(f"topic {n}" for n in range(101))}, "topics: 101 of them; at most 100"),
    ],
)
def test_a_bad_cell_is_named_with_its_line(tmp_path, cells, message) -> None:
    row = {"email": "ada@example.com", **cells}
    path = tmp_path / "readers.csv"
    path.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n", encoding="utf-8")
    cli = make_cli(tmp_path)
    result = CliRunner().invoke(
        main, ["--config", str(tmp_path / "newsletter.toml"), "subscribers", "import", str(path)]
    )
    assert result.exit_code == 1
    assert f"{path}:2: {message}" in result.stderr
    assert json.loads(cli("subscribers", "list", "--json").stdout) == []


def test_json_values_must_have_the_field_type() -> None:
    from newsletter.readers.fields import BY_NAME

    assert BY_NAME["max_items"].check(BY_NAME["max_items"].read(5.0)) == 5
    named = (("max_items", True, "papers per digest"), ("send_hour", [7], "send hour"), ("topics", 3, "topics"))
    for name, bad, said in (*named, ("timezone", 1, "timezone")):
        with pytest.raises(InputError, match=f"^{said}: "):
            BY_NAME[name].check(BY_NAME[name].read(bad))
    with pytest.raises(InputError, match="separates phrases"):
        BY_NAME["topics"].check(BY_NAME["topics"].read(["a;b"]))
    for bad in ([["a"]], [1, 2]):  # a list of something else than text was stored as "['a']", "1", "2"
        with pytest.raises(InputError, match=r"^topics: .* is not a list of text$"):
            BY_NAME["topics"].read(bad)
    # Said as the JSON file writes it, not as Python would.
    with pytest.raises(InputError, match=r"^papers per digest: true is not a number$"):
        BY_NAME["max_items"].read(True)
    with pytest.raises(InputError, match=r'^timezone: \{"zone": null\} is not text$'):
        BY_NAME["timezone"].read({"zone": None})


def test_categories_are_kept_in_arxivs_spelling() -> None:
    from newsletter.readers.fields import BY_NAME

    given = ["CS.lg", "hep-th", "Cond-Mat.Stat-Mech", "astro-ph.co", "math.ag", "cs.LG"]
    assert BY_NAME["categories"].check(given) == ("cs.LG", "hep-th", "cond-mat.stat-mech", "astro-ph.CO", "math.AG")
    for bad in ("cs LG", "cs.", ".LG", "cs.LG.x", "68T07", "cs_LG", "machine", "xx.YY", "hep-th.XX"):
        with pytest.raises(InputError, match="is not an arXiv category"):
            BY_NAME["categories"].check([bad])
    with pytest.raises(InputError, match="'math' needs its subject, such as math.PR"):
        BY_NAME["categories"].check(["math"])
    assert BY_NAME["categories"].check(["gr-qc", "astro-ph", "solv-int"]) == ("gr-qc", "astro-ph", "solv-int")
    assert BY_NAME["categories"].check(["cs.SEC", "cs.sec"]) == ("cs.SEC",)  # as the corpus files a few papers


def test_a_subject_arxiv_does_not_have_is_refused_with_the_ones_it_has() -> None:
    """'cs.Al' (a lower-case L for cs.AI) would match no paper, silently: refused, with the subjects of cs;
    a longer subject misspelt is said as the one meant."""
    from newsletter.readers.fields import BY_NAME

    with pytest.raises(InputError, match=r"^categories: 'cs.Al' is not an arXiv category: cs has AI, AR, .*, SY$"):
        BY_NAME["categories"].check(["cs.LG", "cs.Al"])
    with pytest.raises(InputError, match=r"'cs.EC' is not an arXiv category: cs has AI"):
        BY_NAME["categories"].check(["cs.EC"])  # not "did you mean cs.SEC?": one letter off two is a guess
    with pytest.raises(
        InputError, match=r"'cond-mat.stat-mec' is not an arXiv category: did you mean cond-mat.stat-mech"
    ):
        BY_NAME["categories"].check(["cond-mat.stat-mec"])
    for archive in ("math", "physics", "q-bio", "q-fin", "stat", "econ", "eess", "nlin", "astro-ph"):
        with pytest.raises(InputError, match=rf"'{archive}.XYZ' is not an arXiv category: {archive} has "):
            BY_NAME["categories"].check([f"{archive}.XYZ"])


def test_an_operators_weekday_for_a_daily_reader_is_an_error_not_dropped(tmp_path) -> None:
    cli = make_cli(tmp_path)
    failed = cli("subscribers", "add", "ada@example.com", "--weekday", "friday", code=1)
    assert "--weekday is for a weekly subscription: add --frequency weekly" in failed.stderr
    cli("subscribers", "add", "ada@example.com")
    cli("subscribers", "update", "ada@example.com", "--weekday", "friday", code=1)
    cli("subscribers", "update", "ada@example.com", "--frequency", "weekly", "--weekday", "friday")
    cli("subscribers", "update", "ada@example.com", "--weekday", "monday")  # weekly now: a new day
    shown = json.loads(cli("subscribers", "list", "--json").stdout)
    assert [(r["frequency"], r["weekday"]) for r in shown] == [("weekly", "monday")]


def test_the_qa_trial_readers_keep_their_status_and_likes_in_a_new_database(tmp_path, db_url) -> None:
    (tmp_path / "a").mkdir()
    old = make_cli(tmp_path / "a")
    for name in ("ada", "bob", "carol", "dan"):
        old("subscribers", "add", f"{name}@example.com", "--topic", "graph neural networks")
    old("subscribers", "pause", "carol@example.com")
    old("subscribers", "unsubscribe", "dan@example.com")
    old("subscribers", "like", "ada@example.com", "2406.11944")
    path = tmp_path / "readers.csv"
    path.write_text(old("subscribers", "export").stdout, encoding="utf-8")

    (tmp_path / "b").mkdir()
    new = make_cli(tmp_path / "b", db_url)
    assert "imported 4 new, 0 updated, 0 unchanged, 0 rejected" in new("subscribers", "import", str(path)).stdout
    readers = {r["email"]: r for r in json.loads(new("subscribers", "list", "--json").stdout)}
    assert {email: r["status"] for email, r in readers.items()} == {
        "ada@example.com": "active",
        "bob@example.com": "active",
        "carol@example.com": "paused",
        "dan@example.com": "unsubscribed",
    }
    assert readers["ada@example.com"]["liked"] == ["2406.11944"]  # no paper is stored here: kept by its id
    due = json.loads(new("subscribers", "list", "--status", "active", "--json").stdout)
    assert [r["email"] for r in due] == ["ada@example.com", "bob@example.com"]


def test_an_import_never_brings_back_a_reader_who_left(tmp_path) -> None:
    cli = make_cli(tmp_path)
    for name in ("ada", "bob", "cy"):
        cli("subscribers", "add", f"{name}@example.com", "--name", name.title())
    cli("subscribers", "unsubscribe", "ada@example.com")
    cli("subscribers", "forget", "bob@example.com", "--yes")
    old = tmp_path / "old.csv"  # an export from before they left
    old.write_text(
        "email,name,status\nada@example.com,Ada Again,active\nbob@example.com,Bob,active\ncy@example.com,Cy,bounced\n",
        encoding="utf-8",
    )
    result = cli("subscribers", "import", str(old), code=1)
    assert f"{old}:2: ada@example.com is unsubscribed; an import does not make them active" in result.stderr
    assert f"{old}:3: address bob@example.com is suppressed (forget)" in result.stderr
    assert "imported 0 new, 1 updated, 0 unchanged, 2 rejected" in result.stdout
    ada = json.loads(cli("subscribers", "show", "ada@example.com", "--json").stdout)
    assert (ada["status"], ada["name"]) == ("unsubscribed", "Ada")  # the rejected row changed nothing
    assert [r["email"] for r in json.loads(cli("subscribers", "list", "--json").stdout)] == [
        "ada@example.com",
        "cy@example.com",
    ]

    # A bounced reader stays bounced; a file without the status column changes everything but the status.
    again = tmp_path / "again.csv"
    again.write_text("email,name\nada@example.com,Ada Again\ncy@example.com,Cy\n", encoding="utf-8")
    assert "0 new, 1 updated, 1 unchanged, 0 rejected" in cli("subscribers", "import", str(again)).stdout
    readers = json.loads(cli("subscribers", "list", "--json").stdout)
    assert [(r["name"], r["status"]) for r in readers] == [("Ada Again", "unsubscribed"), ("Cy", "bounced")]
    back = tmp_path / "back.csv"
    back.write_text("email,status\ncy@example.com,unsubscribed\n", encoding="utf-8")
    assert "cy@example.com is bounced; an import does not make them unsubscribed" in (
        cli("subscribers", "import", str(back), code=1).stderr
    )


def test_the_store_never_makes_a_suppressed_address_mailable(db_url) -> None:
    """Below the import's own rule: a reader whose address was suppressed while they stayed active (a
    complaint about a mail sent before they were paused, say) is not moved to a mailable status either."""
    db = Database(db_url, str(ROOT / "migrations"))
    store = SubscriberStore(db)
    store.add(Subscriber(id=0, email="ada@example.com", status=Status.PAUSED))
    store.suppress("ada@example.com", "complaint")
    with pytest.raises(InputError, match=r"ada@example.com is suppressed \(complaint\)"):
        store.update("ada@example.com", SubscriberChanges(status=Status.ACTIVE, topics=("graphs",)))
    kept = store.require("ada@example.com")
    assert (kept.status, kept.preferences.topics) == (Status.PAUSED, ())
    assert store.update("ada@example.com", SubscriberChanges(status=Status.UNSUBSCRIBED)).unsubscribed_at
    # Nor does a `resume` (the operator's, or the reader's button on the preferences page).
    with pytest.raises(InputError, match="is suppressed"):
        store.set_status("ada@example.com", Status.ACTIVE)
    assert store.require("ada@example.com").status is Status.UNSUBSCRIBED
    db.dispose()
