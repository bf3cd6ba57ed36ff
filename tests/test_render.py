"""Rendering and MIME: golden files, inlined CSS, escaping, headers, size."""

import base64
import os
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from pathlib import Path

import lxml.html
import pytest

from newsletter.links import reader_links
from newsletter.message import Composer, header_safe
from newsletter.models import Why
from newsletter.paper_views import shorten_authors, snippet
from tests.conftest import base_settings
from tests.factories import make_digest, make_paper, make_subscriber

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def golden_digest():
    papers = [
        make_paper(
            id="2611.00001",
            title="Sparse Feature Circuits in Transformer Language Models",
            abstract="Mechanistic interpretability aims to reverse-engineer neural networks. " * 8,
            authors=("Mara Lindqvist", "Tobias Renner", "Aiko Tanaka", "Samuel Okafor", "Last Author"),
            categories=("cs.LG", "cs.CL"),
            upvotes=87,
            github_url="https://github.com/example/circuits",
        ),
        make_paper(
            id="2611.00002",
            title="Bounds of $\\mathcal{O}(n)$ & <circuits>",
            abstract="Short abstract with <b>markup</b> & ampersands. "
            "Code: https://github.com/example/sparse-feature-circuits-at-scale?tab=readme&lang=en",
            authors=("Solo Author",),
            sources=("arxiv",),
        ),
    ]
    reader = make_subscriber(topics=("mechanistic interpretability", "circuits"), name="Ada Reader")
    whys = (
        Why("topic", "circuits", ("circuits", "circuit"), "like 50 papers on cs.LG, cs.CL, cs.AI"),
        Why("topic", "circuits", ("circuits",)),
    )
    digest = make_digest(papers, reader)
    return replace(digest, picks=tuple(replace(p, why=w) for p, w in zip(digest.picks, whys, strict=True)))


def compose(digest=None, **sections):
    return Composer(base_settings(**sections)).compose(digest or golden_digest(), now=NOW)


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") or not path.exists():
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} changed; rerun with UPDATE_GOLDEN=1 if intended"


def test_golden_html_and_text() -> None:
    out = compose()
    check_golden("digest.html", out.html)
    check_golden("digest.txt", out.text)


def test_css_is_inlined_and_media_rules_kept_in_one_style() -> None:
    html = compose().html
    assert re.search(r'<h2 class="paper-title" style="[^"]*font-size:18px', html)
    styles = re.findall(r"<style[^>]*>(.*?)</style>", html, re.S)
    assert len(styles) == 1
    assert "@media only screen and (max-width: 640px)" in styles[0]
    assert "prefers-color-scheme: dark" in styles[0]
    leftover = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*\s*\}", "", styles[0]).strip()
    assert leftover == "", "plain rules are inlined, only @media rules stay in <style>"


def test_an_abstracts_address_is_a_link_and_the_titles_matched_words_are_marked() -> None:
    # A reader trial: the address copied from the text carried zero-width spaces; bold words in a bold title
    # looked like the rest with Arial.
    html = compose().html
    [href] = re.findall(r'<p class="snippet"[^>]*>[^<]*<a href="([^"]*)"', html)
    assert href == "https://github.com/example/sparse-feature-circuits-at-scale?tab=readme&amp;lang=en"
    assert re.search(r'<strong class="hit" style="background-color:#[0-9a-f]{6}">Circuits</strong>', html)


def test_feed_strings_are_escaped() -> None:
    html = compose().html
    assert "<circuits>" not in html and "&lt;circuits&gt;" in html
    assert "<b>markup</b>" not in html and "&lt;b&gt;markup&lt;/b&gt;" in html


def test_a_paper_back_with_a_new_version_says_when_it_was_first_announced() -> None:
    """An old paper in the window by a new version: the header says "announced or updated" and the paper
    its first announcement (the header said "announced" and the dates, and the paper seemed new)."""
    old = make_paper(title="An old paper, revised", announced=date(2024, 6, 18), version=3)
    out = compose(make_digest([make_paper(), old], make_subscriber(topics=("topic",))))
    for part in (out.text, lxml.html.fromstring(out.html).text_content()):
        assert "Picked from 2 papers announced or updated Tue 24 Nov 2026" in " ".join(part.split())
        assert "v3, first announced Tue 18 Jun 2024" in part
    plain = compose(make_digest([make_paper()], make_subscriber(topics=("topic",))))
    assert "Picked from 1 paper announced Tue 24 Nov 2026" in " ".join(plain.text.split())
    assert "first announced" not in plain.text


