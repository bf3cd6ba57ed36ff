"""`ingest --format arxiv-metadata`: arXiv's bulk snapshot as background papers, on SQLite and PostgreSQL.

The sample is a real slice of the shared corpus (every 500th record of arxiv-metadata-100k.jsonl.gz, CC0).
"""

import gzip
import json
from datetime import date

import pytest
from click.testing import CliRunner

from newsletter import pipeline
from newsletter.cli import main
from newsletter.query import parse as parse_query
from newsletter.sources import arxiv_metadata

SAMPLE = "arxiv_metadata_sample.jsonl.gz"


@pytest.fixture
def cli(ctx, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "{ctx.settings.database.url}"\n', encoding="utf-8")
    return lambda *args: CliRunner().invoke(main, ["--config", str(config), *args])


def records(data_file) -> list[dict]:
    with gzip.open(data_file(SAMPLE), "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def test_import_stores_background_papers_that_are_searchable_but_never_news(cli, ctx, data_file) -> None:
    sample = records(data_file)
    result = cli("ingest", "--file", str(data_file(SAMPLE)), "--format", "arxiv-metadata")
    assert result.exit_code == 0, result.output
    assert f"{len(sample)} new, 0 updated, 0 unchanged" in result.stdout
    assert ctx.papers.count() == len(sample)

    first = sample[0]
    stored = ctx.papers.get(first["id"])
    assert stored is not None and stored.background and stored.announced is None
    assert stored.title == " ".join(first["title"].split())
    assert stored.categories == tuple(first["categories"].split())
    assert stored.primary_category == first["categories"].split()[0]
    assert stored.authors == tuple(a.strip() for a in first["authors"].split(","))

    # Never on a day's list or in a digest's window, but found by search (the listing says so).
    assert ctx.papers.list() == []
    assert (ctx.papers.count(background=True), ctx.papers.count(background=False)) == (len(sample), 0)
    listed = cli("papers", "list").stdout
    assert f"0 papers\nand {len(sample):,} background papers, not listed" in listed
    assert ctx.papers.announced_between(date(1990, 1, 1), date(2100, 1, 1)) == []
    assert ctx.papers.announcement_days() == []
    word = max(first["title"].split(), key=len).strip(".,:;()")
    hits = ctx.search.search(parse_query(word), limit=200)
    assert first["id"] in {hit.paper.id for hit in hits}

    again = cli("ingest", "--file", str(data_file(SAMPLE)), "--format", "arxiv-metadata", "--json")
    assert again.exit_code == 0, again.output
    (run,) = json.loads(again.stdout)
    assert (run["new"], run["updated"], run["unchanged"]) == (0, 0, len(sample))


def test_plain_json_lines_and_bad_lines_are_skipped_with_their_line_number(cli, ctx, data_file, tmp_path) -> None:
    good = records(data_file)[:3]
    lines = [
        json.dumps(good[0]),
        "{not json",
        json.dumps({**good[1], "id": "not-an-id"}),
        json.dumps({**good[1], "title": 42}),
        "",
        json.dumps([1, 2]),
        json.dumps(good[1]),
        json.dumps({**good[2], "title": "  "}),
        json.dumps({**good[2], "comments": "DIGITS"}).replace('"DIGITS"', "9" * 5000),  # a key not read: kept
    ]
    path = tmp_path / "snapshot.json"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("ingest", "--file", str(path), "--format", "arxiv-metadata")
    assert result.exit_code == 1
    assert "3 new" in result.stdout
    for number, problem in ((2, "not valid JSON"), (3, "not an arXiv id"), (4, "'title' is a number, not text")):
        assert f"{path}: line {number}: {problem}" in result.stderr
    assert f"{path}: line 6: expected a JSON object" in result.stderr
    assert f"{path}: line 8: paper {good[2]['id']} has no title" in result.stderr
    assert {p.id for p in ctx.papers.get_many([g["id"] for g in good])} == {g["id"] for g in good}
    (run,) = ctx.ingest_runs.latest(1)
    assert (run.source, run.status, run.new, run.errors) == ("file:arxiv-metadata", "partial", 3, 5)


def test_a_file_of_another_kind_is_an_error_not_a_partial_import(cli, ctx, data_file, tmp_path) -> None:
    """Hugging Face's JSON given as the snapshot: not one record usable says so in one line (it was a
    "partial" import of 0 papers, with twenty problems and no word of the rest)."""
    result = cli("ingest", "--file", str(data_file("hf_daily_papers.json")), "--format", "arxiv-metadata")
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: file:arxiv-metadata: ") and "none of its" in line and "records is usable" in line
    assert ctx.ingest_runs.latest(1)[0].status == "error"
    # Many unusable lines among good ones: the first twenty, then how many more.
    good = records(data_file)[:2]
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join([*(f"junk {n}" for n in range(30)), *map(json.dumps, good)]) + "\n", encoding="utf-8")
    result = cli("ingest", "--file", str(path), "--format", "arxiv-metadata")
    assert result.exit_code == 1 and "2 new" in result.stdout
    assert result.stderr.count("not valid JSON") == 20 and "… and 10 more unusable entries" in result.stderr


def test_a_missing_file_is_one_line_and_exit_1(cli, tmp_path) -> None:
    result = cli("ingest", "--file", str(tmp_path / "nope.jsonl.gz"), "--format", "arxiv-metadata")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: file:arxiv-metadata: cannot read metadata file {tmp_path / 'nope.jsonl.gz'}: No such file or directory"
    ]


