"""The relevance development set keeps its shape, and its papers are the corpus's own, unedited."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEVSET = ROOT / "benchmarks" / "data" / "relevance_dev.json"
CORPUS = ROOT.parent / "shared" / "corpus" / "arxiv-metadata-100k.jsonl.gz"
PAPER_KEYS = {"id", "title", "abstract", "authors", "categories", "word", "field"}


@pytest.fixture(scope="module")
def devset() -> dict:
    return json.loads(DEVSET.read_text(encoding="utf-8"))


def stem(word: str) -> str:
    """'quantization' -> 'quantiz', 'tomography' -> 'tomograph': enough to find the word in its inflections."""
    return re.sub(r"(ation|ion|y)$", "", word.lower()).replace("s", "z")


def test_shape_and_sizes(devset: dict) -> None:
    assert set(devset) == {"about", "words", "papers", "personas"}
    assert len(devset["about"]) > 200
    assert len(devset["papers"]) >= 400
    assert len(devset["words"]) >= 8
    assert len(devset["personas"]) >= 30
    for word, about in devset["words"].items():
        assert about["split"] in {"tune", "heldout", "fresh"}, word
        assert len(about["fields"]) >= 2, word
        assert "other" not in about["fields"], word
        assert all(text.strip() and "\n" not in text for text in about["fields"].values()), word
    for paper in devset["papers"]:
        assert set(paper) == PAPER_KEYS, paper["id"]
        assert all(isinstance(paper[key], str) and paper[key].strip() for key in PAPER_KEYS), paper["id"]
        assert paper["word"] in devset["words"], paper["id"]
        assert paper["field"] == "other" or paper["field"] in devset["words"][paper["word"]]["fields"], paper["id"]


def test_splits_are_real_and_heldout_is_about_forty_percent_of_the_first_two(devset: dict) -> None:
    splits = Counter(about["split"] for about in devset["words"].values())
    assert 0.3 <= splits["heldout"] / (splits["heldout"] + splits["tune"]) <= 0.5, splits
    assert splits["fresh"] >= 6, splits
    personas = Counter(devset["words"][p["word"]]["split"] for p in devset["personas"])
    assert personas["tune"] and personas["heldout"] and personas["fresh"], personas


def test_field_keys_are_unique_across_words(devset: dict) -> None:
    fields = Counter(field for about in devset["words"].values() for field in about["fields"])
    assert [field for field, n in fields.items() if n > 1] == []


def test_each_paper_once_and_using_its_word(devset: dict) -> None:
    ids = Counter(p["id"] for p in devset["papers"])
    assert [i for i, n in ids.items() if n > 1] == []
    missing = [
        p["id"]
        for p in devset["papers"]
        if stem(p["word"]) not in f"{p['title']} {p['abstract']}".lower().replace("s", "z")
    ]
    assert missing == []


def test_every_field_and_persona_has_enough_papers(devset: dict) -> None:
    pool = Counter((p["word"], p["field"]) for p in devset["papers"])
    for word, about in devset["words"].items():
        size = sum(n for (w, _), n in pool.items() if w == word)
        assert 35 <= size <= 60, (word, size)
        assert all(pool[(word, field)] >= 8 for field in about["fields"]), word
    names = [p["name"] for p in devset["personas"]]
    assert len(set(names)) == len(names)
    for persona in devset["personas"]:
        assert persona["word"] in devset["words"], persona["name"]
        assert persona["field"] in devset["words"][persona["word"]]["fields"], persona["name"]
        assert pool[(persona["word"], persona["field"])] >= 8, persona["name"]
        assert 1 <= len(persona["topics"]) <= 3, persona["name"]
        assert all(0 < len(topic.split()) <= 6 for topic in persona["topics"]), persona["name"]
    per_word = Counter(p["word"] for p in devset["personas"])
    assert all(per_word[word] >= 3 for word in devset["words"]), per_word


def test_no_persona_copies_a_paper_title(devset: dict) -> None:
    titles = {p["title"].lower().rstrip(".") for p in devset["papers"]}
    assert [t for p in devset["personas"] for t in p["topics"] if t.lower() in titles] == []


def test_papers_are_the_corpus_records_unedited(devset: dict) -> None:
    if not CORPUS.exists():
        pytest.skip(f"the shared corpus is not at {CORPUS}; the papers cannot be compared with it here")
    wanted = {p["id"]: p for p in devset["papers"]}
    found = {}
    with gzip.open(CORPUS, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["id"] in wanted:
                found[record["id"]] = record
    assert sorted(set(wanted) - set(found)) == []
    changed = [
        (i, key)
        for i, paper in wanted.items()
        for key in ("title", "abstract", "authors", "categories")
        if paper[key] != found[i][key]
    ]
    assert changed == []