def test_mime_structure_and_headers() -> None:
    out = compose()
    msg = message_from_bytes(out.data, policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in msg.iter_parts())
    assert msg["To"] == "Ada Reader <reader@example.com>"
    assert msg["From"] == "Daily Papers <papers@example.com>"
    assert msg["Subject"] == "2 new papers on mechanistic interpretability, circuits — Tue 24 Nov 2026"
    one = golden_digest()
    one = replace(one, picks=one.picks[:1])
    assert compose(one).subject == "1 new paper on mechanistic interpretability, circuits — Tue 24 Nov 2026"
    only_trending = replace(one, picks=tuple(replace(p, trending=True) for p in golden_digest().picks))
    assert compose(only_trending).subject == "2 new papers on trending research — Tue 24 Nov 2026"  # not "0 new"
    assert msg["Message-ID"] == out.message_id and out.message_id.endswith("@example.com>")
    assert msg["List-Id"] == "Daily Papers <digest.example.com>"
    unsub = msg["List-Unsubscribe"].strip()  # folded at 78 columns: the value starts on a continuation line
    assert re.fullmatch(
        r"<https://papers\.example\.org/unsubscribe/[\w.-]+>, "
        r"<mailto:unsubscribe\+[a-z2-7]+@example\.com\?subject=unsubscribe>",
        unsub,
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Feedback-ID"] == "20261124:daily:digest.example.com:example.com"  # nothing about the reader
    assert all(len(line) <= 998 for line in out.data.split(b"\r\n"))


def test_list_id_and_feedback_id_are_configurable_and_say_nothing_personal() -> None:
    weekly = make_digest([make_paper()], make_subscriber(id=9, email="zoe@example.net", frequency="weekly"))
    out = compose(weekly, sender={"list_id": "papers.lists.example.net", "feedback_sender": "acme-papers"})
    msg = message_from_bytes(out.data, policy=policy.default)
    assert msg["List-Id"] == "Daily Papers <papers.lists.example.net>"
    assert msg["Feedback-ID"] == "20261124:weekly:papers.lists.example.net:acme-papers"
    assert "zoe" not in msg["Feedback-ID"] and "9" not in msg["Feedback-ID"].split(":")[1:]


def test_links_in_both_parts() -> None:
    out = compose()
    for part in (out.html, out.text):
        assert "https://arxiv.org/abs/2611.00001" in part and "https://arxiv.org/abs/2611.00002" in part
        assert "https://github.com/example/circuits" in part
        assert "https://huggingface.co/papers/2611.00001" in part
        assert "/unsubscribe/" in part and "/preferences/" in part
        assert "1 Example Street" in part
    assert "https://huggingface.co/papers/2611.00002" not in out.text  # not from Hugging Face


def test_message_id_is_stable_and_distinct() -> None:
    a, b = compose(), compose()
    assert a.message_id == b.message_id
    other = compose(make_digest([make_paper()], make_subscriber(id=2)))
    assert other.message_id != a.message_id


def test_no_header_takes_cr_or_lf() -> None:
    evil = make_subscriber(name="Eve\r\nBcc: victim@example.com")
    out = compose(make_digest([make_paper()], evil), sender={"from_name": "News\nX-Evil: 1"})
    msg = message_from_bytes(out.data, policy=policy.default)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert "Eve Bcc: victim@example.com" in str(msg["To"])
    assert header_safe("a\r\nb\tc\x00d") == "a b c d"


def test_non_ascii_names_are_encoded() -> None:
    out = compose(
        make_digest([make_paper()], make_subscriber(name="Zoë Ångström")), sender={"from_name": "Papiers du jour é"}
    )
    raw_headers = out.data.split(b"\r\n\r\n", 1)[0]
    assert raw_headers.isascii()
    assert message_from_bytes(out.data, policy=policy.default)["To"].addresses[0].display_name == "Zoë Ångström"


def test_thirty_papers_stay_under_100_kb() -> None:
    papers = [make_paper(abstract="A long abstract sentence about circuits. " * 30) for _ in range(30)]
    out = compose(make_digest(papers))
    assert len(out.html.encode()) < 100_000 and "In short" not in out.html and out.html.count("More like this") == 30


def test_a_digest_too_big_for_gmail_lists_the_last_papers_by_title() -> None:
    """100 papers and 20 trending (the most a reader may ask for), real ones: Gmail clips an HTML part past
    about 102 KB, the unsubscribe link and the postal address with it. The first papers are shown whole, the
    rest by linked title; the text part keeps every paper whole."""
    import gzip

    from newsletter.sources.arxiv_metadata import parse_record

    with gzip.open(Path(__file__).parent / "data" / "ranking_real.jsonl.gz", "rb") as lines:
        real = [parse_record(line, "real") for line in lines]
    papers = [
        replace(real[i % len(real)], id=f"2612.{i:05d}", upvotes=40 + i, github_url="https://github.com/an-org/a-repo")
        for i in range(120)
    ]
    digest = make_digest(papers)
    digest = replace(digest, picks=digest.picks[:100] + tuple(replace(p, trending=True) for p in digest.picks[100:]))
    reader = make_subscriber(name="Dana Example")
    out = compose(replace(digest, subscriber=reader))
    assert len(out.html.encode()) <= 96_000
    whole = out.html.count("More like this")
    assert 10 < whole < 120 and f"The next {120 - whole} papers by title only" in out.html
    assert "Unsubscribe</a>" in out.html and "Edit your topics and preferences" in out.html
    for paper in papers:  # every paper is in both parts, linked to its abstract
        assert f'href="https://arxiv.org/abs/{paper.id}"' in out.html
        assert f"Abstract: https://arxiv.org/abs/{paper.id}" in out.text
    assert out.text.count("More like this:") == 120


def test_text_part_wraps_at_78() -> None:
    text = compose().text
    long_lines = [line for line in text.splitlines() if len(line) > 78 and "://" not in line]
    assert long_lines == []


@pytest.mark.parametrize(
    ("authors", "expected"),
    [(("A",), "A"), (("A", "B", "C", "D"), "A, B, C, D"), (("A", "B", "C", "D", "E"), "A, B, C, …, E")],
)
def test_shorten_authors(authors, expected) -> None:
    assert shorten_authors(authors) == expected


def test_snippet_cuts_at_a_sentence() -> None:
    text = "First sentence is here. " * 30
    cut = snippet(text)
    assert cut.endswith(".") and 200 <= len(cut) <= 400
    assert snippet("Short.") == "Short."


def canonical(html: str) -> str:
    return lxml.html.tostring(lxml.html.document_fromstring(html), encoding="unicode")


@pytest.mark.parametrize(
    "digest",
    [
        golden_digest(),
        make_digest([make_paper(title="<script>alert('x')</script> & \"quotes\"", abstract="a < b > c & d")]),
        make_digest([], make_subscriber(name="Zoë")),
    ],
)
def test_preinlined_template_equals_inlining_each_email(digest) -> None:
    composer = Composer(base_settings())
    links = reader_links(composer.settings, composer.tokens, digest.subscriber)
    once = composer.renderer.render(digest, links).html
    each = composer.renderer.render_inlining_each(digest, links)
    assert canonical(once) == canonical(each)
    assert "{%" not in once and "{{" not in once and "<!--" not in once


def test_assembled_mime_parses_back_to_the_same_parts_and_headers() -> None:
    reader = make_subscriber(name="Zoë Ångström-Łukasiewicz", topics=("théorie des circuits quantiques",) * 3)
    long_title = "Ünïcödé and a very long title " * 8
    out = compose(make_digest([make_paper(title=long_title)], reader), sender={"from_name": "Papiers du jour é"})
    msg = message_from_bytes(out.data, policy=policy.default)
    assert str(msg["Subject"]) == out.subject
    assert msg["To"].addresses[0].display_name == "Zoë Ångström-Łukasiewicz"
    assert msg["From"].addresses[0].display_name == "Papiers du jour é"
    # A CRLF message decodes to CRLF lines (as the stdlib's own EmailMessage output does).
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == out.text
    assert msg.get_body(("html",)).get_content().replace("\r\n", "\n") == out.html
    assert msg.defects == [] and all(part.defects == [] for part in msg.walk())
    assert str(msg["List-Id"]) == "Papiers du jour é <digest.example.com>"
    head = out.data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and all(len(line) <= 998 for line in head.split(b"\r\n"))
    # Folded at 78 wherever there is a place to fold (a single long URL token has none).
    assert all(len(line) <= 78 for line in head.split(b"\r\n") if b"https://" not in line)
    assert b"\n" not in out.data.replace(b"\r\n", b"")


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "data:text/html,<b>x</b>", 'https://ex.com/"onmouseover=alert(1)', " ftp://x/y", ""],
)
def test_only_http_links_from_feeds(url) -> None:
    out = compose(make_digest([make_paper(github_url=url)]))
    assert "Code" not in out.text.split("--")[0].split("PDF:")[1]
    assert "javascript:" not in out.html and "data:text" not in out.html and "onmouseover" not in out.html


