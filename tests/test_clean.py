"""Entry hygiene: a clean paper passes as it is; a control character in any one of its texts is stripped."""

import pytest

from newsletter.config import IngestSettings
from newsletter.errors import FeedError
from newsletter.sources.clean import clean_paper
from tests.factories import make_paper

CAPS = IngestSettings()


def test_a_clean_paper_is_kept_as_it_is() -> None:
    paper = make_paper(authors=("Ada Lovelace", "Alan Turing"), categories=("cs.LG", "cs.AI"))
    assert clean_paper(paper, CAPS) is paper


def test_a_control_character_in_one_author_of_many_is_stripped_and_the_rest_kept() -> None:
    paper = make_paper(authors=("Ada Lovelace", "Alan\x00 Turing", "Grace Hopper"), categories=("cs.LG\x07",))
    cleaned = clean_paper(paper, CAPS)
    assert cleaned.authors == ("Ada Lovelace", "Alan Turing", "Grace Hopper")
    assert cleaned.categories == ("cs.LG",)
    assert cleaned.title == paper.title


def test_one_author_name_past_the_cap_is_named() -> None:
    paper = make_paper(authors=("Ada Lovelace", "A" * (CAPS.max_author_chars + 1)))
    with pytest.raises(FeedError, match="an author name longer than .*'ingest.max_author_chars'"):
        clean_paper(paper, CAPS)
