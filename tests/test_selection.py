"""Ranking on real papers: a phrase as a whole, what the background says a phrase means, feedback,
exclusions, followed authors, already-sent papers, the cap, the "why" as data and `preview --explain`.

The papers are real records of the shared corpus (tests/data/ranking_real.jsonl.gz, CC0): papers on
generative diffusion models (cs.CV), on diffusion in social networks (cs.SI, physics.soc-ph), on AI safety
and on jailbreaking language models (cs.CL, cs.AI). Candidates go in without categories, as Hugging Face
gives them.
"""

import gzip
import itertools
import json
import random
import sys
import threading
import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from newsletter import pipeline
from newsletter.cli import main
from newsletter.meaning import PhraseProfile, profile_from
from newsletter.message import Composer
from newsletter.models import DeliveryState, Paper, Preferences, Why
from newsletter.selection import DEFAULT_FLOOR, PARTIAL_SHARE, Index, Reader, explain, rank, rank_many, score_topic
from newsletter.selection.choosing import by_score, why_of
from newsletter.selection.choosing import picked as picked_of
from newsletter.selection.scoring import score_reader
from newsletter.selection.topics import SOLID_SUPPORT, median
from newsletter.sources.arxiv_metadata import parse_record
from newsletter.store.background import Background, as_written
from newsletter.words import _WORD_IDS, _WORDS, EMPTY_VOCABULARY, _word_id, analyse, stem, unit
from tests.factories import ISSUE, make_digest, make_paper, make_subscriber

REAL = "ranking_real.jsonl.gz"
GENERATIVE = ["2503.16302", "2503.15877", "2503.14558", "2503.15975"]
SOCIAL = ["2601.11338", "2506.04271", "2512.15371", "2605.28086"]
JAILBREAK = ["2503.20320", "2504.04976", "2506.16792", "2505.12287"]
GENERATIVE_BACKGROUND = [
    "2503.11905", "2503.12015", "2503.12213", "2503.12356", "2503.12652", "2503.12953",
    "2503.13576", "2503.14232", "2503.14325", "2503.14489", "2503.14654", "2503.14863",
    "2503.12401", "2503.12758", "2503.13211", "2503.13859", "2503.13985", "2503.14868",
    "2503.14966", "2503.15197",
]  # fmt: skip
SOCIAL_BACKGROUND = [
    "2510.18280", "2510.27165", "2511.10384", "2512.04639", "2601.16233", "2602.03620",
    "2602.18088", "2603.09148", "2603.14895", "2605.04199", "2605.20454", "2605.21514",
    "2605.09197", "2606.18264", "2607.15989", "2608.16923", "2608.17489", "2511.03378",
    "2511.04453", "2512.09974",
]  # fmt: skip
SAFETY_BACKGROUND = [
    "2503.22115", "2504.02310", "2504.18041", "2505.10066", "2505.13500", "2505.21344",
    "2505.23856", "2505.24119", "2506.00195", "2506.04679", "2506.11083", "2506.17846",
]  # fmt: skip


@pytest.fixture(scope="module")
def real(request) -> dict[str, Paper]:
    path = Path(request.config.rootpath) / "tests" / "data" / REAL
    with gzip.open(path, "rb") as lines:
        papers = [parse_record(line, f"{REAL}:{n}") for n, line in enumerate(lines, start=1)]
    return {p.id: p for p in papers}


def candidates(real: dict[str, Paper], ids: list[str]) -> list[Paper]:
    """As a daily feed brings them: no categories, announced on the issue day, not background."""
    return [replace(real[i], categories=(), primary_category=None, announced=ISSUE, background=False) for i in ids]


def picked(picks) -> list[str]:
    return [p.paper.id for p in picks]


def test_stemming_meets_plural_and_gerund() -> None:
    assert stem("circuits") == stem("circuit")
    assert stem("learning") == stem("learn")
    assert stem("studies") == stem("study")


def test_cold_the_phrase_as_a_whole_decides_between_fields(real) -> None:
    index = Index(candidates(real, GENERATIVE + SOCIAL))
    models = rank(make_subscriber(topics=("diffusion models",), max_items=4), index)
    assert set(picked(models)) == set(GENERATIVE)
    networks = rank(make_subscriber(topics=("diffusion on networks",), max_items=4), index)
    assert len(networks) >= 2 and set(picked(networks)) <= set(SOCIAL)