def test_a_link_in_capitals_is_a_link() -> None:
    out = compose(make_digest([make_paper(github_url="HTTPS://GitHub.com/Org/Repo")]))
    assert "Code: HTTPS://GitHub.com/Org/Repo" in out.text and 'href="HTTPS://GitHub.com/Org/Repo"' in out.html


def test_hostile_title_and_name_show_as_text() -> None:
    paper = make_paper(title='<img src=x onerror="alert(1)"> Circuits', abstract="<script>alert(2)</script>")
    out = compose(make_digest([paper], make_subscriber(name="<b>Eve</b>\r\nX-Injected: yes")))
    assert "<img" not in out.html and "<script>alert" not in out.html and "&lt;img" in out.html
    msg = message_from_bytes(out.data, policy=policy.default)
    assert msg["X-Injected"] is None


def test_dkim_signature_verifies_and_covers_list_unsubscribe(tmp_path) -> None:
    import subprocess

    import dkim

    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    out = compose(dkim={"selector": "news", "private_key_file": str(key)})
    assert out.data.startswith(b"DKIM-Signature:")
    lookups: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        lookups.append(name)
        return record

    assert dkim.verify(out.data, dnsfunc=dns)
    assert lookups == [b"news._domainkey.example.com."]
    signature = message_from_bytes(out.data, policy=policy.default)["DKIM-Signature"]
    signed = re.search(r"h=([^;]+)", str(signature).replace(" ", "")).group(1).lower().split(":")
    assert {"list-id", "list-unsubscribe", "list-unsubscribe-post", "feedback-id"} <= set(signed)
    tampered = out.data.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: x")
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_a_holiday_in_the_window_is_named_in_both_parts(ctx) -> None:
    from datetime import date

    from newsletter import pipeline
    from newsletter.models import SubscriberChanges
    from newsletter.readers import subscriptions

    friday, tuesday = date(2026, 11, 20), date(2026, 11, 24)  # Monday the 23rd: no announcement
    ctx.papers.upsert(
        [
            make_paper(title="Sparse circuits on Friday", announced=friday),
            make_paper(title="Sparse circuits on Tuesday", announced=tuesday),
        ]
    )
    settings = ctx.settings.replace(digest={"first_digest_days": 5})
    reader = subscriptions.add(settings, ctx.subscribers, "h@example.com", SubscriberChanges(topics=("circuits",)))
    digest = pipeline.build_digest(pipeline.Context(settings, ctx.db), reader, tuesday)
    assert (digest.window_start, digest.quiet_days) == (friday, (date(2026, 11, 23),))
    out = Composer(settings).compose(digest)
    for part in (out.text, out.html):
        assert "arXiv did not announce on Monday" in " ".join(part.split())
    # Weekends are no news, and nothing is claimed about days after the last announcement.
    assert pipeline.quiet_days(digest_papers := [p.paper for p in digest.picks], friday, date(2026, 11, 27)) == (
        date(2026, 11, 23),
    )
    assert pipeline.quiet_days(digest_papers, date(2026, 11, 21), date(2026, 11, 22)) == ()
    # Nor before the first paper ever stored: the service was not collecting then.
    assert pipeline.quiet_days(digest_papers, date(2026, 11, 16), tuesday, known_since=friday) == (date(2026, 11, 23),)
    assert pipeline.quiet_days(digest_papers[1:], date(2026, 11, 22), tuesday, known_since=tuesday) == ()


