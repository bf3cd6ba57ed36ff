"""arXiv formats: announcement RSS and Atom, the query API (current and legacy), and broken input."""

import os
import time
from datetime import UTC, date, datetime

import pytest

from newsletter.errors import FeedError
from newsletter.sources import arxiv_api, arxiv_feed


def test_rss_keeps_new_and_routes_replacements_to_updates(data_file) -> None:
    parsed = arxiv_feed.parse(data_file("arxiv_rss.xml").read_bytes(), "rss")
    [paper] = parsed.papers
    assert (paper.id, paper.version) == ("2406.11944", 1)
    assert paper.authors == ("Jacob Dunefsky", "Philippe Chlenski", "Neel Nanda")
    assert paper.categories == ("cs.LG", "cs.AI")
    assert paper.announced == date(2024, 6, 18)
    assert paper.abstract.startswith("A key goal in mechanistic interpretability")
    [replaced] = parsed.updates
    assert (replaced.id, replaced.version) == ("2310.08744", 3)
    assert parsed.problems == ()


def test_atom_announcement_feed_gives_the_same(data_file) -> None:
    rss = arxiv_feed.parse(data_file("arxiv_rss.xml").read_bytes(), "rss")
    atom = arxiv_feed.parse(data_file("arxiv_atom.xml").read_bytes(), "atom")
    assert atom.papers == rss.papers and atom.updates == rss.updates


def test_cross_lists_only_when_asked(data_file) -> None:
    data = data_file("arxiv_rss.xml").read_bytes().replace(b"replace-cross", b"cross")
    assert [p.id for p in arxiv_feed.parse(data, "rss").papers] == ["2406.11944"]
    with_cross = arxiv_feed.parse(data, "rss", include_cross_lists=True)
    assert [p.id for p in with_cross.papers] == ["2406.11944", "2310.08744"] and with_cross.updates == ()


def test_weekend_feed_is_empty_not_an_error(data_file) -> None:
    assert arxiv_feed.parse(data_file("arxiv_rss_weekend.xml").read_bytes(), "rss").empty


def test_bad_category_feed_is_an_error() -> None:
    data = (
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>Feed error for query: cs.XX</title></channel></rss>"
    )
    with pytest.raises(FeedError, match="rss: Feed error for query: cs.XX"):
        arxiv_feed.parse(data, "rss")


@pytest.mark.parametrize(
    ("creator", "names"),
    [
        ("A. Smith (MIT, Cambridge), B. Jones, C. D'Arc (Univ. of X, Y)", ("A. Smith", "B. Jones", "C. D'Arc")),
        ("Ann Lee and Bo Kim", ("Ann Lee", "Bo Kim")),
        ("Solo", ("Solo",)),
        ("", ()),
    ],
)
def test_split_authors(creator, names) -> None:
    assert arxiv_feed.split_authors(creator) == names


def test_api_current_and_legacy_formats_agree(data_file) -> None:
    current = arxiv_api.parse(data_file("arxiv_api.xml").read_bytes(), "api")
    legacy = arxiv_api.parse(data_file("arxiv_api_legacy.xml").read_bytes(), "api")
    assert current.total == 2 and legacy.total == 1
    first = current.papers[0]
    assert legacy.papers[0] == first
    assert (first.id, first.version, first.primary_category, first.comment) == (
        "2406.11944",
        1,
        "cs.LG",
        "28 pages, 6 figures",
    )
    assert first.published == datetime(2024, 6, 17, 17, 59, 59, tzinfo=UTC)
    assert "\n" not in legacy.papers[0].abstract
    second = current.papers[1]
    assert (second.id, second.version, second.primary_category) == ("2310.08744", 3, "cs.CL")
    assert second.authors == ("Jack Merullo", "Carsten Eickhoff", "Ellie Pavlick")


def test_api_error_feed(data_file) -> None:
    with pytest.raises(FeedError, match="api: arXiv API error: incorrect id format for abc"):
        arxiv_api.parse(data_file("arxiv_api_error_400.xml").read_bytes(), "api")


def test_malformed_entry_among_good_ones(data_file) -> None:
    data = data_file("arxiv_api.xml").read_bytes().replace(b"http://arxiv.org/abs/2310.08744v3", b"not-an-id")
    parsed = arxiv_api.parse(data, "api.xml")
    assert [p.id for p in parsed.papers] == ["2406.11944"]
    assert parsed.problems == ("api.xml: entry 2: not an arXiv id: 'not-an-id'",)


def test_truncated_xml_names_the_line(data_file) -> None:
    data = data_file("arxiv_api.xml").read_bytes()[:1500]
    with pytest.raises(FeedError, match=r"api.xml: not well-formed XML \(.* at line \d+, column \d+\)"):
        arxiv_api.parse(data, "api.xml")


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match="page.html: not an RSS or Atom feed"):
        arxiv_feed.parse(b"<!DOCTYPE html><html><body>Sign in</body></html>", "page.html")


def test_three_megabytes_of_garbage_fail_fast() -> None:
    started = time.monotonic()
    with pytest.raises(FeedError, match="garbage.bin: not well-formed XML"):
        arxiv_api.parse(os.urandom(3_000_000), "garbage.bin")
    assert time.monotonic() - started < 5
