"""The CLI with click's CliRunner: every command, JSON output, and one-line errors with exit status 1."""

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from newsletter.cli import main
from newsletter.demo import SAMPLE_FEED
from tests.conftest import MIGRATIONS_HEAD

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(tmp_path, smtp_server):
    config = tmp_path / "newsletter.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/cli.db"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
        f'[web]\nsecret_key = "cli-secret-of-the-tests"\n',
        encoding="utf-8",
    )

    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(main, ["--config", str(config), *args], input=input, catch_exceptions=False)

    assert run("db", "upgrade").exit_code == 0  # a configured database is made by `db upgrade`, as deployed
    return run


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def walk(command: click.Command, path: str = ""):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from walk(sub, f"{path} {name}".strip())


def test_every_command_has_help() -> None:
    for path, command in walk(main):
        assert (command.help or "").strip(), f"`newsletter {path}` has no help text"
        result = CliRunner().invoke(main, [*path.split(), "--help"])
        assert result.exit_code == 0, path


def test_design_commands_exist() -> None:
    names = set(main.commands)
    assert {
        "db",
        "ingest",
        "papers",
        "subscribers",
        "preview",
        "send",
        "status",
        "run",
        "jobs",
        "demo",
        "serve",
        "worker",
        "bounces",
    } <= names
    assert {
        "add",
        "list",
        "show",
        "update",
        "pause",
        "resume",
        "unsubscribe",
        "forget",
        "import",
        "export",
        "like",
        "dislike",
    } <= set(main.commands["subscribers"].commands)


def test_full_operator_flow(cli, smtp_server, tmp_path) -> None:
    assert f"is up to date (revision {MIGRATIONS_HEAD})" in ok(cli("db", "upgrade")).output  # the fixture made it
    assert "34 new" in ok(cli("ingest", "--file", str(SAMPLE_FEED), "--format", "hf")).output

    papers = json.loads(ok(cli("papers", "list", "--json", "--limit", "3")).stdout)
    assert len(papers) == 3 and {"id", "version", "title", "authors", "categories", "published"} <= set(papers[0])
    trending = json.loads(ok(cli("papers", "list", "--trending", "--limit", "2", "--json")).stdout)
    assert trending[0]["upvotes"] >= trending[1]["upvotes"]

    ok(
        cli(
            "subscribers",
            "add",
            "Ada@Example.com",
            "--name",
            "Ada",
            "--topic",
            "mechanistic interpretability",
            "--topic",
            "sparse autoencoders",
            "--timezone",
            "Europe/Berlin",
            "--send-hour",
            "8",
        )
    )
    shown = json.loads(ok(cli("subscribers", "show", "ada@example.com", "--json")).stdout)
    assert shown["email"] == "ada@example.com" and shown["status"] == "active"
    assert shown["topics"] == ["mechanistic interpretability", "sparse autoencoders"]
    for key in ("categories", "authors", "excluded", "max_items", "timezone", "send_hour", "frequency"):
        assert key in shown

    updated = json.loads(ok(cli("subscribers", "update", "ada@example.com", "--max-items", "3", "--json")).stdout)
    assert updated["max_items"] == 3 and updated["topics"] == shown["topics"]

    html = tmp_path / "preview.html"
    ok(cli("preview", "ada@example.com", "--date", "2026-11-24", "--out", str(html)))
    assert "Sparse" in html.read_text() and smtp_server.messages == []
    assert [p.name for p in tmp_path.glob(".preview.html.*")] == []  # written beside it, then put in its place
    nowhere = tmp_path / "missing" / "p.html"
    refused = cli("preview", "ada@example.com", "--date", "2026-11-24", "--out", str(nowhere))
    one_line_error(refused, f"cannot write {nowhere}: No such file or directory")
    assert "https://arxiv.org/abs/" in ok(cli("preview", "ada@example.com", "--date", "2026-11-24", "--text")).stdout
    assert "note:" not in ok(cli("preview", "ada@example.com", "--date", "2026-11-24")).stderr

    sent = ok(cli("send", "--date", "2026-11-24"))
    assert "1 sent" in sent.stdout and len(smtp_server.messages) == 1
    assert "0 sent" in ok(cli("send", "--date", "2026-11-24")).stdout and len(smtp_server.messages) == 1

    status = json.loads(ok(cli("status", "--json")).stdout)
    assert status["issues"][0]["counts"]["sent"] == 1 and status["ingests"][0]["new"] == 34
    assert status["next_sends"][0]["timezone"] == "Europe/Berlin" and status["next_sends"][0]["send_hour"] == 8
    assert "issue 2026-11-24: 1 sent" in ok(cli("status")).stdout

    ok(cli("subscribers", "pause", "ada@example.com"))
    listed = json.loads(ok(cli("subscribers", "list", "--json")).stdout)
    assert [s["status"] for s in listed] == ["paused"]
    ok(cli("subscribers", "resume", "ada@example.com"))
    liked = ok(cli("subscribers", "like", "ada@example.com", "arXiv:2611.17001v2"))
    assert "note: no paper 2611.17001 is stored here" not in liked.stderr  # the sample feed's paper
    typo = ok(cli("subscribers", "like", "ada@example.com", "2611.99999"))  # kept, and said
    assert "note: no paper 2611.99999 is stored here: it counts once one is" in typo.stderr
    shown = json.loads(ok(cli("subscribers", "show", "ada@example.com", "--json")).stdout)
    assert shown["liked"] == ["2611.17001", "2611.99999"]
    ok(cli("subscribers", "unsubscribe", "ada@example.com"))
    # An opt-out is the reader's to undo: resume refuses it unless the operator says the reader asked.
    one_line_error(cli("subscribers", "resume", "ada@example.com"), "ada@example.com unsubscribed on", "--reader-asked")
    assert "0 sent" in ok(cli("send", "--date", "2026-11-25")).stdout
    assert "is now active" in ok(cli("subscribers", "resume", "ada@example.com", "--reader-asked")).stdout
    ok(cli("subscribers", "unsubscribe", "ada@example.com"))
    # Nor does pausing, then resuming, bring back a reader who left.
    one_line_error(cli("subscribers", "pause", "ada@example.com"), "ada@example.com is unsubscribed, not active")
    # Without a terminal to ask on, forgetting takes --yes: a piped "n" or nothing at all erased the reader.
    one_line_error(cli("subscribers", "forget", "ada@example.com", input="n\n"), "pass --yes to confirm")
    assert json.loads(ok(cli("subscribers", "show", "ada@example.com", "--json")).stdout)["status"] == "unsubscribed"
    assert "forgot ada@example.com" in ok(cli("subscribers", "forget", "ada@example.com", "--yes")).stdout
    assert json.loads(ok(cli("subscribers", "list", "--json")).stdout) == []
    assert "next run" in ok(cli("jobs")).stdout
    # A digest `send` would not mail is shown with a note that says so.
    ok(cli("subscribers", "add", "bob@example.com", "--topic", "tomato farming"))
    empty = ok(cli("preview", "bob@example.com", "--date", "2026-11-24", "--text"))
    assert "0 new papers" in empty.stdout
    assert "note: nothing relevant among" in empty.stderr and "`send` does not mail this digest" in empty.stderr