def test_a_shared_word_alone_does_not_outrank_the_whole_phrase() -> None:
    interp = make_paper(
        title="Sparse feature circuits in transformer language models",
        abstract="Mechanistic interpretability finds circuits in transformer language models.",
    )
    analog = make_paper(
        title="A low-power analog circuit for voltage regulation",
        abstract="We design an analog circuit. The circuit uses a new circuit topology; circuit area is small.",
    )
    picks = rank(make_subscriber(topics=("circuits in transformer language models",)), Index([interp, analog]))
    assert picked(picks)[0] == interp.id
    assert len(picks) == 1 or picks[1].score < picks[0].score / 2


def import_background(ctx, tmp_path, real, ids: list[str]) -> None:
    """The product's own import of these records as background papers."""
    path = tmp_path / "background.jsonl"
    with gzip.open(Path(__file__).parent / "data" / REAL, "rt", encoding="utf-8") as lines:
        chosen = [line for line in lines if json.loads(line)["id"] in set(ids)]
    path.write_text("".join(chosen), encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "{ctx.settings.database.url}"\n', encoding="utf-8")
    result = CliRunner().invoke(
        main, ["--config", str(config), "ingest", "--file", str(path), "--format", "arxiv-metadata"]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("background", "meant"), [(SOCIAL_BACKGROUND, SOCIAL), (GENERATIVE_BACKGROUND, GENERATIVE)], ids=["social", "gen"]
)
def test_the_background_says_what_an_ambiguous_word_means(ctx, tmp_path, real, background, meant) -> None:
    batch = candidates(real, GENERATIVE + SOCIAL)
    reader = make_subscriber(topics=("diffusion",), max_items=4)
    cold = picked(rank(reader, Index(batch)))
    import_background(ctx, tmp_path, real, background)
    picks = rank(reader, Index(batch, ctx.meanings.vocabulary()), profiles=ctx.meanings.profiles(["diffusion"], ISSUE))
    assert picked(picks)[0] in meant
    # More of the papers in the background's sense than cold (unless cold already had them all).
    assert len(set(picked(picks)) & set(meant)) > len(set(cold) & set(meant)) or set(cold) == set(meant)
    why = picks[0].why
    assert why.kind == "topic" and why.subject == "diffusion" and "diffusion" in [w.lower() for w in why.words]
    assert why.evidence.startswith("like papers on ")


def test_the_background_asks_for_the_phrase_with_its_inner_function_words(ctx) -> None:
    """Without "based", "agent-based modeling" is "agent modeling", another phrase (modeling an agent);
    a function word at the ends binds nothing and is dropped."""
    population = [
        make_paper(title=f"An agent-based model of {place}", abstract=f"Agent-based modeling of traffic in {place}.")
        for place in ("a city", "a port", "a market")
    ]
    other = [
        make_paper(title=f"Opponent agent modeling in {game}", abstract="Agent modeling predicts the opponent.")
        for game in ("poker", "chess", "go")
    ]
    ctx.papers.upsert([replace(p, background=True) for p in population + other])
    assert as_written("agent-based modeling") == ("agent", "based", "modeling")
    assert as_written("the agent-based modeling of") == ("agent", "based", "modeling")
    assert {p.id for p in Background(ctx.db).neighbours("agent-based modeling")} == {p.id for p in population}
    assert {p.id for p in Background(ctx.db).neighbours("agent modeling")} == {p.id for p in other}


def test_a_profile_tighter_than_any_paper_still_tells_papers_apart() -> None:
    """A profile learned from a few papers fits them closer than any paper of the day can be: among the
    papers holding the phrase's words, the day's closest then counts as a full match, instead of every paper
    counting as none. A paper holding none of its words counts only as close as the profile's own papers
    are: the day's closest paper of a day without the topic is no match."""
    near = make_paper(title="Analog netlist sizing of operational amplifiers", abstract="Transistor sizing.")
    far = make_paper(title="Qubit gates on a chip", abstract="Superconducting qubit gates and their fidelity.")
    filler = [make_paper(title=f"Topic {n} of galaxies", abstract="Stars and gas in galaxies.") for n in range(3)]
    index = Index([near, far, *filler])
    terms = unit({stem("netlist"): 2.0, stem("sizing"): 2.0, stem("amplifiers"): 1.0})
    profile = PhraseProfile("analog design", terms, 0.99, {}, 3)
    scores = score_topic(index, "analog design", profile)
    assert scores.background[0] == 1.0 and scores.background[1] == 0.0
    assert scores.scores[0] > scores.scores[1]
    wordless = replace(near, title="Netlist sizing of operational amplifiers")  # neither "analog" nor "design"
    alone = score_topic(Index([wordless, far, *filler]), "analog design", profile)
    assert 0.0 < alone.background[0] < 1.0 and alone.lexical[0] == 0.0  # as close as it is, not lifted to 1
    # Learned from one paper, a profile alone is no reason to pick any paper (a reader of "single string" got
    # ten papers holding neither word).
    thin = replace(profile, support=1)
    assert score_topic(Index([wordless, far, *filler]), "analog design", thin).scores.max() < DEFAULT_FLOOR


def test_a_paper_with_some_of_the_phrase_counts_its_words_as_far_as_the_profile_agrees() -> None:
    whole = make_paper(title="Analog circuit design with netlists", abstract="Sizing analog circuits.")
    near = make_paper(title="Circuit design by netlist sizing", abstract="Amplifier netlist sizing for circuits.")
    far = make_paper(title="Quantum circuit design", abstract="Qubit gates and their circuit design.")
    filler = [make_paper(title=f"Topic {n} of galaxies", abstract="Stars and gas in galaxies.") for n in range(4)]
    index = Index([whole, near, far, *filler])
    cold = score_topic(index, "analog circuit design")
    terms = unit({stem("netlist"): 2.0, stem("sizing"): 2.0, stem("amplifier"): 1.0})
    warm = score_topic(index, "analog circuit design", PhraseProfile("analog circuit design", terms, 0.5, {}, 9))
    assert warm.lexical[0] == cold.lexical[0]  # the whole phrase: its words count in full
    assert warm.background[1] == 1.0 and warm.lexical[1] == cold.lexical[1]  # the profile agrees
    assert warm.background[2] == 0.0 and warm.lexical[2] == pytest.approx(PARTIAL_SHARE * cold.lexical[2])


def test_cold_the_word_alone_is_ambiguous(real) -> None:
    picks = rank(make_subscriber(topics=("diffusion",), max_items=4), Index(candidates(real, GENERATIVE + SOCIAL)))
    assert set(picked(picks)) != set(GENERATIVE) and set(picked(picks)) != set(SOCIAL)


def test_background_finds_papers_that_never_say_the_phrase(ctx, tmp_path, real) -> None:
    """No jailbreak paper says "safety": cold they are not picked; the safety papers of the background
    say what the phrase is about, and they are."""
    batch = candidates(real, JAILBREAK + GENERATIVE + SOCIAL)
    assert not any("safety" in f"{p.title} {p.abstract}".lower() for p in candidates(real, JAILBREAK))
    reader = make_subscriber(topics=("AI safety",), max_items=4)
    assert not set(picked(rank(reader, Index(batch)))) & set(JAILBREAK)

    import_background(ctx, tmp_path, real, SAFETY_BACKGROUND + GENERATIVE_BACKGROUND + SOCIAL_BACKGROUND)
    profiles = ctx.meanings.profiles(["AI safety"], ISSUE)
    assert profiles["AI safety"].support == len(SAFETY_BACKGROUND)
    picks = rank(reader, Index(batch, ctx.meanings.vocabulary()), profiles=profiles)
    assert set(picked(picks)) == set(JAILBREAK)
    assert "safety" not in picks[0].why.words  # the background, not the word, is the reason
    assert "papers on cs." in picks[0].why.evidence


def test_a_day_without_the_topic_is_not_filled_with_the_nearest_papers(ctx, tmp_path, real) -> None:
    """The background knows what "AI safety" is about, but the day's papers are diffusion models and social
    networks: none is close to it, so none is picked for it (the day's closest paper used to count as a full
    match, and filled the digest with whatever came nearest)."""
    import_background(ctx, tmp_path, real, SAFETY_BACKGROUND + GENERATIVE_BACKGROUND + SOCIAL_BACKGROUND)
    batch = candidates(real, GENERATIVE + SOCIAL)
    profiles = ctx.meanings.profiles(["AI safety"], ISSUE)
    reader = make_subscriber(topics=("AI safety",), max_items=10)
    picks = rank(reader, Index(batch, ctx.meanings.vocabulary()), profiles=profiles)
    assert [p for p in picks if not p.why.words] == []  # nothing picked for the background alone


def test_feedback_moves_papers(real) -> None:
    index = Index(candidates(real, GENERATIVE + SOCIAL))
    reader = make_subscriber(topics=("diffusion",), max_items=8)
    plain = [p.paper.id for p in rank(reader, index)]
    liked = rank(reader, index, liked=[real["2503.12652"]])  # a generative model from the background set
    disliked = rank(reader, index, disliked=[real["2503.12652"]])
    mean_place = lambda order: sum(order.index(i) for i in GENERATIVE) / len(GENERATIVE)  # noqa: E731
    assert mean_place(picked(liked)) < mean_place(plain) < mean_place(picked(disliked))
    assert len(set(picked(liked)[:4]) & set(GENERATIVE)) >= 3


def test_liked_paper_alone_brings_similar_ones(real) -> None:
    reader = make_subscriber(preferences=Preferences(liked=("2510.27165",)), max_items=3)
    picks = rank(reader, Index(candidates(real, GENERATIVE + SOCIAL)), liked=[real["2510.27165"]])
    assert picks and set(picked(picks)) <= set(SOCIAL)
    assert picks[0].why.kind == "liked" and picks[0].why.text.startswith("like 'Structure-Aware Optimal")


def test_exclusion_removes_and_explain_says_so(real) -> None:
    index = Index(candidates(real, GENERATIVE + SOCIAL))
    reader = make_subscriber(topics=("diffusion",), excluded=("social networks",), max_items=8)
    mentions = [i for i in SOCIAL if "social network" in f"{real[i].title} {real[i].abstract}".lower()]
    assert mentions
    assert not set(picked(rank(reader, index))) & set(mentions)
    rows = {r.paper.id: r for r in explain(reader, index, top=len(index.docs))}
    assert all(rows[i].excluded and not rows[i].picked for i in mentions)


def test_explain_lists_the_parts_of_every_score(real) -> None:
    index = Index(candidates(real, GENERATIVE + SOCIAL))
    reader = make_subscriber(topics=("diffusion models",), max_items=3)
    rows = explain(reader, index, top=6, liked=[real["2503.12652"]])
    assert len(rows) == 6 and [r.picked for r in rows] == [True] * 3 + [False] * 3
    assert [r.paper.id for r in rows[:3]] == picked(rank(reader, index, liked=[real["2503.12652"]]))
    assert all(r.topic == "diffusion models" and r.lexical > 0 and r.feedback > 0 for r in rows[:3])
    assert rows[0].score >= rows[-1].score and rows[0].background == 0  # cold: no background part


def test_preview_explain_prints_a_table_and_json(ctx, tmp_path, real) -> None:
    import_background(ctx, tmp_path, real, GENERATIVE_BACKGROUND)
    ctx.papers.upsert(candidates(real, GENERATIVE + SOCIAL))
    ctx.subscribers.add(make_subscriber(email="ada@example.com", topics=("diffusion",), max_items=4))
    config = tmp_path / "c.toml"
    run = lambda *a: CliRunner().invoke(main, ["--config", str(config), "preview", "ada@example.com", *a])  # noqa: E731
    table = run("--date", str(ISSUE), "--explain")
    assert table.exit_code == 0, table.output
    assert "lex" in table.output and "bg×0.6" in table.output and "lex: the topic's words" in table.output
    # Every stored paper informs the ranker: the day's papers are among those that use the word too.
    assert "what 'diffusion' means: like papers on cs.CV" in table.output
    assert "the best 8 candidates, 4 of them picked" in table.output
    assert "trending" not in table.output
    # The message itself as JSON (it printed the HTML, --json or not).
    message = json.loads(run("--date", str(ISSUE), "--json").stdout)
    assert message["to"] == "ada@example.com" and message["subject"].startswith("4 new papers on diffusion")
    assert "<html" in message["html"] and "diffusion" in message["text"]
    both = run("--date", str(ISSUE), "--json", "--out", str(tmp_path / "x.html"))
    assert both.exit_code == 1 and "does not go with --out" in both.stderr and not (tmp_path / "x.html").exists()
    ctx.subscribers.add(make_subscriber(id=2, email="any@example.com", topics=()))
    plain = CliRunner().invoke(main, ["--config", str(config), "preview", "any@example.com", "--explain"])
    assert "the digest is the day's trending papers" in plain.output
    out = run("--date", str(ISSUE), "--explain", "--json", "--top", "5")
    rows = json.loads(out.stdout)
    assert len(rows) == 5 and {r["id"] for r in rows if r["picked"]} == set(GENERATIVE)
    assert all(r["background"] > 0 for r in rows[:4])
    assert rows[0]["why"]["kind"] == "topic" and rows[0]["why"]["subject"] == "diffusion"
    assert "already made" not in table.output
    # Once the issue is made for the reader, --explain (today's scores) says so beside `preview` (as made).
    ada = ctx.subscribers.get("ada@example.com")
    ctx.archive.record_digest(pipeline.build_digest(ctx, ada, ISSUE), DeliveryState.PENDING)
    made = run("--date", str(ISSUE), "--explain")
    assert f"issue {ISSUE} is already made for ada@example.com (pending)" in made.output


def test_why_is_escaped_and_marks_the_words_in_the_title() -> None:
    paper = make_paper(title='Diffusion <script>alert(1)</script> & "models"', abstract="diffusion models")
    reader = make_subscriber(topics=("diffusion <models>",), max_items=1)
    (pick,) = rank(reader, Index([paper]))
    assert pick.why == Why("topic", "diffusion <models>", ("diffusion", "models"))
    message = Composer(make_settings()).compose(make_digest([paper], reader, picks=(pick,)))
    assert "<script>" not in message.html and "<models>" not in message.html
    assert (
        '<strong class="hit" style="background-color:#fff0b3">Diffusion</strong> &lt;script&gt;alert(1)&lt;/script&gt;'
        ' &amp; &#34;<strong class="hit" style="background-color:#fff0b3">models</strong>' in message.html
    )
    assert "your topic “diffusion &lt;models&gt;”: diffusion, models" in message.html
    assert "Why: your topic 'diffusion <models>' (diffusion, models)" in message.text


def make_settings():
    from tests.conftest import base_settings

    return base_settings()


def test_why_survives_the_archive_and_old_reasons_stay_readable() -> None:
    why = Why("topic", "AI safety", ("alignment",), "like 50 papers on cs.CL, cs.AI")
    assert Why.from_json(why.to_json()) == why
    assert Why.from_json("matches your topic 'x'") == Why("note", evidence="matches your topic 'x'")
    assert Why.from_json("matches your topic 'x'").text == "matches your topic 'x'"


def test_followed_author_always_surfaces() -> None:
    paper = make_paper(title="Something else entirely", authors=("Jane Q. Doe", "X Y"))
    reader = make_subscriber(topics=("quantum error correction",), authors=("jane q doe",))
    picks = rank(reader, Index([make_paper(), paper]))
    assert picked(picks) == [paper.id]
    assert picks[0].why.text == "by jane q doe, whom you follow"


def test_already_sent_never_comes_back_but_a_newer_version_does_once(real) -> None:
    index = Index([replace(p, version=2) for p in candidates(real, GENERATIVE)])
    reader = make_subscriber(topics=("diffusion models",))
    first = GENERATIVE[0]
    assert first in picked(rank(reader, index))
    assert first not in picked(rank(reader, index, already_sent={first}))
    newer = rank(reader, index, already_sent={first: 1})
    assert next(p for p in newer if p.paper.id == first).updated
    assert first not in picked(rank(reader, index, already_sent={first: 2}))


def test_cap_and_min_score(real) -> None:
    index = Index(candidates(real, GENERATIVE + SOCIAL))
    assert len(rank(make_subscriber(topics=("diffusion",), max_items=3), index)) == 3
    assert rank(make_subscriber(topics=("diffusion",), min_score=1.0), index) == []


def test_categories_only_reader_gets_that_category() -> None:
    in_cat = make_paper(categories=("q-bio.NC",))
    reader = make_subscriber(preferences=Preferences(categories=("q-bio.NC",)))
    picks = rank(reader, Index([in_cat, make_paper(categories=("cs.LG",))]))
    assert picked(picks) == [in_cat.id]
    assert picks[0].why == Why("category", "q-bio.NC")


def test_no_preferences_means_trending() -> None:
    low, high, none = make_paper(upvotes=3), make_paper(upvotes=50), make_paper(upvotes=None)
    picks = rank(make_subscriber(preferences=Preferences(), max_items=2), Index([low, high, none]))
    assert picked(picks) == [high.id, low.id]
    assert picks[0].why.text == "trending: ▲ 50 upvotes on Hugging Face"
    assert not any(p.trending for p in picks)  # the digest itself, not an extra section


def test_nothing_relevant_gives_nothing(real) -> None:
    index = Index(candidates(real, GENERATIVE + SOCIAL))
    assert rank(make_subscriber(topics=("quantum chromodynamics lattice",)), index) == []


def test_topic_scores_are_shared_between_readers(real) -> None:
    index = Index(candidates(real, GENERATIVE + SOCIAL))
    cache: dict = {}
    first = rank(make_subscriber(topics=("diffusion models",)), index, topic_scores=cache)
    second = rank(make_subscriber(id=2, topics=("diffusion models",), max_items=1), index, topic_scores=cache)
    assert [k for k in cache if isinstance(k, str)] == ["diffusion models"]
    assert picked(second) == picked(first)[:1]
    # A third reader with the first one's exact preferences reuses the picks themselves.
    third = rank(make_subscriber(id=3, topics=("diffusion models",)), index, topic_scores=cache)
    assert third is first


def test_a_reader_of_topics_gets_exactly_what_scoring_every_paper_gives(real) -> None:
    """rank() walks a topics-only reader's topics best first and stops early; scoring every paper and
    taking the best (score_reader, the path of readers with feedback or authors) must give the same
    picks, scores, reasons and order, ties on score and on votes included."""
    rng = random.Random(11)
    # Each real paper three times over (the copies tie on every score): enough papers that readers of up to
    # five topics are ranked from their shortlists, not by scoring every paper.
    papers = [
        replace(p, id=f"{p.id}{copy}", upvotes=rng.choice([0, 0, 3, 7]))
        for copy in ("", "1", "2")
        for p in real.values()
    ]
    index = Index(papers)
    words = [w for p in papers for _, w in analyse(p.title)]
    pool = list(dict.fromkeys([*(f"{a} {b}" for a, b in itertools.pairwise(words)), *words]))  # a fixed order
    profiles = {
        phrase: profile
        for phrase in rng.sample(pool, 40)
        if (profile := profile_from(phrase, rng.sample(papers, 8), EMPTY_VOCABULARY)) is not None
    }
    cache: dict = {}
    walked = 0
    for n in range(600):
        # Phrases with profiles, or cold ones only (their scores tie at 0 for most papers).
        topics = tuple(
            rng.sample(rng.choice([[*profiles, *rng.sample(pool, 5)], rng.sample(pool, 6)]), rng.randint(1, 4))
        )
        # Sent as they are, or an older version (then they come back once, marked updated).
        sent = {
            p.id: rng.choice([p.version, (p.version or 2) - 1]) for p in rng.sample(papers, rng.choice([0, 0, 3, 20]))
        }
        reader = make_subscriber(
            id=n,
            topics=topics,
            excluded=rng.choice([(), (), (rng.choice(words),)]),
            max_items=rng.randint(1, 12),
            min_score=rng.choice([None, None, 0.0, 0.0, 0.3, 1.2]),
        )
        fast = rank(reader, index, sent, topic_scores=cache, profiles=profiles)
        scored = score_reader(reader, index, sent, DEFAULT_FLOOR, {}, profiles, (), ())
        slow = [
            (index.docs[i].paper.id, min(float(scored.score[i]), 1.0), why_of(scored, index, i), i in scored.revised)
            for i in picked_of(scored, reader.max_items, index)
        ]
        assert [(p.paper.id, p.score, p.why, p.updated) for p in fast] == slow, topics
        walked += bool(slow)
    assert walked > 200


def test_each_topic_of_a_reader_leads_with_its_best_paper(real) -> None:
    """Scores of different phrases are not on one scale ("diffusion models" gives dozens of papers a full
    score, "jailbreak" its best a lower one): each topic's best paper comes among the first, the best first."""
    index = Index(candidates(real, list(real)))

    def scored_ids(reader) -> list[str]:
        scored = score_reader(reader, index, frozenset(), DEFAULT_FLOOR, {}, {}, (), ())
        return [index.docs[i].paper.id for i in by_score(scored, reader.max_items, index)]

    two = make_subscriber(topics=("diffusion models", "jailbreak"), max_items=3)
    assert all("diffusion model" in real[i].title.lower() for i in scored_ids(two))  # one topic takes all
    picks = rank(two, index)
    assert [p.why.subject for p in picks[:2]] == ["diffusion models", "jailbreak"]
    assert picks[0].paper.id == scored_ids(two)[0] and "jailbreak" in picks[1].paper.title.lower()
    rows = explain(two, index, top=len(index.docs))
    assert {r.paper.id for r in rows if r.picked} == set(picked(picks))
    # Picks by score that already lead with both topics stay as they are.
    covered = make_subscriber(topics=("diffusion", "safety"), max_items=3)
    picks = rank(covered, index)
    assert {p.why.subject for p in picks[:2]} == {"diffusion", "safety"} and picked(picks) == scored_ids(covered)


def test_readers_ranked_together_get_what_each_gets_alone(real) -> None:
    """A send ranks a batch of readers at once (rank_many): readers of topics alone together, the others
    one by one; each must get what rank() gives them alone, and alike new readers the same picks."""
    papers = list(real.values())
    index = Index(papers)
    liked = papers[:1]
    readers = [
        Reader(make_subscriber(id=1, topics=("diffusion models", "social networks"))),
        Reader(make_subscriber(id=2, topics=("jailbreak",), max_items=3)),
        Reader(make_subscriber(id=3, topics=("diffusion models", "social networks"))),  # as reader 1
        Reader(make_subscriber(id=4, topics=("language models", "safety", "image generation"), min_score=0.3)),
        Reader(make_subscriber(id=5, topics=("diffusion models",), categories=("cs.SI",))),
        Reader(make_subscriber(id=6, topics=(), authors=(papers[3].authors[0],))),
        Reader(make_subscriber(id=7, topics=("diffusion",)), liked=liked),
        Reader(make_subscriber(id=8, topics=())),
        Reader(make_subscriber(id=9, topics=("diffusion models", "social networks")), {papers[0].id: None}),
        Reader(make_subscriber(id=10, topics=("safety", "jailbreak"), excluded=("refusal",), trending_items=2)),
    ]
    together = rank_many(readers, index)
    alone = [rank(r.subscriber, index, r.already_sent, liked=r.liked, disliked=r.disliked) for r in readers]
    assert together == alone
    assert together[2] is together[0]
    assert all(together[n] for n in (0, 1, 3, 4, 5, 6, 7, 9))


def test_words_met_by_many_threads_at_once_keep_one_number_each() -> None:
    """Web requests rank in threads: each new word must get one number, and each number name one word (a
    race made two numbers for one word, or one number for two, here in nearly every run without the lock)."""
    words = [f"zz{n}race" for n in range(20000)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=lambda: [_word_id(w) for w in words]) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert len(_WORDS) == len(_WORD_IDS)
    assert all(_WORDS[_WORD_IDS[w]] == w for w in words)


def test_readers_of_many_topics_are_ranked_a_few_at_a_time(real) -> None:
    """A reader of t topics weighs t x t x 32 scores among the shortlists: 50 readers of 100 topics each, all
    at once, took about a gigabyte; a few at a time, a bounded amount, and the picks are the same."""
    papers = [replace(p, id=f"{p.id}{copy}") for copy in range(60) for p in real.values()]
    index = Index(papers)
    words = list(dict.fromkeys(w for p in real.values() for _, w in analyse(p.title)))
    rng = random.Random(5)
    readers = [Reader(make_subscriber(id=n, topics=tuple(rng.sample(words, 100)))) for n in range(50)]
    cache: dict = {}
    for reader in readers[:2]:  # the topics' scores, shared, are not what is measured
        rank(reader.subscriber, index, topic_scores=cache)
    tracemalloc.start()
    try:
        together = rank_many(readers, index, topic_scores=dict(cache))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 150 * 2**20
    scored = [score_reader(r.subscriber, index, frozenset(), DEFAULT_FLOOR, cache, {}, (), ()) for r in readers[:5]]
    assert [[p.paper.id for p in picks] for picks in together[:5]] == [
        [index.docs[i].paper.id for i in picked_of(s, 10, index)] for s in scored
    ]


def test_median_is_numpys_to_the_bit() -> None:
    rng = np.random.default_rng(7)
    # np.partition leaves the element below the middle in place for most sizes, not all (330, 366, ...).
    for n in [*range(1, 40), *range(300, 460), 1144, 4097]:
        for values in (
            rng.random(n),
            rng.random(n) * 1e-9,
            np.round(rng.random(n), 1),  # ties
            np.where(rng.random(n) < 0.8, 0.0, rng.random(n)),  # mostly exact zeros, as cosines are
            -np.where(rng.random(n) < 0.5, 0.0, rng.random(n)),  # -0.0 among them
        ):
            assert repr(median(values)) == repr(float(np.median(values))), (n, values)


def test_a_word_shared_with_another_field_does_not_pad_the_digest(ctx) -> None:
    """The demo's analog designer gets her field's papers, which match her phrases whole, and not the
    interpretability papers that share only "circuits" with them: those scored a tenth of hers and filled
    her digest, each said to match her topic."""
    from newsletter import pipeline
    from newsletter.demo import SAMPLE_FEED

    pipeline.ingest_file(ctx, SAMPLE_FEED, "hf")
    papers = ctx.papers.list()
    topics = ("analog circuit design", "low-dropout regulator", "mixed-signal ADC")
    reader = make_subscriber(topics=topics, max_items=10)
    profiles = ctx.meanings.profiles(topics, ISSUE)
    picks = rank(reader, Index(papers, ctx.meanings.vocabulary()), profiles=profiles)
    titles = [p.paper.title for p in picks]
    assert any("Low-Dropout Regulator" in t for t in titles) and any("Analog Circuits" in t for t in titles)
    assert not [t for t in titles if "Language Models" in t or "Grokking" in t]
    # A profile of a few stored papers is no evidence to show a reader ("like 1 paper" was on every pick).
    thin = {t for t, profile in profiles.items() if profile.support < SOLID_SUPPORT}
    assert thin and [p.why.evidence for p in picks if p.why.subject in thin] == [""] * len(
        [p for p in picks if p.why.subject in thin]
    )


def test_a_paper_the_reader_asked_fewer_of_is_never_picked_again(real) -> None:
    # A reader trial: "Fewer like this" on the preview's first paper left it first.
    index = Index(candidates(real, GENERATIVE + SOCIAL))
    reader = make_subscriber(topics=("diffusion",), max_items=8)
    first = rank(reader, index)[0].paper
    assert first.id not in [p.paper.id for p in rank(reader, index, disliked=[first])]
    assert first.id in [p.paper.id for p in rank(reader, index, liked=[first])]
    trending = make_subscriber(topics=(), max_items=8)  # no preferences: the day's trending papers
    top = rank(trending, index)[0].paper
    assert top.id not in [p.paper.id for p in rank(trending, index, disliked=[top])]


def test_a_topic_of_function_words_picks_nothing_for_itself(ctx) -> None:
    # A reader trial's topic "the" got "Why: your topic 'the' (like 30 papers)": every stored paper uses it.
    from newsletter import pipeline
    from newsletter.demo import SAMPLE_FEED

    pipeline.ingest_file(ctx, SAMPLE_FEED, "hf")
    papers = ctx.papers.list()
    assert ctx.meanings.profiles(["the", "new results"], ISSUE) == {}
    reader = make_subscriber(topics=("the", "new results"), max_items=5)
    picks = rank(
        reader,
        Index(papers, ctx.meanings.vocabulary()),
        profiles=ctx.meanings.profiles(reader.preferences.topics, ISSUE),
    )
    assert [p for p in picks if p.why.kind == "topic"] == []