def test_an_announcement_makes_a_background_paper_news_and_an_import_never_makes_news_background(
    ctx, data_file, tmp_path
) -> None:
    hf_ids = [entry["paper"]["id"] for entry in json.loads(data_file("hf_daily_papers.json").read_text())]
    background, news = hf_ids[0], hf_ids[1]
    snapshot = tmp_path / "s.jsonl"
    snapshot.write_text(
        "\n".join(
            json.dumps(
                {"id": i, "title": f"Old record of {i}", "abstract": "a", "authors": "A. Author", "categories": "cs.LG"}
            )
            for i in (background,)
        ),
        encoding="utf-8",
    )
    assert pipeline.ingest_metadata(ctx, snapshot).new == 1
    assert ctx.papers.get(background).background

    assert pipeline.ingest_file(ctx, data_file("hf_daily_papers.json"), "hf").status == "ok"
    announced = ctx.papers.get(background)
    assert not announced.background and announced.announced is not None
    assert announced.categories == ("cs.LG",)  # what the snapshot knew is kept

    snapshot.write_text(
        json.dumps({"id": news, "title": "T", "abstract": "a", "authors": "B", "categories": "cs.CL"}), encoding="utf-8"
    )
    assert pipeline.ingest_metadata(ctx, snapshot).updated == 1
    still_news = ctx.papers.get(news)
    assert not still_news.background and still_news.announced is not None
    assert {p.id for p in ctx.papers.list()} == set(hf_ids)


def test_batches_report_progress_through_the_compressed_file(data_file) -> None:
    path = data_file(SAMPLE)
    seen = list(arxiv_metadata.batches(path, per_batch=50))
    assert [len(b.papers) for b in seen] == [50, 50, 50, 50, 1]
    assert all(b.papers[0].background and b.papers[0].sources == ("arxiv-metadata",) for b in seen)
    read = [b.bytes_read for b in seen]
    assert read == sorted(read) and read[-1] == seen[-1].file_size == path.stat().st_size


def test_authors_joined_with_and_are_split() -> None:
    line = json.dumps({"id": "2501.00001", "title": "T", "abstract": "", "authors": "A. One, B. Two, and C. Three"})
    assert arxiv_metadata.parse_record(line.encode(), "x").authors == ("A. One", "B. Two", "C. Three")
    line = json.dumps({"id": "hep-th/9901001v2", "title": "T", "authors": "A. One and B. Two"})
    paper = arxiv_metadata.parse_record(line.encode(), "x")
    assert (paper.id, paper.version, paper.authors) == ("hep-th/9901001", 2, ("A. One", "B. Two"))