def test_bad_usage_is_one_line_and_status_1(cli) -> None:
    """Like any bad input (click's own: the usage block, a hint, status 2); a day an issue cannot carry
    (its return paths count two bytes of days from 2020) is refused before it reaches them."""
    one_line_error(cli("preview", "ada@example.com", "--date", "2019-12-31"), "outside 2020-01-01..2199-06-06")
    one_line_error(cli("send", "--dry-run", "--date", "2200-06-01"), "outside 2020-01-01..2199-06-06")
    one_line_error(cli("send", "--date", "2026-02-30"), "'2026-02-30' is not a day of the calendar")
    one_line_error(cli("preview"), "Missing argument 'EMAIL'", "preview --help')")
    one_line_error(cli("nosuch"), "No such command 'nosuch'")
    bare = CliRunner().invoke(main, [])  # no command at all: the help, as before
    assert "Usage:" in bare.output and "Commands:" in bare.output and "Error" not in bare.output
    # Only an issue's day is held to the days its messages can carry; a day to fetch or list is any day.
    assert "outside" not in cli("papers", "list", "--date", "2019-06-03").output
    one_line_error(cli("subscribers", "add", "ada@example.com", "--bogus"), "No such option '--bogus'")
    one_line_error(cli("demo", "--out", "/proc/no-such-folder"), "/proc/no-such-folder: No such file or directory")
    one_line_error(cli("ingest", "--from", "2026-11-20"), "--from and --to go with --backfill")
    ok(cli("subscribers", "add", "ada@example.com", "--topic", "circuits", "--min-score", "-0"))
    one_line_error(cli("subscribers", "update", "ada@example.com"), "nothing to change")
    assert "ADA" not in ok(cli("subscribers", "like", "ADA@Example.com", "2611.17001")).stdout
    shown = json.loads(ok(cli("subscribers", "show", "ada@example.com", "--json")).stdout)
    assert repr(shown["min_score"]) == "0.0" and shown["liked"] == ["2611.17001"]
    jobs = json.loads(ok(cli("jobs", "--json")).stdout)
    assert {j["name"] for j in jobs["jobs"]} and jobs["send_slots"][0]["readers"] == 1


