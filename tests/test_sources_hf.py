"""The Hugging Face daily-papers source: parsing the recorded shape, and fetching over real HTTP."""

import json
from datetime import UTC, date, datetime

import httpx
import pytest

from newsletter.config import HfSourceSettings
from newsletter.errors import FeedError
from newsletter.sources import hf_daily, http


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
        "/api/daily_papers", (200, {}, json.dumps(page).encode()), (200, {}, json.dumps(tail).encode())
    )
    source = hf_daily.HfDailySource(HfSourceSettings(url=f"{feed_server.base}/api/daily_papers"), "test-agent")
    parsed = source.fetch(date(2026, 11, 24))
    assert len(parsed.papers) == hf_daily.PAGE_SIZE + 1
    assert [c["p"] for c in route.calls] == [["0"], ["1"]]
    assert route.calls[0]["date"] == ["2026-11-24"] and route.calls[0]["limit"] == ["100"]
    assert all(p.announced == date(2026, 11, 24) for p in parsed.papers)


def test_fetch_retries_503_honouring_retry_after(feed_server) -> None:
    route = feed_server.route("/feed", (503, {"Retry-After": "7"}, b"busy"), (200, {}, b"[]"))
    waits: list[float] = []
    with httpx.Client() as client:
        assert http.get(client, f"{feed_server.base}/feed", sleep=waits.append) == b"[]"
    assert waits == [7.0] and len(route.calls) == 2


def test_fetch_gives_up_with_the_status(feed_server) -> None:
    feed_server.route("/feed", (500, {}, b"oops"))
    with httpx.Client() as client, pytest.raises(FeedError, match=r"/feed: HTTP 500"):
        http.get(client, f"{feed_server.base}/feed", attempts=2, sleep=lambda _: None)


def test_fetch_does_not_retry_a_client_error(feed_server) -> None:
    route = feed_server.route("/feed", (404, {}, b"no"))
    with httpx.Client() as client, pytest.raises(FeedError, match="HTTP 404"):
        http.get(client, f"{feed_server.base}/feed", sleep=lambda _: None)
    assert len(route.calls) == 1