def test_bodies_go_8bit_unless_a_line_is_too_long_or_the_mail_is_signed(tmp_path) -> None:
    def encodings(out) -> list[str]:
        message = message_from_bytes(out.data, policy=policy.default)
        return [p["Content-Transfer-Encoding"] for p in message.walk() if not p.is_multipart()]

    assert encodings(compose(make_digest([make_paper()]))) == ["8bit", "8bit"]
    # A feed title with no place to break makes an HTML line past 998 octets: that part goes as QP.
    out = compose(make_digest([make_paper(title="é" * 700)]))
    assert encodings(out)[1] == "quoted-printable"
    assert all(len(line) <= 998 for line in out.data.split(b"\r\n"))
    assert "é" * 700 in message_from_bytes(out.data, policy=policy.default).get_body(("html",)).get_content()


def test_the_inlined_template_is_made_once_kept_sealed_on_disk_in_a_private_folder(tmp_path, monkeypatch) -> None:
    from newsletter import inlining, render

    monkeypatch.setattr(inlining, "_PREINLINED", {})
    settings = base_settings(paths={"cache": str(tmp_path / "cache")})
    first = render.Renderer(settings)
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700
    [kept] = (tmp_path / "cache").glob("preinlined-*.html.j2")
    seal, _, text = kept.read_text(encoding="utf-8").partition("\n")
    assert text == inlining.preinline(first.env, "email/digest.html.j2", first.css) and len(seal) == 64
    context = first.context(
        make_digest([make_paper()]), reader_links(settings, Composer(settings).tokens, make_subscriber())
    )
    # A new process (an empty memory) reads the file instead of running premailer again ...
    monkeypatch.setattr(inlining, "_PREINLINED", {})
    calls = []
    monkeypatch.setattr(inlining, "preinline", lambda *a: calls.append(a) or text)
    assert render.Renderer(settings).inlined_template.render(context) == first.inlined_template.render(context)
    assert calls == []
    monkeypatch.undo()
    # ... but never one changed behind its back: whoever writes there would run code in every send.
    monkeypatch.setattr(inlining, "_PREINLINED", {})
    planted = text.replace("</body>", "{{ cycler.__init__.__globals__.os.getpid() }}</body>")
    kept.write_text(f"{seal}\n{planted}", encoding="utf-8")
    again = render.Renderer(settings)
    assert again.inlined_template.render(context) == first.inlined_template.render(context)
    assert kept.read_text(encoding="utf-8").partition("\n")[2] == text  # made again and sealed again
    # Another key (another install sharing the folder) never uses the planted file either.
    monkeypatch.setattr(inlining, "_PREINLINED", {})
    other = base_settings(paths={"cache": str(tmp_path / "cache")}, web={"secret_key": "another-key"})
    kept.write_text(f"{seal}\n{planted}", encoding="utf-8")
    assert "getpid" not in render.Renderer(other).inlined_template.render(context)
    # Each key keeps a file of its own, so two configs sharing the folder never take each other's for tampering.
    assert len(list((tmp_path / "cache").glob("preinlined-*.html.j2"))) == 2
    # A folder others may write into is made private again.
    (tmp_path / "cache").chmod(0o777)
    monkeypatch.setattr(inlining, "_PREINLINED", {})
    render.Renderer(settings)
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700
    # Unwritable or missing folders cost time, never a failure.
    monkeypatch.setattr(inlining, "_PREINLINED", {})
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    render.Renderer(base_settings(paths={"cache": str(blocked / "cache")}))


