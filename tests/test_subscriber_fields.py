"""One table of reader preferences: CLI options, export and import, the web form and validation all follow it."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from newsletter.cli import main
from newsletter.errors import InputError
from newsletter.forms import changes_from_form, form_values
from newsletter.models import Frequency, Preferences, Subscriber, SubscriberChanges
from newsletter.subscriber_fields import FIELDS
from newsletter.subscriptions import COLUMNS, validate_changes

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


def make_cli(folder: Path):
    config = folder / "newsletter.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{folder}/n.db"\n[web]\nsecret_key = "k"\n', encoding="utf-8")

    def run(*args: str) -> Result:
        result = CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    return run


@pytest.fixture
def filled(tmp_path: Path):
    (tmp_path / "a").mkdir()
    cli = make_cli(tmp_path / "a")
    for reader in READERS:
        cli("subscribers", "add", *reader)
    return cli


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_then_import_into_an_empty_database_exports_the_same_bytes(filled, tmp_path, fmt) -> None:
    exported = filled("subscribers", "export", "--format", fmt).stdout
    path = tmp_path / f"readers.{fmt}"
    path.write_text(exported, encoding="utf-8")
    (tmp_path / "b").mkdir()
    empty = make_cli(tmp_path / "b")
    assert f"imported {len(READERS)} new, 0 updated, 0 rejected" in empty("subscribers", "import", str(path)).stdout
    assert empty("subscribers", "export", "--format", fmt).stdout == exported
    # Importing it again over the same readers changes nothing either.
    assert f"0 new, {len(READERS)} updated" in empty("subscribers", "import", str(path)).stdout
    assert empty("subscribers", "export", "--format", fmt).stdout == exported


def test_export_carries_every_field_of_the_table(filled) -> None:
    records = json.loads(filled("subscribers", "export", "--format", "json").stdout)
    assert all(tuple(r) == COLUMNS == ("email", *(f.name for f in FIELDS)) for r in records)
    for field in FIELDS:  # the test readers differ in every preference, so each one is carried for real
        assert len({json.dumps(r[field.name]) for r in records}) > 1, field.name
    weekly = next(r for r in records if r["email"] == "weekly@example.com")
    assert (weekly["frequency"], weekly["weekday"], weekly["min_score"]) == ("weekly", "friday", 0.1)
    header = filled("subscribers", "export").stdout.splitlines()[0]
    assert header.split(",") == list(COLUMNS)
    shown = json.loads(filled("subscribers", "show", "ada@example.com", "--json").stdout)
    assert {k: shown[k] for k in COLUMNS} == records[0]  # to_dict comes from the same table


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
        ({"frequency": "weekly"}, "a weekly subscription needs --weekday"),
        ({"frequency": "hourly"}, "frequency 'hourly': expected daily or weekly"),
        ({"min_score": "2"}, "min score 2.0 must be between 0 and 1"),
        ({"min_score": "high"}, "min score: 'high' is not a number"),
        ({"trending_items": "50"}, "trending 50 must be 0..20"),
        ({"send_hour": "x"}, "send hour: 'x' is not a whole number"),
        ({"max_items": "0"}, "max items 0 must be 1..100"),
        ({"timezone": "Mars/Base"}, "timezone 'Mars/Base' is not an IANA timezone"),
        ({"topics": "a" * 201}, "topics: 'aaaa"),
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
    from newsletter.subscriber_fields import BY_NAME

    assert BY_NAME["max_items"].check(BY_NAME["max_items"].read(5.0)) == 5
    for name, bad in (("max_items", True), ("send_hour", [7]), ("topics", 3), ("timezone", 1)):
        with pytest.raises(InputError, match=name.replace("_", " ")):
            BY_NAME[name].check(BY_NAME[name].read(bad))
    with pytest.raises(InputError, match="separates phrases"):
        BY_NAME["topics"].check(BY_NAME["topics"].read(["a;b"]))