def test_a_database_made_without_a_config_is_said_and_private(tmp_path, monkeypatch) -> None:
    """Zero set-up makes ./newsletter.db where a command that stores something runs: said on stderr, and
    readable by its owner alone. A command that only reads makes none: run from the wrong folder, it answered
    "0 subscribers" from a new, empty database."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSLETTER_CONFIG", raising=False)
    for reading in (["subscribers", "list"], ["papers", "list"], ["status"], ["preview", "a@example.com"]):
        refused = CliRunner().invoke(main, reading)
        assert refused.exit_code == 1 and "no database at newsletter.db (no config file here)" in refused.output
    assert not (tmp_path / "newsletter.db").exists()
    first = CliRunner().invoke(main, ["subscribers", "add", "a@example.com"])
    assert first.exit_code == 0 and "no config file here; made a new database newsletter.db" in first.stderr
    assert (tmp_path / "newsletter.db").stat().st_mode & 0o777 == 0o600
    again = CliRunner().invoke(main, ["subscribers", "list"])
    assert again.exit_code == 0 and again.stderr == "" and "1 subscriber" in again.stdout


def test_an_operator_cannot_skip_a_readers_double_opt_in(cli, tmp_path) -> None:
    readers = tmp_path / "pending.csv"
    readers.write_text("email,status\npat@example.com,pending\n", encoding="utf-8")
    ok(cli("subscribers", "import", str(readers)))
    one_line_error(cli("subscribers", "resume", "pat@example.com"), "has not confirmed their sign-up")
    one_line_error(cli("subscribers", "pause", "pat@example.com"), "pat@example.com is pending, not active")
    assert json.loads(ok(cli("subscribers", "show", "pat@example.com", "--json")).stdout)["status"] == "pending"


def test_import_reports_bad_rows_and_keeps_good_ones(cli, tmp_path) -> None:
    csv = tmp_path / "readers.csv"
    csv.write_text(
        "email,name,topics,categories,authors,excluded,max_items,timezone,send_hour,frequency\n"
        "ada@example.com,Ada,circuits;sparse autoencoders,cs.LG,,,5,UTC,7,daily\n"
        "not-an-address,Bad,x,,,,,,,\n"
        "bob@example.com,Bob,robots,,,,,Mars/Base,7,daily\n"
        "carol@example.com,Carol,quantum,,,,,,,\n",
        encoding="utf-8",
    )
    result = cli("subscribers", "import", str(csv))
    assert result.exit_code == 1
    assert f"{csv}:3: invalid address 'not-an-address'" in result.stderr
    assert f"{csv}:4: timezone 'Mars/Base'" in result.stderr
    assert "imported 2 new, 0 updated, 0 unchanged, 2 rejected" in result.stdout
    exported = ok(cli("subscribers", "export")).stdout.splitlines()
    assert exported[0] == (
        "email,name,topics,categories,authors,excluded,max_items,timezone,send_hour,frequency,"
        "weekday,min_score,trending_items,status,liked,disliked,"
        "consent_source,consent_at,consent_ip,consent_user_agent,consent_form"
    )
    # A file without a status column adds active readers; without a record of consent, the import is the source.
    assert exported[1] == (
        "ada@example.com,Ada,circuits;sparse autoencoders,cs.LG,,,5,UTC,7,daily,,,0,active,,,import,,,,"
    )

    # Export then import is a round trip.
    back = tmp_path / "back.json"
    back.write_text(ok(cli("subscribers", "export", "--format", "json")).stdout, encoding="utf-8")
    assert "imported 0 new, 0 updated, 2 unchanged, 0 rejected" in ok(cli("subscribers", "import", str(back))).stdout

    # A misspelt field is that row's error, in JSON as in CSV, not a reader without what it meant to set.
    typo = tmp_path / "typo.json"
    typo.write_text('[{"email": "dan@example.com", "topic": ["robot grasping"]}, {"email": "eve@example.com"}]')
    result = cli("subscribers", "import", str(typo))
    assert result.exit_code == 1 and f"{typo}:1: unknown field 'topic' (known: email, name, topics," in result.stderr
    assert "imported 1 new, 0 updated, 0 unchanged, 1 rejected" in result.stdout
    extra = tmp_path / "extra.csv"
    extra.write_text("email,name\nfay@example.com,Fay,surplus\n", encoding="utf-8")
    result = cli("subscribers", "import", str(extra))
    assert result.exit_code == 1 and f"{extra}:2: more values than the header row has columns" in result.stderr
    spreadsheet = tmp_path / "spreadsheet.csv"  # a header as a spreadsheet writes it
    spreadsheet.write_text("Email, Name\nkim@example.com,Kim\n", encoding="utf-8")
    assert "imported 1 new" in ok(cli("subscribers", "import", str(spreadsheet))).stdout
    twice = tmp_path / "twice.csv"
    twice.write_text("email,email\nfay@example.com,gus@example.com\n", encoding="utf-8")
    result = cli("subscribers", "import", str(twice))
    assert result.exit_code == 1 and f"{twice}:1: the header names the column 'email' twice" in result.stderr
    numbered = tmp_path / "numbered.json"
    numbered.write_text('[{"email": 5}]', encoding="utf-8")
    result = cli("subscribers", "import", str(numbered))
    assert result.exit_code == 1 and f"{numbered}:1: email: 5 is not text" in result.stderr
    huge = tmp_path / "huge.json"  # more digits than Python reads as an int: that row's error, not a crash
    huge.write_text(f'[{{"email": "hal@example.com", "max_items": {"9" * 5000}}}, {{"email": "ida@example.com"}}]')
    result = cli("subscribers", "import", str(huge))
    assert result.exit_code == 1 and f"{huge}:1: " in result.stderr and "Traceback" not in result.stderr
    assert "imported 1 new, 0 updated, 0 unchanged, 1 rejected" in result.stdout


def test_bad_inputs_are_one_line_with_exit_1(cli, tmp_path) -> None:
    one_line_error(cli("subscribers", "add", "not-an-address"), "invalid address 'not-an-address'")
    one_line_error(cli("ingest", "--file", str(SAMPLE_FEED), "--format", "rss2"), "unknown --format 'rss2'")
    one_line_error(cli("ingest", "--file", str(tmp_path / "missing.json")), "cannot read feed file", "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('[{"paper": ', encoding="utf-8")
    one_line_error(cli("ingest", "--file", str(broken)), "broken.json: not valid JSON", "line 1")
    one_line_error(cli("subscribers", "show", "who@example.com"), "no subscriber who@example.com")
    one_line_error(cli("subscribers", "add", "a@example.com", "--timezone", "Nowhere/City"), "Nowhere/City")
    one_line_error(cli("send", "--to", "who@example.com"), "--to who@example.com: no such subscriber")


def test_broken_configuration(tmp_path) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["--config", str(tmp_path / "nope.toml"), "status"])
    one_line_error(missing, "nope.toml does not exist")
    bad = tmp_path / "bad.toml"
    bad.write_text("[smtp]\nport = = 1\n", encoding="utf-8")
    one_line_error(runner.invoke(main, ["--config", str(bad), "status"]), "bad.toml", "line 2")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[database]\nurl = "sqlite:///x.db"\nuser = "me"\n', encoding="utf-8")
    one_line_error(runner.invoke(main, ["--config", str(unknown), "status"]), "unknown key 'database.user'")


def test_database_that_does_not_connect(tmp_path) -> None:
    config = tmp_path / "pg.toml"
    config.write_text('[database]\nurl = "postgresql+psycopg://postgres:pw@127.0.0.1:1/x"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "subscribers", "list"])
    one_line_error(result, "database postgresql+psycopg://postgres:***@127.0.0.1:1/x")
    assert ":pw@" not in result.output


def test_smtp_refusing_connection(cli, tmp_path) -> None:
    ok(cli("ingest", "--file", str(SAMPLE_FEED)))
    ok(cli("subscribers", "add", "ada@example.com", "--topic", "sparse autoencoders"))
    config = tmp_path / "newsletter.toml"
    config.write_text(config.read_text().replace("[smtp]\n", "[smtp]\n").replace("port = ", "port = 1 #"))
    result = cli("send", "--date", "2026-11-24")
    one_line_error(result, "cannot connect to SMTP server 127.0.0.1:1")
    status = json.loads(ok(cli("status", "--json")).stdout)
    assert status["issues"] == [], "nothing recorded half-way"


def test_dry_run_outbox(cli, tmp_path, smtp_server) -> None:
    ok(cli("ingest", "--file", str(SAMPLE_FEED)))
    ok(cli("subscribers", "add", "ada@example.com", "--topic", "sparse autoencoders"))
    result = ok(cli("send", "--date", "2026-11-24", "--dry-run", "--outbox", str(tmp_path / "box")))
    assert f"(dry run): 1 written to {tmp_path / 'box'} (nothing sent)" in result.stdout
    result = ok(cli("send", "--date", "2026-11-24", "--dry-run"))
    assert "(dry run): 1 built (nothing sent)" in result.stdout and " sent," not in result.stdout
    assert [p.name for p in (tmp_path / "box").iterdir()] == ["1.eml"] and smtp_server.messages == []


def test_jobs_lists_send_slots_and_json_logs(cli) -> None:
    ok(cli("subscribers", "add", "a@example.com", "--timezone", "Asia/Tokyo", "--send-hour", "7"))
    ok(cli("subscribers", "add", "b@example.com", "--timezone", "Asia/Tokyo", "--send-hour", "7"))
    listing = ok(cli("jobs")).stdout
    assert "daily ingest: next run" in listing and "send to readers whose hour has come: next run" in listing
    assert "2 readers at 07:00 Asia/Tokyo: next" in listing
    # A weekly reader is next due on their weekday, not tomorrow.
    ok(cli("subscribers", "add", "c@example.com", "--frequency", "weekly", "--weekday", "thu", "--send-hour", "9"))
    listing = ok(cli("jobs")).stdout  # on a Thursday past 09:00 the reader is due now, then next week
    weekly_line = r"1 reader at 09:00 UTC on Thursdays: next (due now \(1 waiting\), then )?\d{4}-\d\d-\d\d 09:00"
    assert re.search(weekly_line, listing)
    [weekly] = [s for s in json.loads(ok(cli("status", "--json")).stdout)["next_sends"] if s["weekday"] is not None]
    assert weekly["weekday"] == 3 and datetime.fromisoformat(weekly["next"]).weekday() == 3
    logged = cli("--log-format", "json", "-v", "subscribers", "list")
    assert logged.exit_code == 0
    for line in logged.stderr.splitlines():
        assert set(json.loads(line)) == {"time", "level", "logger", "message"}


def test_preview_png_light_and_dark(cli, tmp_path) -> None:
    import struct

    from newsletter.screenshot import browser

    ok(cli("ingest", "--file", str(SAMPLE_FEED)))
    ok(cli("subscribers", "add", "ada@example.com", "--topic", "sparse autoencoders"))
    light, dark = tmp_path / "light.png", tmp_path / "dark.png"
    result = cli("preview", "ada@example.com", "--date", "2026-11-24", "--png", str(light), "--width", "375")
    if browser() is None:
        one_line_error(result, "headless Chromium not found")
        return
    ok(result)
    ok(cli("preview", "ada@example.com", "--date", "2026-11-24", "--png", str(dark), "--width", "375", "--dark"))
    for png in (light, dark):
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])
        assert width == 375 and height > 375
    assert light.read_bytes() != dark.read_bytes()
    nowhere = tmp_path / "missing" / "q.png"
    refused = cli("preview", "ada@example.com", "--date", "2026-11-24", "--png", str(nowhere))
    one_line_error(refused, f"cannot write {nowhere}: its folder {nowhere.parent} does not exist")


# -- secret key, init, config errors -------------------------------------------------------------------


@pytest.mark.parametrize("command", [["serve"], ["send"], ["run"], ["worker", "--once"]])
@pytest.mark.parametrize(
    "web",
    [
        "",
        '[web]\nsecret_key = ""\n',
        '[web]\nsecret_key = "  "\n',
        '[web]\nsecret_key = "{example}"\n',
        '[web]\nsecret_key = "x"\n',  # a key guessed in seconds from any one link
        '[web]\nsecret_key = "fifteen-chars-k"\n',
    ],
)
def test_commands_that_sign_links_refuse_a_missing_example_or_short_key(tmp_path, smtp_server, command, web) -> None:
    example = re.search(r'\nsecret_key = "([^"]*)"', (ROOT / "config.example.toml").read_text()).group(1)
    config = tmp_path / "k.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/k.db"\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
        + web.replace("{example}", example),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["--config", str(config), *command])
    one_line_error(result, "'web.secret_key'", "newsletter init", "secrets.token_urlsafe(32)")
    assert not (tmp_path / "k.db").exists() and smtp_server.messages == []  # refused before anything ran


@pytest.mark.parametrize("key", ["insecure-development-key-change-me", ""])
def test_the_environment_cannot_bring_a_published_or_empty_key_back(tmp_path, key) -> None:
    config = tmp_path / "k.toml"
    config.write_text('[web]\nsecret_key = "a-real-key-from-the-file"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "send"], env={"NEWSLETTER_WEB_SECRET_KEY": key})
    one_line_error(result, "'web.secret_key'")


def test_init_writes_a_private_config_with_a_fresh_key_and_never_overwrites(tmp_path, monkeypatch) -> None:
    from newsletter.config import load_settings, require_secret_key

    monkeypatch.chdir(tmp_path)
    first = CliRunner().invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    assert "wrote newsletter.toml" in first.stdout and "base_url" in first.stdout and "db upgrade" in first.stdout
    written = tmp_path / "newsletter.toml"
    assert written.stat().st_mode & 0o777 == 0o600
    settings = load_settings(written, env={})
    require_secret_key(settings)  # usable as it is
    assert len(settings.web.secret_key) >= 40 and settings.web.secret_key not in first.output
    before = written.read_bytes()
    one_line_error(CliRunner().invoke(main, ["init"]), "newsletter.toml exists already")
    assert written.read_bytes() == before
    other = CliRunner().invoke(main, ["init", "--path", str(tmp_path / "other.toml")])
    assert other.exit_code == 0, other.output
    assert load_settings(tmp_path / "other.toml", env={}).web.secret_key != settings.web.secret_key


def test_undecodable_or_unreadable_config_is_one_line(tmp_path) -> None:
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[sender]\nfrom_name = "Caf\xe9"\n'.encode("latin-1"))
    one_line_error(CliRunner().invoke(main, ["--config", str(latin1), "status"]), "latin1.toml", "not UTF-8")
    # Root reads any file whatever its mode: a path through a file is what cannot be read here.
    beyond = tmp_path / "latin1.toml" / "x.toml"
    one_line_error(CliRunner().invoke(main, ["--config", str(beyond), "status"]), "cannot read config file")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://admin:hunter2secret@db.example.org:notaport/x",
        "postgresql+psycopg://admin:hunter2secret@[::1/x",
        "hunter2secret",
    ],
)
def test_a_malformed_database_url_never_prints_its_password(tmp_path, url) -> None:
    config = tmp_path / "db.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "status"])
    one_line_error(result, "'database.url' is not a database URL")
    assert "hunter2secret" not in result.output
    config.write_text(f'[database]\nurl = ["{url}"]\n', encoding="utf-8")  # not even a string
    result = CliRunner().invoke(main, ["--config", str(config), "status"])
    one_line_error(result, "'database.url' must be a string")
    assert "hunter2secret" not in result.output


@pytest.mark.slow
def test_serve_without_a_key_exits_at_once_as_a_real_process(tmp_path) -> None:

    done = subprocess.run(
        [sys.executable, "-m", "newsletter", "serve", "--port", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 1 and done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert "'web.secret_key' is not set" in line and "newsletter init" in line


@pytest.mark.slow
def test_serve_on_a_busy_port_is_one_line_and_exit_1_as_a_real_process(tmp_path) -> None:
    import socket

    config = tmp_path / "busy.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/busy.db"\n[web]\nsecret_key = "busy-secret-of-the-tests"\n'
    )
    config.chmod(0o600)  # it holds the key: readable by others, serve would warn of it first
    with socket.create_server(("127.0.0.1", 0)) as holder:  # listening, as another server would be
        port = holder.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "newsletter", "--config", str(config), "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 1 and done.stdout == "", done.stderr
    [line] = done.stderr.strip().splitlines()
    assert f"127.0.0.1:{port}" in line and "address already in use" in line
    assert not (tmp_path / "busy.db").exists()  # refused before anything ran


def test_mailing_readers_with_the_example_values_is_said_in_one_warning_line(tmp_path, smtp_server) -> None:
    base = (
        f'[database]\nurl = "sqlite:///{tmp_path}/x.db"\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
        '[web]\nsecret_key = "a-key-of-the-tests-long-enough"\n'
    )
    example = tmp_path / "example.toml"
    example.write_text(base, encoding="utf-8")
    example.chmod(0o600)  # it holds the secret key (a readable one is warned of: the test below)
    ok(CliRunner().invoke(main, ["--config", str(example), "db", "upgrade"]))
    ok(CliRunner().invoke(main, ["--config", str(example), "ingest", "--file", str(SAMPLE_FEED)]))
    ok(CliRunner().invoke(main, ["--config", str(example), "subscribers", "add", "ada@lab.org", "--topic", "sparse"]))
    result = CliRunner().invoke(main, ["--config", str(example), "send", "--date", "2026-11-24"])
    assert result.exit_code == 0 and "1 sent" in result.stdout
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("WARNING ")]
    for part in ("sender.from_address is papers@example.com", "example street", "http://localhost:8000"):
        assert part in warning
    assert str(example) in warning
    as_json = CliRunner().invoke(main, ["--config", str(example), "--log-format", "json", "worker", "--once"])
    logged = [json.loads(line) for line in as_json.stderr.splitlines()]  # JSON lines only: the collectors' format
    assert [r["level"] for r in logged] == ["warning"] and "sender.from_address" in logged[0]["message"]
    real = tmp_path / "real.toml"
    real.write_text(
        base.replace("[web]\n", '[web]\nbase_url = "https://papers.lab.org"\n')
        + '[sender]\nfrom_address = "papers@lab.org"\npostal_address = "Lab, 2 Main St, Town"\n',
        encoding="utf-8",
    )
    real.chmod(0o600)
    ok(CliRunner().invoke(main, ["--config", str(real), "subscribers", "add", "bob@lab.org", "--topic", "sparse"]))
    result = CliRunner().invoke(main, ["--config", str(real), "send", "--date", "2026-11-24"])
    assert result.exit_code == 0 and "1 sent" in result.stdout and "warning" not in result.stderr.lower()


def test_a_config_file_others_can_read_is_warned_of_when_it_holds_secrets(tmp_path, smtp_server) -> None:
    """A copy of config.example.toml with the key and a password in it is readable by every user (`init`
    writes 0600): a send says so in one line, naming what it holds (never its value) and the fix."""
    config = tmp_path / "c.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/x.db"\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
        'password = "hunter2-of-the-tests"\n[web]\nsecret_key = "a-key-of-the-tests-long-enough"\n',
        encoding="utf-8",
    )
    config.chmod(0o644)
    run = lambda *a, env=None: CliRunner().invoke(main, ["--config", str(config), *a], env=env)  # noqa: E731
    ok(run("db", "upgrade"))
    ok(run("ingest", "--file", str(SAMPLE_FEED)))
    ok(run("subscribers", "add", "ada@lab.org", "--topic", "sparse"))
    result = run("send", "--date", "2026-11-24")
    [warning] = [line for line in result.stderr.splitlines() if "other users can read it" in line]
    assert f"{config} holds web.secret_key, smtp.password and other users can read it (mode 644)" in warning
    assert f"chmod 600 {config}" in warning and "hunter2" not in result.stderr + result.stdout
    # A secret from the environment is not in the file.
    no_secrets = config.read_text().replace('password = "hunter2-of-the-tests"\n', "")
    config.write_text(no_secrets.replace('secret_key = "a-key-of-the-tests-long-enough"\n', ""), encoding="utf-8")
    key = {"NEWSLETTER_WEB_SECRET_KEY": "a-key-of-the-tests-long-enough"}
    quiet = run("send", "--date", "2026-11-24", "--resend", "--to", "ada@lab.org", env=key)
    assert quiet.exit_code == 0 and "1 sent" in quiet.stdout and "other users can read it" not in quiet.stderr
    config.write_text(no_secrets, encoding="utf-8")
    config.chmod(0o600)
    again = run("send", "--date", "2026-11-24", "--resend", "--to", "ada@lab.org")
    assert "1 sent" in again.stdout and "other users can read it" not in again.stderr


def test_a_name_or_a_topic_past_200_characters_is_refused(cli) -> None:
    one_line_error(cli("subscribers", "add", "a@example.com", "--name", "N" * 201), "longer than 200 characters")
    one_line_error(cli("subscribers", "add", "a@example.com", "--topic", "t" * 201), "longer than 200 characters")
    ok(cli("subscribers", "add", "a@example.com", "--name", "N" * 200))
    assert json.loads(ok(cli("subscribers", "show", "a@example.com", "--json")).stdout)["name"] == "N" * 200
    assert ok(cli("subscribers", "list")).stdout.rstrip().endswith("\n1 subscriber")


def test_a_feed_file_may_come_on_standard_input(cli) -> None:
    fed = ok(cli("ingest", "--file", "-", "--format", "hf", "--json", input=SAMPLE_FEED.read_text(encoding="utf-8")))
    (run,) = json.loads(fed.stdout)
    assert (run["source"], run["new"]) == ("file:hf", 34)
    one_line_error(cli("ingest", "--file", "-", input='[{"paper": '), "standard input: not valid JSON", "line 1")
    refused = cli("ingest", "--file", "-", "--format", "arxiv-metadata", input="{}")
    assert refused.exit_code == 1 and "arxiv-metadata reads a file" in refused.output


def test_a_configured_database_that_is_not_there_is_not_made_by_a_command(tmp_path) -> None:
    """A config file names its database: a command run where it is missing (its URL in the environment of
    another shell, a relative path from another folder) refuses in one line instead of keeping readers and
    papers in a new empty one beside the config; `db upgrade` makes it."""
    config = tmp_path / "newsletter.toml"
    config.write_text('[web]\nsecret_key = "a-key-of-the-tests-long-enough"\n', encoding="utf-8")

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["--config", str(config), *args])

    for args in (("subscribers", "add", "ada@example.org"), ("ingest", "--file", str(SAMPLE_FEED)), ("send",)):
        one_line_error(run(*args), f"no database at {tmp_path / 'newsletter.db'}", "`newsletter db upgrade`")
    assert not (tmp_path / "newsletter.db").exists()
    ok(run("db", "upgrade"))
    ok(run("subscribers", "add", "ada@example.org"))


def test_a_listing_read_by_a_program_keeps_each_row_on_one_line(cli) -> None:
    """Piped or redirected (`| grep`), rows are not folded at 80 columns: a long address stays whole."""
    email = "a-much-longer-address.name@university.example.edu"
    topics = ["mechanistic interpretability", "sparse autoencoders", "circuits in language models"]
    ok(cli("subscribers", "add", email, "--timezone", "America/Los_Angeles", *[f"--topic={t}" for t in topics]))
    ok(cli("subscribers", "add", "short@example.org"))
    ok(cli("subscribers", "unsubscribe", "short@example.org"))
    lines = ok(cli("subscribers", "list")).stdout.splitlines()
    [row] = [line for line in lines if email in line]
    assert "America/Los_Angeles" in row and "; ".join(topics) in row
    assert len(lines) == 4  # the header, two readers and the count


def test_an_issue_whose_day_has_not_come_is_not_sent(cli) -> None:
    """`send --date 2062-11-24` (a typo for 2026) would date digests decades ahead: refused in one line; a day
    ahead of the schedule's zone is allowed (readers east of it are there already)."""
    from newsletter import pipeline
    from newsletter.config import load_settings

    one_line_error(cli("send", "--date", "2062-11-24"), "--date 2062-11-24: that issue's day has not come yet")
    tomorrow = pipeline.today(load_settings(env={})) + timedelta(days=1)
    ok(cli("send", "--date", str(tomorrow), "--dry-run"))


