"""The suppression list moves with the readers: exported, imported into another database (SQLite and
PostgreSQL), byte for byte; an import stops the readers it names and reports each bad row."""

import json
from pathlib import Path

import pytest

from newsletter.addresses import address_hash
from newsletter.store import Database, SubscriberStore
from tests.conftest import ROOT
from tests.test_subscriber_fields import make_cli


@pytest.fixture
def old(tmp_path: Path):
    """A database where one reader bounced, one complained and one was erased."""
    (tmp_path / "a").mkdir()
    cli = make_cli(tmp_path / "a")
    for name in ("ada", "bob", "cy", "dee"):
        cli("subscribers", "add", f"{name}@example.com", "--topic", "graph neural networks")
    bounced = tmp_path / "a" / "bounced.csv"
    bounced.write_text("email,status\nada@example.com,bounced\n", encoding="utf-8")
    cli("subscribers", "import", str(bounced))
    cli("subscribers", "forget", "cy@example.com", "--yes")
    db = Database(f"sqlite:///{tmp_path}/a/n.db", str(ROOT / "migrations"))
    SubscriberStore(db).suppress("bob@example.com", "complaint")
    db.dispose()
    cli("subscribers", "unsubscribe", "bob@example.com")
    return cli


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_move_to_another_database_keeps_every_suppression(old, tmp_path, db_url, fmt) -> None:
    exported = old("subscribers", "export", "--suppressions", "--format", fmt).stdout
    rows = json.loads(exported) if fmt == "json" else exported.splitlines()[1:]
    assert len(rows) == 3
    assert address_hash("cy@example.com") in exported and "cy@example.com" not in exported  # erased: a hash only
    path = tmp_path / f"suppressions.{fmt}"
    path.write_text(exported, encoding="utf-8")
    readers = tmp_path / "readers.csv"
    readers.write_text(old("subscribers", "export").stdout, encoding="utf-8")

    (tmp_path / "b").mkdir()
    new = make_cli(tmp_path / "b", db_url)
    result = new("subscribers", "import", "--suppressions", str(path))
    assert "imported 3 new suppressions, 0 already kept, 0 rejected" in result.stdout
    assert new("subscribers", "export", "--suppressions", "--format", fmt).stdout == exported
    assert "0 new suppressions, 3 already kept" in new("subscribers", "import", "--suppressions", str(path)).stdout
    assert "imported 3 new, 0 updated, 0 unchanged, 0 rejected" in new("subscribers", "import", str(readers)).stdout
    # An erased reader's record never comes back, not even as one who left.
    erased = tmp_path / "erased.csv"
    erased.write_text("email,status\ncy@example.com,unsubscribed\n", encoding="utf-8")
    assert "address cy@example.com is suppressed (forget)" in new("subscribers", "import", str(erased), code=1).stderr
    # Whoever was erased or complained there is never mailed here, whoever asks; a bounce stays a bounce.
    assert "address cy@example.com is suppressed (forget)" in new("subscribers", "add", "cy@example.com", code=1).output
    refused = new("subscribers", "resume", "bob@example.com", "--reader-asked", code=1)
    assert "address bob@example.com is suppressed (complaint)" in refused.output
    shown = {r["email"]: r["status"] for r in json.loads(new("subscribers", "list", "--json").stdout)}
    assert shown == {"ada@example.com": "bounced", "bob@example.com": "unsubscribed", "dee@example.com": "active"}


def test_an_import_stops_the_readers_it_names(tmp_path) -> None:
    cli = make_cli(tmp_path)
    for name in ("ada", "bob", "cy", "dee"):
        cli("subscribers", "add", f"{name}@example.com")
    cli("subscribers", "pause", "cy@example.com")
    listed = tmp_path / "do-not-mail.csv"
    listed.write_text(
        "email,email_hash,reason\n"
        f"ada@example.com,,bounce\n,{address_hash('BOB@example.com')},complaint\nCy@Example.com,,\n",
        encoding="utf-8",
    )
    result = cli("subscribers", "import", "--suppressions", str(listed))
    assert "imported 3 new suppressions, 0 already kept, 0 rejected; stopped 3 subscribers they name" in result.stdout
    readers = {r["email"]: r["status"] for r in json.loads(cli("subscribers", "list", "--json").stdout)}
    assert readers == {
        "ada@example.com": "bounced",
        "bob@example.com": "unsubscribed",
        "cy@example.com": "unsubscribed",
        "dee@example.com": "active",
    }
    refused = cli("subscribers", "resume", "cy@example.com", "--reader-asked", code=1)
    assert "address cy@example.com is suppressed (do not mail)" in refused.output
    kept = json.loads(cli("subscribers", "export", "--suppressions", "--format", "json").stdout)
    assert {(k["reason"], k["domain"]) for k in kept} == {
        ("bounce", "example.com"),
        ("complaint", ""),  # given as a hash: the domain is not known
        ("do not mail", "example.com"),
    }


