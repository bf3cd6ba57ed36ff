"""Ranking: phrases as a whole, exclusions, followed authors, already-sent papers, the cap and the why."""

from newsletter.models import Preferences
from newsletter.selection import Index, rank, stem
from tests.factories import make_paper, make_subscriber

INTERP = make_paper(
    title="Sparse feature circuits in transformer language models",
    abstract="Mechanistic interpretability finds circuits in transformer language models with sparse autoencoders.",
)
ANALOG = make_paper(
    title="A low-power analog circuit for voltage regulation",
    abstract="We design an analog circuit. The circuit uses a new circuit topology; circuit area is small.",
)
NEURO = make_paper(
    title="Hippocampal circuits support memory consolidation",
    abstract="Neural circuits in the hippocampus replay experience during sleep in rodents.",
)
OTHER = make_paper(title="Diffusion policies for robot manipulation", abstract="Robots learn from demonstrations.")
ALL = [INTERP, ANALOG, NEURO, OTHER]


def ids(picks):
    return [p.paper.id for p in picks]


def test_stemming_meets_plural_and_gerund() -> None:
    assert stem("circuits") == stem("circuit")
    assert stem("learning") == stem("learn")
    assert stem("studies") == stem("study")


def test_whole_phrase_beats_a_shared_ambiguous_word() -> None:
    reader = make_subscriber(topics=("circuits in transformer language models",))
    picks = rank(reader, Index(ALL))
    assert ids(picks)[0] == INTERP.id
    assert ANALOG.id not in ids(picks), "sharing only 'circuit' must not be enough"


def test_each_field_gets_its_own_papers() -> None:
    index = Index(ALL)
    chip = rank(make_subscriber(topics=("analog circuit design",)), index)
    brain = rank(make_subscriber(topics=("neural circuits hippocampus",)), index)
    assert ids(chip) == [ANALOG.id]
    assert ids(brain)[0] == NEURO.id and INTERP.id not in ids(brain)


def test_why_names_the_topic_and_the_words() -> None:
    picks = rank(make_subscriber(topics=("analog circuit design",)), Index(ALL))
    assert picks[0].why.startswith("matches your topic 'analog circuit design' (title: 'analog', 'circuit'")
    assert 0 < picks[0].score <= 1


def test_exclusion_removes() -> None:
    reader = make_subscriber(topics=("circuits",), excluded=("analog circuit",))
    assert ANALOG.id not in ids(rank(reader, Index(ALL)))


def test_followed_author_always_surfaces() -> None:
    paper = make_paper(title="Something else entirely", authors=("Jane Q. Doe", "X Y"))
    reader = make_subscriber(topics=("quantum error correction",), authors=("jane q doe",))
    picks = rank(reader, Index([*ALL, paper]))
    assert ids(picks) == [paper.id]
    assert picks[0].why == "by jane q doe, whom you follow"


def test_already_sent_never_comes_back() -> None:
    reader = make_subscriber(topics=("circuits in transformer language models",))
    assert INTERP.id not in ids(rank(reader, Index(ALL), already_sent={INTERP.id}))


def test_cap_and_min_score() -> None:
    papers = [make_paper(title=f"Circuits number {i}", abstract="circuits") for i in range(15)]
    assert len(rank(make_subscriber(topics=("circuits",), max_items=4), Index(papers))) == 4
    assert rank(make_subscriber(topics=("circuits",), min_score=1.0), Index(papers)) == []


def test_categories_only_reader_gets_that_category() -> None:
    in_cat = make_paper(categories=("q-bio.NC",))
    reader = make_subscriber(preferences=Preferences(categories=("q-bio.NC",)))
    picks = rank(reader, Index([in_cat, make_paper(categories=("cs.LG",))]))
    assert ids(picks) == [in_cat.id]
    assert "q-bio.NC" in picks[0].why


def test_no_preferences_means_trending() -> None:
    low, high, none = make_paper(upvotes=3), make_paper(upvotes=50), make_paper(upvotes=None)
    picks = rank(make_subscriber(preferences=Preferences(), max_items=2), Index([low, high, none]))
    assert ids(picks) == [high.id, low.id]
    assert picks[0].why == "trending: ▲ 50 upvotes on Hugging Face"
    assert not any(p.trending for p in picks)  # the digest itself, not an extra section


def test_nothing_relevant_gives_nothing() -> None:
    assert rank(make_subscriber(topics=("quantum chromodynamics lattice",)), Index(ALL)) == []


def test_liked_paper_brings_similar_ones() -> None:
    liked = make_paper(title="Hippocampal replay during sleep", abstract="Neural circuits in the hippocampus replay.")
    reader = make_subscriber(preferences=Preferences(liked=(liked.id,)))
    picks = rank(reader, Index(ALL), liked=[liked])
    assert ids(picks)[0] == NEURO.id
    assert picks[0].why == "like 'Hippocampal replay during sleep', which you liked"


def test_disliked_paper_pushes_similar_ones_down() -> None:
    reader = make_subscriber(topics=("circuits",))
    plain = ids(rank(reader, Index(ALL)))
    assert plain.index(ANALOG.id) < len(plain)
    after = ids(rank(reader, Index(ALL), disliked=[ANALOG]))
    assert ANALOG.id not in after[:1]


def test_topic_scores_are_shared_between_readers() -> None:
    index = Index(ALL)
    cache: dict = {}
    first = rank(make_subscriber(topics=("analog circuit design",)), index, topic_scores=cache)
    second = rank(make_subscriber(id=2, topics=("analog circuit design",), max_items=1), index, topic_scores=cache)
    assert [k for k in cache if isinstance(k, str)] == ["analog circuit design"]
    assert ids(second) == ids(first)[:1]
    # A third reader with the first one's exact preferences reuses the picks themselves.
    third = rank(make_subscriber(id=3, topics=("analog circuit design",)), index, topic_scores=cache)
    assert third is first


def test_development_set_meets_the_goals() -> None:
    """The labeled dev set of `make eval` (held-out personas included) as a regression guard."""
    from benchmarks.eval_relevance import evaluate

    result = evaluate()
    assert result["mean precision@5"] >= 0.9
    assert result["min precision@5"] >= 0.8
    assert result["held-out mean precision@5"] >= 0.9
    assert result["off-field in top 5"] <= 2


def test_newer_version_of_a_sent_paper_is_marked_updated() -> None:
    reader = make_subscriber(topics=("circuits in transformer language models",))
    newer = rank(reader, Index(ALL), already_sent={INTERP.id: 0})
    assert newer[0].paper.id == INTERP.id and newer[0].updated
    assert INTERP.id not in ids(rank(reader, Index(ALL), already_sent={INTERP.id: 1}))