def test_names_glued_by_and_are_split_only_in_a_run_on_name() -> None:
    glued = "A. One, " + "and ".join(f"Name{n} Surname{chr(97 + n % 26)}" for n in range(12))
    line = json.dumps({"id": "2506.02197", "title": "T", "authors": glued + ", Ferdinand Legrand"})
    authors = arxiv_metadata.parse_record(line.encode(), "x").authors
    assert authors[0] == "A. One" and authors[-1] == "Ferdinand Legrand" and len(authors) == 14
    assert authors[1:13] == tuple(f"Name{n} Surname{chr(97 + n % 26)}" for n in range(12))


def snapshot_of(data_file, folder, batches: int):
    """A snapshot of `batches` full batches: one real record under as many ids."""
    record = records(data_file)[0]
    path = folder / "big.jsonl"
    count = arxiv_metadata.BATCH * batches
    path.write_text("".join(json.dumps({**record, "id": f"2101.{n:05d}"}) + "\n" for n in range(count)))
    return path


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_ctrl_c_stops_an_import_with_one_line_and_a_rerun_finishes_it(data_file, tmp_path, signum) -> None:
    """Ctrl-C (or systemd's SIGTERM) reaches the command and its reader process alike: the import ends after
    the batch it is storing, in one line (no traceback from either process, wherever the signal lands), what
    was stored is kept and the next run adds the rest."""
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    batches = 20
    big = snapshot_of(data_file, tmp_path, batches=batches)
    env = {**os.environ, "NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}"}
    command = [sys.executable, "-m", "newsletter", "ingest", "--file", str(big), "--format", "arxiv-metadata"]
    subprocess.run([sys.executable, "-m", "newsletter", "db", "upgrade"], env=env, check=True, capture_output=True)
    running = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)

    def stored() -> int:
        try:
            with sqlite3.connect(tmp_path / "n.db", timeout=5) as db:
                return db.execute("SELECT count(*) FROM papers").fetchone()[0]
        except sqlite3.OperationalError:  # not made yet
            return 0

    deadline = time.monotonic() + 60
    while not stored() and running.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # a batch stored: the import is under way, most of it still to come
    os.killpg(running.pid, getattr(signal, signum))
    _, err = running.communicate(timeout=60)
    assert running.returncode == 1 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # (CI once saw more than one: the message says what)
    [line] = lines
    assert "interrupted after" in line and "what is stored is kept; run the same command again" in line
    again = subprocess.run([*command, "--json"], env=env, capture_output=True, text=True, timeout=120)
    (run,) = json.loads(again.stdout)
    assert run["new"] + run["unchanged"] == arxiv_metadata.BATCH * batches and run["errors"] == 0, again.stderr


def test_a_reader_process_that_dies_is_one_error_not_a_wait(data_file, tmp_path) -> None:
    """The snapshot is parsed in a process of its own; killed mid-file (out of memory, an operator), the
    import stops with a FeedError naming the file instead of waiting for batches that never come."""
    import multiprocessing
    import os
    import signal

    from newsletter.config import IngestSettings
    from newsletter.errors import FeedError
    from newsletter.sources.snapshot_reader import cleaned_batches

    big = snapshot_of(data_file, tmp_path, batches=5)
    read = cleaned_batches(big, IngestSettings(), "test")
    first = next(read)
    assert len(first.papers) == arxiv_metadata.BATCH
    (reader,) = multiprocessing.active_children()
    os.kill(reader.pid, signal.SIGKILL)

    def hung(*_: object) -> None:
        pytest.fail("the import still waits for a reader that is gone")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        with pytest.raises(FeedError, match=rf"reading {big} stopped \(the reader exited with -9\)"):
            for _ in read:
                pass
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert multiprocessing.active_children() == []


def test_the_reader_process_hands_over_each_paper_with_its_fingerprint(data_file) -> None:
    """The hash by which the store knows an unchanged record is made on the reader's core, not the storer's."""
    from dataclasses import replace

    from newsletter.config import IngestSettings
    from newsletter.sources.snapshot_reader import cleaned_batches

    papers = [p for batch in cleaned_batches(data_file(SAMPLE), IngestSettings(), "test") for p in batch.papers]
    assert papers and all("fingerprint" in vars(p) for p in papers)  # made there, carried over the pipe
    paper = papers[0]
    assert "fingerprint" not in vars(replace(paper))  # a changed copy works its own out when asked
    assert replace(paper).fingerprint == paper.fingerprint != replace(paper, title="Another").fingerprint