def test_a_configured_postgresql_database_without_a_schema_is_not_made_by_a_command(tmp_path, pg_url) -> None:
    """An empty PostgreSQL database named by a config file gets its schema from `db upgrade`, not from the
    first command that happens to run (a `status` would have said "0 papers" of the wrong database). The
    pg_url fixture is asked for the PostgreSQL it proves answers; this test makes a schema of its own."""
    import uuid

    import sqlalchemy as sa

    from tests.conftest import PG_ADMIN_URL

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_ADMIN_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    config = tmp_path / "newsletter.toml"
    url = f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    config.write_text(f'[database]\nurl = "{url}"\n[web]\nsecret_key = "a-key-of-the-tests-long-enough"\n')

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["--config", str(config), *args])

    try:
        for args in (("status",), ("subscribers", "add", "ada@example.org")):
            one_line_error(run(*args), "is empty: run `newsletter db upgrade` to make it")
        ok(run("db", "upgrade"))
        ok(run("subscribers", "add", "ada@example.org"))
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def test_a_database_in_a_read_only_folder_is_said_to_be_there(tmp_path) -> None:
    """SQLite writes its journal beside the file: in a read-only folder even `status` fails, and "unable to
    open database file" alone sends the operator looking for a file that is there. Said, on a real read-only
    mount (skipped where this user may not mount)."""
    site, mounted = tmp_path / "site", tmp_path / "ro"
    site.mkdir()
    mounted.mkdir()
    env = {"PATH": "/usr/bin:/bin", "NEWSLETTER_WEB_SECRET_KEY": "k" * 32}
    newsletter = [sys.executable, "-m", "newsletter"]
    subprocess.run([*newsletter, "subscribers", "add", "ada@example.org"], env=env, cwd=site, check=True)
    bind = subprocess.run(["mount", "--bind", str(site), str(mounted)], capture_output=True)
    if bind.returncode:
        pytest.skip(f"no bind mount here: {bind.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(mounted)], check=True, capture_output=True)
        result = subprocess.run([*newsletter, "status"], env=env, cwd=mounted, capture_output=True, text=True)
        other = {**env, "NEWSLETTER_DATABASE_URL": f"sqlite:///{mounted / 'other.db'}"}  # not there yet
        upgrade = subprocess.run([*newsletter, "db", "upgrade"], env=other, capture_output=True, text=True)
    finally:
        subprocess.run(["umount", str(mounted)], check=True)
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert f"the folder {mounted} is read-only to this user" in line and "unable to open database file" in line
    assert upgrade.returncode == 1 and f"the folder {mounted} is read-only to this user" in upgrade.stderr
