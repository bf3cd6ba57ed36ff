"""The Hugging Face daily-papers source: parsing the recorded shape, and fetching over real HTTP."""

import json
from datetime import UTC, date, datetime

import pytest

from newsletter.config import HfSourceSettings
from newsletter.errors import FeedError
from newsletter.sources import hf_daily
from tests.conftest import Answer


def test_parse_recorded_shape(data_file) -> None:
    parsed = hf_daily.parse(data_file("hf_daily_papers.json").read_bytes(), "sample")
    assert parsed.problems == ()
    first, second = parsed.papers
    assert first.id == "2406.11944" and first.version is None
    assert first.title == "Transcoders Find Interpretable LLM Feature Circuits"
    assert first.authors == ("Jacob Dunefsky", "Philippe Chlenski", "Neel Nanda")
    assert first.upvotes == 12  # inside `paper`
    assert first.num_comments == 2  # outside `paper`
    assert first.github_url == "https://github.com/example/transcoder-circuits"
    assert first.project_url == "https://example.github.io/transcoders/"
    assert first.published == datetime(2024, 6, 17, 17, 59, 59, tzinfo=UTC)
    assert first.announced == date(2024, 6, 18)  # the day it was featured
    assert first.sources == ("hf",)
    # Optional keys are absent, not null.
    assert second.github_url is None and second.ai_summary is None and second.project_url is None
    # Hard-wrapped text is collapsed.
    assert "\n" not in second.abstract and "be successfully" in second.abstract


def test_bad_entries_are_reported_and_the_rest_kept() -> None:
    entries = [
        {"paper": {"id": "2401.00001", "title": "Good", "summary": "ok", "authors": []}},
        {"paper": {"title": "No id"}},
        {"paper": {"id": "not-an-id", "title": "Bad id"}},
        "not an object",
    ]
    parsed = hf_daily.parse(json.dumps(entries).encode(), "feed.json")
    assert [p.id for p in parsed.papers] == ["2401.00001"]
    assert len(parsed.problems) == 3
    assert parsed.problems[0] == "feed.json: entry 2: missing key 'id'"
    assert "entry 3: not an arXiv id" in parsed.problems[1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'[{"paper": ', "feed.json: not valid JSON (Expecting value at line 1, column 12)"),
        (b'{"error": "x"}', "expected a JSON array"),
        (b'["\xff"]', "not UTF-8"),
        (b'["a\x01"]', "not valid JSON (Invalid control character at line 1, column 4)"),
        # A JSON-lines file (arXiv's metadata snapshot, given without --format arxiv-metadata).
        (b'{"id": "2401.00001"}\n{"id": "2401.00002"}\n', "(one JSON value per line: JSON lines, not the JSON array"),
    ],
)
def test_unreadable_feed_is_one_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(FeedError) as info:
        hf_daily.parse(data, "feed.json")
    assert message in str(info.value)


def test_fetch_pages_until_a_short_page(feed_server) -> None:
    page = [
        {"paper": {"id": f"2611.{i:05d}", "title": f"Paper {i}", "summary": "s", "authors": [{"name": "A"}]}}
        for i in range(hf_daily.PAGE_SIZE)
    ]
    tail = [{"paper": {"id": "2611.99999", "title": "Last", "summary": "s", "authors": []}}]
    route = feed_server.route(
        "/api/daily_papers", Answer(body=json.dumps(page).encode()), Answer(body=json.dumps(tail).encode())
    )
    source = hf_daily.HfDailySource(HfSourceSettings(url=f"{feed_server.base}/api/daily_papers"))
    parsed = source.fetch(date(2026, 11, 24))
    assert len(parsed.papers) == hf_daily.PAGE_SIZE + 1
    assert [c.query["p"] for c in route.calls] == [["0"], ["1"]]
    assert route.calls[0].query["date"] == ["2026-11-24"] and route.calls[0].query["limit"] == ["100"]
    assert all(p.announced == date(2026, 11, 24) for p in parsed.papers)


def test_enrichment_from_the_paper_endpoint(feed_server, data_file) -> None:
    daily = json.loads(data_file("hf_daily_papers.json").read_text())
    daily[0]["paper"]["upvotes"] = 1
    feed_server.route("/api/daily_papers", Answer(body=json.dumps(daily).encode()))
    feed_server.route("/api/papers/2406.11944", Answer(body=data_file("hf_paper.json").read_bytes()))
    settings = HfSourceSettings(
        url=f"{feed_server.base}/api/daily_papers", paper_url=f"{feed_server.base}/api/papers", enrich=True
    )
    parsed = hf_daily.HfDailySource(settings).fetch(date(2024, 6, 18))
    assert parsed.papers[0].upvotes == 12  # from /api/papers
    assert parsed.problems == (f"{feed_server.base}/api/papers/2310.08744: HTTP 404",)
    assert parsed.papers[1].title.startswith("Circuit Component Reuse")  # kept although enrichment failed