def test_each_bad_row_is_named_and_the_good_ones_still_go_in(tmp_path) -> None:
    cli = make_cli(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "email,email_hash,reason,domain,created_at\n"
        "ok@example.com,,,,2026-01-02T03:04:05+00:00\n"
        "no-at-sign,,,,\n"
        f"ada@example.com,{address_hash('bob@example.com')},,,\n"
        ",abc,,,\n"
        f",{address_hash('x@example.com')},{'r' * 33},,\n"
        f",{address_hash('y@example.com')},,,yesterday\n"
        ",,,,\n"
        f",{address_hash('z@example.com')},complaint,ex ample.com,\n",
        encoding="utf-8",
    )
    result = cli("subscribers", "import", "--suppressions", str(bad), code=1)
    assert "imported 1 new suppression, 0 already kept, 7 rejected" in result.stdout
    for line, problem in [
        (3, "invalid address 'no-at-sign'"),
        (4, "email_hash is not the hash of ada@example.com"),
        (5, "email_hash 'abc' is not a SHA-256 hash"),
        (6, f"reason '{'r' * 33}' is not one line of at most 32 characters"),
        (7, "created_at: 'yesterday' is not a date and time with its offset"),
        (8, "missing email_hash (or email)"),
        (9, "domain 'ex ample.com' is not a domain name"),
    ]:
        assert f"{bad}:{line}: {problem}" in result.stderr
    (kept,) = json.loads(cli("subscribers", "export", "--suppressions", "--format", "json").stdout)
    assert kept["created_at"] == "2026-01-02T03:04:05+00:00"

    far = tmp_path / "far.csv"
    far.write_text("email,created_at\nzz@example.org,9999-12-31T23:59:59-23:59\n", encoding="utf-8")
    result = cli("subscribers", "import", "--suppressions", str(far), code=1)
    assert f"{far}:2: created_at: '9999-12-31T23:59:59-23:59' is out of range" in result.stderr
    typed = tmp_path / "typed.json"
    typed.write_text(json.dumps([{"email_hash": 5}, {"email": "t@example.com", "colour": "red"}]), encoding="utf-8")
    result = cli("subscribers", "import", "--suppressions", str(typed), code=1)
    assert f"{typed}:1: email_hash" in result.stderr and f"{typed}:2: unknown field 'colour'" in result.stderr
    header = tmp_path / "header.csv"
    header.write_text("name,reason\nx,y\n", encoding="utf-8")
    result = cli("subscribers", "import", "--suppressions", str(header), code=1)
    assert "header.csv:1: the header row must name the columns, including 'email_hash' or 'email'" in result.output


def test_an_erasure_there_erases_here_and_keeps_no_domain(tmp_path) -> None:
    cli = make_cli(tmp_path)
    cli("subscribers", "add", "alice@example.org", "--topic", "graphs")
    cli("subscribers", "unsubscribe", "alice@example.org")  # stopped already: her record would have stayed
    cli("subscribers", "add", "bo@example.org")
    listed = tmp_path / "erased.csv"
    listed.write_text("email,reason\nalice@example.org,forget\nbo@example.org,bounce\n", encoding="utf-8")
    result = cli("subscribers", "import", "--suppressions", str(listed))
    assert "stopped 2 subscribers they name: alice@example.org (erased), bo@example.org" in result.stdout
    assert [r["email"] for r in json.loads(cli("subscribers", "list", "--json").stdout)] == ["bo@example.org"]
    kept = {
        k["reason"]: k["domain"]
        for k in json.loads(cli("subscribers", "export", "--suppressions", "--format", "json").stdout)
    }
    assert kept == {"forget": "", "bounce": "example.org"}  # an erasure keeps nothing of the address but its hash
    # A complaint named later takes the bounce's place, so `resume` cannot lift it.
    listed.write_text("email,reason\nbo@example.org,complaint\n", encoding="utf-8")
    assert "0 new suppressions, 1 already kept" in cli("subscribers", "import", "--suppressions", str(listed)).stdout
    assert "suppressed (complaint)" in cli("subscribers", "resume", "bo@example.org", code=1).output
