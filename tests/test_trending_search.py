"""Trending scores, trending digests and sections, full-text search on SQLite FTS5 and PostgreSQL, CLI and web."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from newsletter import pipeline
from newsletter.cli import main
from newsletter.errors import InputError
from newsletter.message import Composer
from newsletter.models import Status, SubscriberChanges
from newsletter.query import as_preferences, parse
from newsletter.readers import subscriptions
from newsletter.trending import trending_score
from newsletter.web import create_app
from tests.factories import ISSUE, make_paper

TODAY = ISSUE


def test_a_paper_of_today_with_40_upvotes_outranks_last_weeks_60() -> None:
    today = make_paper(upvotes=40, announced=TODAY)
    last_week = make_paper(upvotes=60, announced=TODAY - timedelta(days=7))
    yesterday_many = make_paper(upvotes=400, announced=TODAY - timedelta(days=1))
    assert trending_score(today) > trending_score(last_week)
    assert trending_score(yesterday_many) > trending_score(today)  # the decay is gentle within days
    commented = make_paper(upvotes=40, num_comments=10, announced=TODAY)
    assert trending_score(commented) > trending_score(today)


# -- trending digests ------------------------------------------------------------------------------------


def hf_day(ctx) -> list:
    papers = [
        make_paper(id=f"2611.3000{n}", title=f"Paper {n} on circuits", upvotes=votes, announced=TODAY, sources=("hf",))
        for n, votes in enumerate([5, 80, 12, 0, 44, 31, 7])
    ] + [make_paper(id="2611.30099", title="Old favourite", upvotes=300, announced=TODAY - timedelta(days=9))]
    ctx.papers.upsert(papers)
    return papers


def test_a_reader_without_topics_gets_the_days_top_papers_by_trending(ctx) -> None:
    hf_day(ctx)
    reader = subscriptions.add(ctx.settings, ctx.subscribers, "t@example.com", SubscriberChanges(max_items=4))
    digest = pipeline.build_digest(ctx, reader, TODAY)
    expected = [p.id for p in ctx.papers.list(on=TODAY, trending=True)][:4]
    assert [p.paper.id for p in digest.picks] == expected == ["2611.30001", "2611.30004", "2611.30005", "2611.30002"]
    assert digest.picks[0].why.text == "trending: ▲ 80 upvotes on Hugging Face"
    out = Composer(ctx.settings).compose(digest)
    assert out.subject.startswith("4 new papers on trending research")


def test_a_trending_section_follows_the_readers_picks_without_repeating_them(ctx) -> None:
    papers = hf_day(ctx)
    ctx.papers.upsert([make_paper(id="2611.30050", title="Quantum error correction codes", upvotes=1, announced=TODAY)])
    reader = subscriptions.add(
        ctx.settings,
        ctx.subscribers,
        "q@example.com",
        SubscriberChanges(topics=("quantum error correction",), trending_items=2),
    )
    digest = pipeline.build_digest(ctx, reader, TODAY)
    own = [p for p in digest.picks if not p.trending]
    section = [p for p in digest.picks if p.trending]
    assert [p.paper.id for p in own] == ["2611.30050"]
    assert [p.paper.id for p in section] == ["2611.30001", "2611.30004"]
    assert papers[1].id not in {p.paper.id for p in own}

    out = Composer(ctx.settings).compose(digest)
    assert out.subject.startswith("1 new paper")
    assert out.text.index("Quantum error correction codes") < out.text.index("TRENDING TODAY")
    assert out.text.index("TRENDING TODAY") < out.text.index("Paper 1 on circuits")
    assert "Trending today</h2>" in out.html

    # Archived with the digest: a resend shows the same section.
    summary = pipeline.send_issue(ctx, pipeline.SendOptions(issue_date=TODAY, show_progress=False))
    assert summary.sent == 1
    archived = ctx.archive.load_digest(reader, TODAY)
    assert [(p.paper.id, p.trending) for p in archived.picks] == [(p.paper.id, p.trending) for p in digest.picks]


def test_trending_section_size_is_validated_and_editable(ctx) -> None:
    subscriptions.add(ctx.settings, ctx.subscribers, "v@example.com", SubscriberChanges(topics=("x",)))
    with pytest.raises(InputError, match="trending 50 must be 0..20"):
        subscriptions.update(ctx.subscribers, "v@example.com", SubscriberChanges(trending_items=50))
    updated = subscriptions.update(ctx.subscribers, "v@example.com", SubscriberChanges(trending_items=3))
    assert updated.trending_items == 3 and updated.to_dict()["trending_items"] == 3


# -- search ----------------------------------------------------------------------------------------------


def library(ctx) -> None:
    ctx.papers.upsert(
        [
            make_paper(
                id="2611.40001",
                title="Transformer circuits for indirect object identification",
                abstract="We find circuits in attention heads.",
                upvotes=10,
            ),
            make_paper(
                id="2611.40002",
                title="Analog circuit sizing with reinforcement learning",
                abstract="Op-amp design for analog integrated circuits.",
                upvotes=50,
            ),
            make_paper(
                id="2611.40003",
                title="Neural circuits of decision making in mice",
                abstract="Cortical circuit dynamics.",
                upvotes=5,
                announced=TODAY - timedelta(days=30),
            ),
            make_paper(
                id="2611.40004",
                title="Protein design",
                abstract="Diffusion models design proteins; transformers help too.",
                authors=("Ada Circuitt",),
            ),
            make_paper(
                id="2611.40005",
                title="Circuits in circuits",
                abstract="A transformer, then some circuits, far apart, in circuits.",
                upvotes=1,
            ),
        ]
    )


def found(ctx, query: str, **kw) -> list[str]:
    return [h.paper.id for h in ctx.search.search(parse(query), **kw)]


def test_search_finds_circuits_of_every_field_title_first(ctx) -> None:
    library(ctx)
    hits = found(ctx, "circuit")
    assert set(hits) == {"2611.40001", "2611.40002", "2611.40003", "2611.40005"}  # stemmed: circuits, circuit
    assert hits[0] == "2611.40005"  # the word in the title, twice
    assert found(ctx, '"transformer circuits"') == ["2611.40001"]  # the phrase, not the two words apart
    assert set(found(ctx, "transformer circuits")) == {"2611.40001", "2611.40005"}
    assert set(found(ctx, "circuits -analog")) == {"2611.40001", "2611.40003", "2611.40005"}
    assert set(found(ctx, 'circuits -"attention heads" -analog')) == {"2611.40003", "2611.40005"}
    assert set(found(ctx, "protein OR mice")) == {"2611.40003", "2611.40004"}
    assert found(ctx, "circuitt") == ["2611.40004"]  # authors are searched too
    assert found(ctx, "circuit", since=TODAY - timedelta(days=1), limit=2) == found(ctx, "circuit -mice")[:2]
    assert found(ctx, "nothing-like-this") == []


def test_equal_relevance_goes_to_the_trending_paper(ctx) -> None:
    ctx.papers.upsert(
        [
            make_paper(id=f"2611.5000{n}", title="Sparse codes", abstract="Same words.", upvotes=v)
            for n, v in enumerate([3, 90, 20])
        ]
    )
    assert found(ctx, "sparse codes") == ["2611.50001", "2611.50002", "2611.50000"]


def test_the_index_follows_updates(ctx) -> None:
    ctx.papers.upsert([make_paper(id="2611.60001", title="Old title about graphs", version=1)])
    assert found(ctx, "graphs") == ["2611.60001"]
    ctx.papers.upsert([make_paper(id="2611.60001", title="New title about lattices", version=2)])
    assert found(ctx, "graphs") == [] and found(ctx, "lattices") == ["2611.60001"]


def test_a_search_becomes_topics_and_exclusions() -> None:
    assert as_preferences(parse('"transformer circuits" -analog')) == (("transformer circuits",), ("analog",))
    assert as_preferences(parse("protein OR mice design")) == (("protein design", "mice design"), ())


@pytest.mark.parametrize("query", ["-analog", '""', "   ", "- OR"])
def test_a_query_with_nothing_to_look_for_is_refused(query) -> None:
    with pytest.raises(InputError, match="nothing to look for"):
        parse(query)


def test_hostile_queries_are_just_words(ctx) -> None:
    library(ctx)
    for query in ['circuit" OR "*', "circuit) NOT (x", "circuit'; DROP TABLE papers; --", "NEAR(a b)", "a:b circuit"]:
        ctx.search.search(parse(query))  # no syntax error reaches the user
    assert ctx.papers.count() == 5


# -- CLI -------------------------------------------------------------------------------------------------


def test_cli_search_and_trending_list(tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/c.db"\n', encoding="utf-8")
    feed = tmp_path / "hf.json"
    feed.write_text(
        json.dumps(
            [
                {
                    "paper": {
                        "id": f"2611.7000{n}",
                        "title": title,
                        "summary": "About circuits." if "ircuit" in title else "About proteins.",
                        "authors": [{"name": "A. Author"}],
                        "upvotes": votes,
                        "publishedAt": "2026-11-23T10:00:00.000Z",
                    },
                    "publishedAt": "2026-11-24T10:00:00.000Z",
                    "title": title,
                    "numComments": 0,
                }
                for n, (title, votes) in enumerate(
                    [("Circuit discovery", 12), ("Protein folding", 40), ("Analog circuits", 3)]
                )
            ]
        ),
        encoding="utf-8",
    )

    def run(*args: str):
        return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)

    assert run("db", "upgrade").exit_code == 0
    assert run("ingest", "--file", str(feed), "--format", "hf").exit_code == 0
    listed = json.loads(run("papers", "list", "--trending", "--json").stdout)
    assert [p["upvotes"] for p in listed] == [40, 12, 3]
    assert listed[0]["trending"] > listed[1]["trending"]
    result = run("papers", "search", "circuit -analog", "--json")
    assert result.exit_code == 0
    hits = json.loads(result.stdout)
    assert [h["title"] for h in hits] == ["Circuit discovery"] and isinstance(hits[0]["relevance"], float)
    assert "Circuit discovery" in run("papers", "search", "circuits", "--since", "2026-11-01").stdout
    unquoted = json.loads(run("papers", "search", "circuits", "-analog", "--json").stdout)
    assert [h["title"] for h in unquoted] == ["Circuit discovery"]
    refused = run("papers", "search", "-analog")
    assert refused.exit_code == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert "nothing to look for" in refused.stderr


# -- web -------------------------------------------------------------------------------------------------


@pytest.fixture
def client(ctx):
    return TestClient(create_app(ctx), base_url="https://testserver", follow_redirects=False)


def test_the_daily_papers_page_pages_by_day(ctx, client) -> None:
    hf_day(ctx)
    page = client.get("/")
    assert page.status_code == 200
    titles = re.findall(r'<h3><a href="[^"]+">([^<]+)</a>', page.text)
    assert titles[:3] == ["Paper 1 on circuits", "Paper 4 on circuits", "Paper 5 on circuits"]
    assert "Old favourite" not in page.text  # another day
    older = TODAY - timedelta(days=9)
    assert f'href="/?day={older}"' in page.text and "Get these papers in your inbox" in page.text
    page = client.get(f"/?day={older}")
    assert "Old favourite" in page.text and f'href="/?day={TODAY}"' in page.text
    assert client.get("/?day=nope").status_code == 404


def test_the_search_page_and_subscribing_to_a_search(ctx, client, smtp_server) -> None:
    library(ctx)
    page = client.get("/search", params={"q": "circuits -analog"})
    assert page.status_code == 200 and "Analog circuit sizing" not in page.text
    assert "Transformer circuits for indirect object identification" in page.text
    assert 'name="search" value="circuits -analog"' in page.text
    bad = client.get("/search", params={"q": "-analog"})
    assert bad.status_code == 400 and "nothing to look for" in bad.text
    hostile = client.get("/search", params={"q": "<script>alert(1)</script>"})
    assert hostile.status_code == 200 and "<script>alert(1)" not in hostile.text

    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    response = client.post("/subscribe", data={"csrf": token, "email": "s@example.com", "search": "circuits -analog"})
    assert response.status_code == 303 and "Check your inbox" in client.get(response.headers["location"]).text
    pending = ctx.subscribers.get("s@example.com")
    assert pending.status is Status.PENDING
    assert (pending.preferences.topics, pending.preferences.excluded) == (("circuits",), ("analog",))
    assert len(smtp_server.messages) == 1


def test_search_pages_through_results(ctx, client) -> None:
    ctx.papers.upsert([make_paper(id=f"2611.8{n:04d}", title=f"Graph study {n}") for n in range(45)])
    first = client.get("/search", params={"q": "graph"})
    assert first.text.count('class="paper"') == 20 and "page=2" in first.text
    third = client.get("/search", params={"q": "graph", "page": "3"})
    assert third.text.count('class="paper"') == 5 and "page=4" not in third.text and "page=2" in third.text
