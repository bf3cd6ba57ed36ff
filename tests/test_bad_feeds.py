"""What a broken or hostile feed server can send, against a real HTTP server on 127.0.0.1, on SQLite and
PostgreSQL: bad entries are skipped one by one (or cleaned), slow and huge answers are cut off, paging
stops at a cap, and every run leaves its ingest_runs row."""

import copy
import gzip
import json
import re
import time
from datetime import date

from newsletter import pipeline
from tests.conftest import Answer
from tests.test_ingest import local

DAY = date(2024, 6, 18)


def entries(data_file, count: int) -> list[dict]:
    """`count` good Hugging Face entries shaped like the recorded one, with ids 2406.10001 …"""
    template = json.loads(data_file("hf_daily_papers.json").read_text())[0]
    made = []
    for n in range(1, count + 1):
        entry = copy.deepcopy(template)
        entry["paper"]["id"] = f"2406.1{n:04d}"
        entry["paper"]["title"] = f"Transcoders find circuits, part {n}"
        made.append(entry)
    return made


def test_bad_entries_are_skipped_one_by_one_and_the_rest_stored(ctx, feed_server, data_file) -> None:
    feed = entries(data_file, 13)
    feed[1]["paper"]["upvotes"] = "UPVOTES"  # replaced by a number no float holds
    feed[11]["paper"]["upvotes"] = "DIGITS"  # replaced by more digits than Python reads as an int
    feed[12]["paper"]["upvotes"] = 10**30  # past any integer column
    feed[10]["paper"]["title"] = "RTL \u202egnp.exe\u202c circuit \u2066isolate\u2069"  # stripped: shows as exe.png
    feed[2]["paper"]["title"] = "Nul\x00 in the title"  # stripped: PostgreSQL text cannot hold NUL
    feed[3]["paper"]["summary"] = "Bell\x07 and escape\x1b[31m codes"  # stripped
    feed[4]["paper"]["title"] = "x" * 5000
    feed[5]["paper"]["authors"] = [{"name": "A" * 1000}]
    del feed[6]["paper"]
    feed[7]["numComments"] = -4
    feed[8]["paper"]["githubRepo"] = "javascript:alert(1)"  # an optional link: dropped, the paper kept
    feed[9]["paper"]["title"] = "Lone \ud800 surrogate"
    body = json.dumps(feed).replace('"UPVOTES"', "1e999").replace('"DIGITS"', "9" * 5000).encode()
    feed_server.route("/api/daily_papers", Answer(body=body))
    [result] = pipeline.ingest(local(ctx, feed_server), DAY, ["hf"])

    assert result.status == "partial" and result.new == 6 and result.errors == 7
    problems = "\n".join(result.problems)
    assert "entry 2: upvotes out of range: inf" in problems
    assert "entry 12: upvotes out of range: inf" in problems
    assert "entry 13: upvotes out of range: 10000000000000000000…" in problems
    assert "skipped '2406.10005': title longer than 1000 characters ('ingest.max_title_chars')" in problems
    assert "skipped '2406.10006': an author name longer than 300 characters" in problems
    assert "entry 7: missing key 'paper'" in problems
    assert "skipped '2406.10008': comments out of range: -4" in problems
    assert ctx.papers.get("2406.10003").title == "Nul in the title"
    assert ctx.papers.get("2406.10004").abstract == "Bell and escape[31m codes"
    assert ctx.papers.get("2406.10009").github_url is None and ctx.papers.get("2406.10009").upvotes == 12
    assert ctx.papers.get("2406.10010").title == "Lone surrogate"
    assert ctx.papers.get("2406.10011").upvotes == 12
    assert ctx.papers.get("2406.10011").title == "RTL gnp.exe circuit isolate"
    run = ctx.ingest_runs.latest()[0]
    assert (run.source, run.status, run.new, run.errors) == ("hf", "partial", 6, 7)


def test_a_feed_of_unusable_entries_only_is_an_error(ctx, feed_server, data_file) -> None:
    feed = entries(data_file, 3)
    for entry in feed:
        del entry["paper"]
    feed_server.route("/api/daily_papers", Answer(body=json.dumps(feed).encode()))
    [result] = pipeline.ingest(local(ctx, feed_server), DAY, ["hf"])
    assert result.status == "error" and result.errors == 3
    assert result.error.startswith("none of its 3 entries is usable (the first: http://127.0.0.1:")
    assert result.error.endswith("/api/daily_papers?date=2024-06-18&p=0: entry 1: missing key 'paper')")


def test_a_server_trickling_bytes_is_cut_off_at_the_deadline(ctx, feed_server, data_file) -> None:
    # Each byte comes well within the per-read timeout; only a deadline for the whole answer ends it.
    feed_server.route("/api/daily_papers", Answer(body=json.dumps(entries(data_file, 1)).encode(), trickle=0.3))
    app = local(ctx, feed_server)
    app = pipeline.Context(app.settings.replace(sources={"hf": {"deadline": 1.5, "timeout": 5.0}}), ctx.db)
    started = time.monotonic()
    [result] = pipeline.ingest(app, DAY, ["hf"])
    assert time.monotonic() - started < 4
    assert result.status == "error" and "took longer than 1.5 s in all" in result.error
    assert ctx.papers.count() == 0 and ctx.ingest_runs.latest()[0].status == "error"


