"""Break opportunities in long words and URLs: where they go, and what they never touch (tags, entities,
combining marks, short words), on made-up edge cases and on real arXiv titles, abstracts and author lists."""

from __future__ import annotations

import gzip
import html
import itertools
import json
import re
from pathlib import Path

import pytest
from markupsafe import Markup, escape

from newsletter.latex import readable
from newsletter.wordbreak import BREAK, LONG, SPAN, breakable, linked

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "arxiv-metadata-100k.jsonl.gz"
ZWSP = "\u200b"


def segments(out: str) -> list[str]:
    """The visible runs a line may not break inside."""
    return [s for s in re.split(rf"[\s{ZWSP}]+", html.unescape(re.sub(r"<[^>]*>", "", out))) if s]


def test_short_words_are_only_escaped() -> None:
    text = "Sparse circuits & <b>friends</b>: " + "x" * LONG
    assert str(breakable(text)) == str(escape(text))


def test_a_long_word_breaks_at_most_every_span_characters() -> None:
    word = "W" * 60
    out = str(breakable(f"Scaling {word} models"))
    assert out.replace(BREAK, "") == f"Scaling {word} models"
    assert max(map(len, segments(out))) <= SPAN and out.count(BREAK) == 60 // SPAN


def test_urls_break_after_their_punctuation_never_between_the_slashes() -> None:
    text = "Code: https://github.com/an-organisation/a-long-name?ref=main&x=1 here"
    out = str(breakable(text))
    assert "https://" + BREAK in out and "/" + BREAK + "/" not in out
    assert "&amp;" + BREAK + "x=1" in out  # after the whole entity
    assert html.unescape(out).replace(ZWSP, "") == text


def test_escaping_comes_first_and_no_entity_or_tag_is_split() -> None:
    hostile = '<script>alert("x")</script>&&&' * 4
    out = str(breakable(hostile))
    assert "<script" not in out and html.unescape(out).replace(ZWSP, "") == hostile
    assert "&" not in re.sub(r"&(?:amp|lt|gt|#34|#39|#8203);", "", out)
    marked = Markup("Super<mark class='hit'>califragilistic</mark>expialidocious" * 2)
    out = str(breakable(marked))  # Markup (a highlight) keeps its tags, and its word still breaks
    assert re.findall(r"<[^>]*>", out) == re.findall(r"<[^>]*>", str(marked))
    assert max(map(len, segments(out))) <= SPAN


def test_no_break_before_a_combining_mark_and_breaking_twice_changes_nothing() -> None:
    word = "e\u0301" * 40  # é as e + COMBINING ACUTE ACCENT
    out = breakable(word)
    assert BREAK + "\u0301" not in str(out)
    assert breakable(out) == out and breakable(Markup(str(out).replace(BREAK, "<wbr>"))).count(BREAK) == 0


@pytest.mark.skipif(not CORPUS.exists(), reason=f"the arXiv corpus is not beside the repository ({CORPUS})")
def test_real_titles_abstracts_and_authors() -> None:
    """5,000 real arXiv records (their LaTeX made readable as in the digest): nothing lost or altered,
    every run short enough for a phone, and only long tokens touched."""
    touched = 0
    with gzip.open(CORPUS, "rt", encoding="utf-8") as lines:
        for line in itertools.islice(lines, 5_000):
            record = json.loads(line)
            for field in (record["title"], record["abstract"], record["authors"]):
                text = readable(" ".join(field.split()))
                out = str(breakable(text))
                assert html.unescape(out).replace(ZWSP, "") == text
                assert max(map(len, segments(out)), default=0) <= LONG, text
                if BREAK in out:
                    touched += 1
                    assert any(len(word) > LONG for word in text.split()), text
                    assert not re.search(BREAK + "[\u0300-\u036f]", out)
    assert touched > 250  # real text does have long tokens: the check above ran on them


def test_addresses_in_a_papers_text_become_links_to_the_address_as_written() -> None:
    # A reader trial copied an abstract's address with its zero-width spaces: a link to another path.
    text = "Code at https://github.com/some-organisation/a-long-repository-name?x=1&y=2. See (https://x.org/y) <b>"
    out = str(linked(text))
    hrefs = re.findall(r'href="([^"]*)"', out)
    assert [html.unescape(h) for h in hrefs] == [
        "https://github.com/some-organisation/a-long-repository-name?x=1&y=2",
        "https://x.org/y",
    ]
    assert BREAK in out.split(">", 2)[1], "the text shown still breaks on a phone"
    assert out.endswith(") &lt;b&gt;") and "<b>" not in out
    assert "<a" not in str(linked("javascript:alert(1) ftp://x.org/y <a href='x'>")), "http(s) only, escaped"
    assert str(linked('see https://a.org/"><script>x', breaks=False)) == (
        'see <a href="https://a.org/">https://a.org/</a>&#34;&gt;&lt;script&gt;x'
    )


def test_a_link_ends_where_the_address_does() -> None:
    # A review found 45 of the corpus's 9,840 addresses linked with a bracket of the sentence or of Markdown.
    def hrefs(text: str) -> list[str]:
        return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', str(linked(text, breaks=False)))]

    assert hrefs("[https://github.com/a/b](https://github.com/a/b)") == ["https://github.com/a/b"]
    assert hrefs("see https://x.org/?id=3]. and {https://a.org/web}") == ["https://x.org/?id=3", "https://a.org/web"]
    assert hrefs("https://en.wikipedia.org/wiki/A_(b)") == ["https://en.wikipedia.org/wiki/A_(b)"]