def test_readers_sharing_a_digest_get_exactly_what_their_own_render_gives() -> None:
    from newsletter.models import Pick

    composer = Composer(base_settings())
    renderer = composer.renderer
    papers = [make_paper(title=f"Shared paper {n} & <friends>") for n in range(4)]
    picks = tuple(Pick(p, 0.9, Why("topic", f"x{n}"), trending=n == 3) for n, p in enumerate(papers))
    names = ["", "Ada & <Bob>", 'Zoë "Q" O\'Neil', "", "Plain", "Hubert Wolfeschlegelsteinhausenbergerdorff&Söhne"]
    for n, name in enumerate(names, start=1):
        reader = make_subscriber(id=n, name=name, topics=("x",))
        digest = make_digest(list(papers), reader, picks=picks)
        links = reader_links(composer.settings, composer.tokens, reader)
        own = renderer.context(digest, links)
        rendered = renderer.render(digest, links)
        assert rendered.html == renderer.inlined_template.render(own)
        assert rendered.text == renderer.text_template.render(own)
        assert rendered.subject == own["subject"]
    assert len(renderer._shared) == 2  # with and without a name: two renders for five readers


def test_the_text_part_keeps_item_ten_and_on_under_their_titles() -> None:
    # "10. Learning to Size …" went on under the "0" (a reader trial): each item's lines sit under its title.
    title = "Learning to Size Sparse Models for the Edge with Multi-Fidelity Bayesian Optimisation at Scale"
    papers = [make_paper(id=f"2611.{i:05d}", title=f"{title} {i}") for i in range(1, 12)]
    text = compose(make_digest(papers)).text
    item = text[text.index("10. Learning") : text.index("11. Learning")].rstrip("\n").split("\n")
    assert len(item) > 4 and all(line.startswith("    ") and line[4] != " " for line in item[1:] if line)