def test_a_huge_answer_is_refused_at_the_size_cap(ctx, feed_server, data_file) -> None:
    app = local(ctx, feed_server)
    app = pipeline.Context(app.settings.replace(sources={"hf": {"max_bytes": 100_000}}), ctx.db)
    feed_server.route("/api/daily_papers", Answer(body=b"[" + b" " * 1_000_000 + b"]"))
    [declared] = pipeline.ingest(app, DAY, ["hf"])
    assert declared.status == "error" and "answer larger than 100000 bytes" in declared.error
    # 2 KB on the wire, a megabyte once unzipped: counted as it is decoded.
    bomb = gzip.compress(b"[" + b" " * 1_000_000 + b"]")
    feed_server.route("/api/daily_papers", Answer(body=bomb, headers={"Content-Encoding": "gzip"}))
    [unzipped] = pipeline.ingest(app, DAY, ["hf"])
    assert unzipped.status == "error" and "answer larger than 100000 bytes" in unzipped.error
    assert [r.status for r in ctx.ingest_runs.latest()] == ["error", "error"]


def test_hugging_face_paging_stops_at_the_page_cap(ctx, feed_server, data_file) -> None:
    route = feed_server.route("/api/daily_papers", Answer(body=json.dumps(entries(data_file, 100)).encode()))
    app = local(ctx, feed_server)
    app = pipeline.Context(app.settings.replace(sources={"hf": {"max_pages": 3}}), ctx.db)
    [result] = pipeline.ingest(app, DAY, ["hf"])
    assert len(route.calls) == 3 and [c.query["p"] for c in route.calls] == [["0"], ["1"], ["2"]]
    assert result.status == "partial" and "stopped after 3 pages of 100 ('sources.hf.max_pages')" in result.error
    assert ctx.papers.count() == 100


def test_a_field_of_the_wrong_kind_is_named_not_a_python_error(data_file) -> None:
    """An entry whose field holds the wrong kind of JSON value is skipped with the field's name and what it
    held ("summary is a number, not text"), never a Python message ("'int' object has no attribute")."""
    from newsletter.sources import hf_daily

    feed = entries(data_file, 7)
    feed[0]["paper"]["summary"] = 42
    feed[1]["paper"]["submittedOnDailyAt"] = "not a date"
    feed[2]["paper"]["authors"] = "Ada Lovelace"
    feed[3]["paper"]["title"] = ["a", "list"]
    feed[4] = 7
    feed[5]["paper"]["authors"] = [{"name": {"first": "Ada"}}]
    feed[6]["paper"]["githubRepo"] = {"url": "https://github.com/x/y"}  # optional: left out, the paper kept
    feed.append(entries(data_file, 8)[7])
    feed[7]["paper"]["publishedAt"] = "0001-01-01T00:00:00+01:00"  # before year 1 in UTC
    parsed = hf_daily.parse(json.dumps(feed).encode(), "feed.json")
    assert [p.id for p in parsed.papers] == ["2406.10007"] and parsed.papers[0].github_url is None
    assert list(parsed.problems) == [
        "feed.json: entry 1: summary is a number, not text",
        "feed.json: entry 2: submittedOnDailyAt 'not a date' is not a date and time",
        "feed.json: entry 3: authors is text, not an array of objects with a name",
        "feed.json: entry 4: title is an array, not text",
        "feed.json: entry 5: expected an object whose 'paper' is an object",
        "feed.json: entry 6: an author's name is an object, not text",
        "feed.json: entry 8: publishedAt '0001-01-01T00:00:00+01:00' is not a date and time",
    ]


def test_a_byte_that_is_not_utf8_spoils_only_itself_and_is_said(data_file) -> None:
    """feedparser reads a UTF-8 feed holding one stray byte in another encoding altogether ("Zoë" became
    "Zo√´" in every entry, silently): the stray byte alone is replaced, and the run says where it was."""
    from newsletter.sources import arxiv_api, arxiv_feed

    for name, parse in (("arxiv_rss.xml", arxiv_feed.parse), ("arxiv_api.xml", arxiv_api.parse)):
        text = data_file(name).read_text(encoding="utf-8")
        first, second = (m.start() for m in re.finditer(r"<title>(?!cs\.|arXiv)", text))
        text = (
            text[:first]
            + "<title>Zoë Müller’s "
            + text[first + 7 : second]
            + "<title>Stray STRAY "
            + text[second + 7 :]
        )
        data = text.encode("utf-8").replace(b"STRAY", b"\xff")
        parsed = parse(data, "feed.xml")
        titles = [p.title for p in (*parsed.papers, *parsed.updates)]  # the RSS's second entry is a replacement
        assert titles[0].startswith("Zoë Müller’s ") and titles[1].startswith("Stray \ufffd "), titles
        stray = data.index(b"\xff")
        assert list(parsed.problems) == [f"feed.xml: byte {stray} is not UTF-8 (invalid start byte): shown as '\ufffd'"]
