"""Ingestion end to end, on SQLite and PostgreSQL: every format from a file, and live sources over HTTP."""

import json
from datetime import date

import pytest
from click.testing import CliRunner

from newsletter import pipeline
from newsletter.cli import main
from tests.conftest import Answer
from tests.factories import make_paper

DAY = date(2024, 6, 18)


def local(ctx, feed_server, **arxiv):
    """The context with both sources pointed at the local HTTP server (and no 3 s pacing)."""
    settings = ctx.settings.replace(
        sources={
            "hf": {"url": f"{feed_server.base}/api/daily_papers", "enabled": True, "backoff": 0.01},
            "arxiv": {
                "backoff": 0.01,
                "enabled": True,
                "categories": ["cs.LG", "cs.CL"],
                "feed_url": f"{feed_server.base}/rss",
                "api_url": f"{feed_server.base}/api/query",
                "api_interval": 0.0,
                **arxiv,
            },
        }
    )
    return pipeline.Context(settings, ctx.db)


@pytest.fixture
def cli(ctx, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "{ctx.settings.database.url}"\n', encoding="utf-8")
    return lambda *args: CliRunner().invoke(main, ["--config", str(config), *args])


@pytest.mark.parametrize(
    ("name", "fmt", "count"),
    [
        ("hf_daily_papers.json", "hf", 2),
        ("arxiv_api.xml", "arxiv-api", 2),
        ("arxiv_api_legacy.xml", "arxiv-api", 1),
        ("arxiv_rss.xml", "arxiv-rss", 1),
        ("arxiv_atom.xml", "arxiv-atom", 1),
    ],
)
def test_every_format_from_a_file_and_again(cli, ctx, data_file, name, fmt, count) -> None:
    path = str(data_file(name))
    first = cli("ingest", "--file", path, "--format", fmt)
    assert first.exit_code == 0, first.output
    assert ctx.papers.count() == count
    again = cli("ingest", "--file", path, "--format", fmt)
    assert again.exit_code == 0 and f"0 new, 0 updated, {count} unchanged" in again.stdout
    assert ctx.papers.count() == count


def test_all_formats_merge_into_one_row_per_paper(ctx, data_file) -> None:
    for name, fmt in [("hf_daily_papers.json", "hf"), ("arxiv_rss.xml", "arxiv-rss"), ("arxiv_api.xml", "arxiv-api")]:
        pipeline.ingest_file(ctx, data_file(name), fmt)
    assert ctx.papers.count() == 2
    paper = ctx.papers.get("2406.11944")
    assert paper.upvotes == 12 and paper.github_url  # from Hugging Face
    assert paper.primary_category == "cs.LG" and paper.comment == "28 pages, 6 figures"  # from arXiv
    assert paper.sources == ("hf", "arxiv")
    assert paper.announced == date(2024, 6, 18)


def test_weekend_feed_is_no_announcement(cli, ctx, data_file) -> None:
    result = cli("ingest", "--file", str(data_file("arxiv_rss_weekend.xml")), "--format", "arxiv-rss")
    assert result.exit_code == 0 and "no_announcement" in result.stdout
    assert ctx.ingest_runs.latest()[0].status == "no_announcement"


@pytest.mark.parametrize(
    ("content", "fmt", "message"),
    [
        (None, "arxiv-api", "arXiv API error: incorrect id format for abc"),
        (
            b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><entry><title>x",
            "arxiv-api",
            "not well-formed",
        ),
        (b'[{"paper": {"id": "2401.00001"', "hf", "not valid JSON"),
    ],
)
def test_broken_files_exit_1_with_one_line_and_store_nothing(cli, ctx, data_file, tmp_path, content, fmt, message):
    path = data_file("arxiv_api_error_400.xml") if content is None else tmp_path / "broken"
    if content is not None:
        path.write_bytes(content)
    result = cli("ingest", "--file", str(path), "--format", fmt)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(path) in lines[0]
    assert ctx.papers.count() == 0
    assert ctx.ingest_runs.latest()[0].status == "error"


def test_malformed_entry_reports_position_and_keeps_good_ones(cli, ctx, data_file, tmp_path) -> None:
    path = tmp_path / "api.xml"
    path.write_bytes(data_file("arxiv_api.xml").read_bytes().replace(b"http://arxiv.org/abs/2310.08744v3", b"x"))
    result = cli("ingest", "--file", str(path), "--format", "arxiv-api")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"{path}: entry 2: not an arXiv id: 'x'"
    assert ctx.papers.count() == 1


def test_arxiv_live_completion_and_conditional_get(ctx, feed_server, data_file) -> None:
    rss = feed_server.route("/rss/cs.LG+cs.CL", Answer(body=data_file("arxiv_rss.xml").read_bytes(), etag='"day-1"'))
    api = feed_server.route("/api/query", Answer(body=data_file("arxiv_api.xml").read_bytes()))
    app = local(ctx, feed_server)
    [result] = pipeline.ingest(app, DAY, ["arxiv"])
    assert (result.status, result.new) == ("ok", 1)
    paper = ctx.papers.get("2406.11944")
    assert paper.primary_category == "cs.LG" and paper.comment == "28 pages, 6 figures"
    assert paper.announced == DAY
    assert ctx.papers.get("2310.08744") is None, "a replacement of an unknown paper adds nothing"
    assert api.calls[0].query["id_list"] == ["2406.11944"] and api.calls[0].query["max_results"] == ["1"]
    assert api.calls[0].headers["Accept"] == "application/atom+xml"
    assert "mailto:" in api.calls[0].headers["User-Agent"]

    [again] = pipeline.ingest(app, DAY, ["arxiv"])
    assert again.status == "not_modified"
    assert rss.calls[1].headers["If-None-Match"] == '"day-1"' and len(api.calls) == 1


def test_replace_updates_a_known_papers_version(ctx, feed_server, data_file) -> None:
    ctx.papers.upsert([make_paper(id="2310.08744", version=1, announced=date(2023, 10, 16))])
    feed_server.route("/rss/cs.LG+cs.CL", Answer(body=data_file("arxiv_rss.xml").read_bytes()))
    feed_server.route("/api/query", Answer(body=data_file("arxiv_api.xml").read_bytes()))
    [result] = pipeline.ingest(local(ctx, feed_server), DAY, ["arxiv"])
    assert (result.new, result.updated) == (1, 1)
    paper = ctx.papers.get("2310.08744")
    assert paper.version == 3 and paper.announced == date(2023, 10, 16)


def test_yesterdays_batch_served_again_adds_nothing(ctx, feed_server, data_file) -> None:
    feed_server.route("/rss/cs.LG+cs.CL", Answer(body=data_file("arxiv_rss.xml").read_bytes()))
    feed_server.route("/api/query", Answer(body=data_file("arxiv_api.xml").read_bytes()))
    app = local(ctx, feed_server)
    pipeline.ingest(app, DAY, ["arxiv"])
    [later] = pipeline.ingest(app, date(2024, 6, 19), ["arxiv"])
    assert later.new == 0 and ctx.papers.get("2406.11944").announced == DAY


def test_api_failure_keeps_the_feed_papers(ctx, feed_server, data_file) -> None:
    feed_server.route("/rss/cs.LG+cs.CL", Answer(body=data_file("arxiv_rss.xml").read_bytes()))
    feed_server.route("/api/query", Answer(503))
    app = local(ctx, feed_server)
    [result] = pipeline.ingest(app, DAY, ["arxiv"])
    assert result.status == "partial" and result.new == 1
    assert "could not complete 1 papers from the arXiv API" in result.problems[0]
    assert ctx.papers.get("2406.11944").primary_category is None


def test_empty_api_page_is_retried(ctx, feed_server, data_file) -> None:
    empty = data_file("arxiv_api.xml").read_text().split("<entry>")[0] + "</feed>"
    feed_server.route("/rss/cs.LG+cs.CL", Answer(body=data_file("arxiv_rss.xml").read_bytes()))
    api = feed_server.route(
        "/api/query", Answer(body=empty.encode()), Answer(body=data_file("arxiv_api.xml").read_bytes())
    )
    [result] = pipeline.ingest(local(ctx, feed_server), DAY, ["arxiv"])
    assert result.status == "ok" and len(api.calls) == 2
    assert ctx.papers.get("2406.11944").comment == "28 pages, 6 figures"


def test_broken_source_does_not_stop_the_other(ctx, feed_server, data_file, tmp_path) -> None:
    feed_server.route("/api/daily_papers", Answer(500))
    feed_server.route("/rss/cs.LG+cs.CL", Answer(body=data_file("arxiv_rss.xml").read_bytes()))
    feed_server.route("/api/query", Answer(body=data_file("arxiv_api.xml").read_bytes()))
    app = local(ctx, feed_server)
    hf, arxiv = pipeline.ingest(app, DAY)
    assert hf.status == "error" and "HTTP 500" in hf.error
    assert arxiv.status == "ok" and ctx.papers.count() == 1


def test_cli_exit_1_when_a_source_failed(ctx, feed_server, data_file, tmp_path) -> None:
    feed_server.route("/api/daily_papers", Answer(404))
    feed_server.route("/rss/cs.LG+cs.CL", Answer(body=data_file("arxiv_rss_weekend.xml").read_bytes()))
    config = tmp_path / "live.toml"
    config.write_text(
        f'[database]\nurl = "{ctx.settings.database.url}"\n'
        f'[sources.hf]\nurl = "{feed_server.base}/api/daily_papers"\nbackoff = 0.01\n'
        f'[sources.arxiv]\nenabled = true\ncategories = ["cs.LG", "cs.CL"]\nfeed_url = "{feed_server.base}/rss"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["--config", str(config), "ingest", "--date", "2024-06-22"])
    assert result.exit_code == 1
    assert "arxiv: no_announcement" in result.stdout
    assert result.stderr.strip().splitlines() == [f"Error: hf: {feed_server.base}/api/daily_papers: HTTP 404"]
    status = json.loads(CliRunner().invoke(main, ["--config", str(config), "status", "--json"]).stdout)
    assert {r["source"]: r["status"] for r in status["ingests"]} == {"hf": "error", "arxiv": "no_announcement"}


def test_backfill_arxiv_by_day(ctx, feed_server, data_file) -> None:
    api = feed_server.route("/api/query", Answer(body=data_file("arxiv_api.xml").read_bytes()))
    results = pipeline.backfill(local(ctx, feed_server), date(2024, 6, 17), date(2024, 6, 18), ["arxiv"])
    assert [r.new for r in results] == [2, 0]
    queries = [c.query["search_query"][0] for c in api.calls]
    assert queries[0] == "(cat:cs.LG OR cat:cs.CL) AND submittedDate:[202406170000 TO 202406172359]"
    assert "202406180000 TO 202406182359" in queries[1]
    assert ctx.papers.get("2406.11944").announced == date(2024, 6, 17)  # its publication day


def test_backfill_hf_by_day(ctx, feed_server, data_file) -> None:
    route = feed_server.route("/api/daily_papers", Answer(body=data_file("hf_daily_papers.json").read_bytes()))
    results = pipeline.backfill(local(ctx, feed_server), date(2024, 6, 17), date(2024, 6, 19), ["hf"])
    assert [r.new for r in results] == [2, 0, 0]
    assert [c.query["date"] for c in route.calls] == [["2024-06-17"], ["2024-06-18"], ["2024-06-19"]]


def test_paper_without_a_date_counts_as_announced_today(ctx, tmp_path) -> None:
    path = tmp_path / "undated.json"
    path.write_text(json.dumps([{"paper": {"id": "2401.00001", "title": "T", "summary": "S", "authors": []}}]))
    pipeline.ingest_file(ctx, path, "hf")
    assert ctx.papers.get("2401.00001").announced == pipeline.today(ctx.settings)
