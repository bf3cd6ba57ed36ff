"""What people look at, in headless Chromium: the digest and the web pages at 600 and 375 px, light and dark,
and the whole reader journey from sign-up to one-click unsubscribe."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import expect

from newsletter import pipeline
from newsletter.message import Composer
from newsletter.models import Status, SubscriberChanges
from newsletter.readers import subscriptions
from newsletter.tokens import Tokens
from tests.browser_checks import low_contrast, overflow, page_background_luminance
from tests.factories import make_digest, make_paper, make_subscriber

pytestmark = pytest.mark.slow

WIDTHS = (600, 375)
SCHEMES = ("light", "dark")


def digest_papers() -> list:
    long_word = "Supercalifragilisticexpialidocious" * 3  # an unbreakable token must not widen the page
    return [
        make_paper(
            title=f"Paper {n}: sparse circuits {long_word if n == 2 else ''}",
            authors=tuple(f"Author {i}" for i in range(12)),
            upvotes=n * 7,
            github_url="https://github.com/example/code" if n % 2 else None,
            sources=("hf", "arxiv"),
        )
        for n in range(8)
    ] + [make_paper(title="<script>alert(1)</script> & <b>bold</b> claims")]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_digest_fits_and_reads_well(browser, settings, width, scheme) -> None:
    papers = digest_papers()
    outgoing = Composer(settings).compose(make_digest(papers, make_subscriber(id=5, name="Dana")))
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.set_content(outgoing.html)
    try:
        assert overflow(page) == 0
        cards = page.locator(".card")
        assert cards.count() == len(papers)
        for i in range(cards.count()):
            box = cards.nth(i).bounding_box()
            assert box and box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= width
        assert page.locator("script").count() == 0
        assert page.get_by_text("<script>alert(1)</script> & <b>bold</b> claims").count() == 1
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        assert hrefs and all(h.startswith("https://") for h in hrefs)
        assert low_contrast(page) == []
        # The dark rules apply in dark mode (not just a light page that happens to pass).
        assert (page_background_luminance(page) < 0.2) == (scheme == "dark")
    finally:
        context.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_digest_cut_to_titles_fits_and_reads_well(browser, settings, scheme) -> None:
    """Past Gmail's size the last papers are listed by title: that part too fits a phone and reads well."""
    papers = [
        make_paper(title=f"Sparse circuits, part {n}", abstract="A long sentence about circuits. " * 40, upvotes=n)
        for n in range(70)
    ]
    outgoing = Composer(settings).compose(make_digest(papers, make_subscriber(id=5, name="Dana")))
    assert "In short" in outgoing.html
    context = browser.new_context(viewport={"width": 375, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.set_content(outgoing.html)
    try:
        assert 0 < page.locator(".brief").count() < len(papers)
        assert overflow(page) == 0 and low_contrast(page) == []
    finally:
        context.close()


WRAP_CSS = re.compile(r"(?:overflow-wrap|word-wrap|word-break)\s*:\s*[^;\"}]*;?\s*")


def test_long_words_fit_a_phone_without_css_that_mail_clients_ignore(browser, settings) -> None:
    """Gmail, Outlook, Yahoo and Apple Mail drop overflow-wrap and word-break: with them gone, the zero-width
    spaces in the text must be what keeps a 60-character word (and a long URL, a long name) inside 375 px."""
    paper = make_paper(
        title="Scaling " + "W" * 60 + " models",  # the widest letter, 60 times, no place to break
        authors=("Hubert Wolfeschlegelsteinhausenbergerdorff", "Ada Example"),
        abstract="Code: https://github.com/an-organisation/an-exceptionally-long-repository-name?ref=main&x=1 ok.",
        categories=("cs.LG", "x" * 100),  # what a feed's <category> may hold
    )
    html = WRAP_CSS.sub("", Composer(settings).compose(make_digest([paper], make_subscriber(id=5))).html)
    assert not re.search(r"overflow-wrap|word-break", html)
    context = browser.new_context(viewport={"width": 375, "height": 900})
    page = context.new_page()
    try:
        page.set_content(html)
        assert overflow(page) == 0
        assert page.locator(".paper-title").inner_text().replace("\u200b", "") == paper.title
        # The same mail without its break opportunities is wider than the phone: the check can fail.
        page.set_content(html.replace("&#8203;", ""))
        assert overflow(page) > 100
    finally:
        context.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_web_pages_fit_a_phone_and_read_well(browser, ctx, live_server, scheme) -> None:
    reader = subscriptions.add(ctx.settings, ctx.subscribers, "ada@example.com", SubscriberChanges(topics=("codes",)))
    today = pipeline.today(ctx.settings)
    ctx.papers.upsert(
        [make_paper(id="2611.30001", title="Surface codes " + "x" * 90, abstract="codes", announced=today)]
    )
    pending = subscriptions.add(
        ctx.settings, ctx.subscribers, "new@example.com", SubscriberChanges(topics=("x",)), status=Status.PENDING
    )
    tokens = Tokens(ctx.settings.web.secret_key)
    paths = (
        "/",
        "/search?q=surface+codes",
        "/search?q=-nothing",
        "/subscribe",
        f"/preferences/{tokens.make('preferences', reader)}",
        f"/unsubscribe/{tokens.make('unsubscribe', reader)}",
        "/archive",
        f"/archive/{today}",
        "/confirm/forged",
        f"/confirm/{tokens.make('confirm', pending)}",
        f"/feedback/{tokens.make('feedback', reader)}/2611.30001/less",
    )
    context = browser.new_context(viewport={"width": 375, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    blocked: list[str] = []  # what the Content-Security-Policy refused (an inline script or style)
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        for path in paths:
            page.goto(live_server.url + path)
            assert blocked == [], (path, blocked)
            # The stylesheet file applies (the CSP allows it): the page is styled, not bare HTML.
            assert page.evaluate("getComputedStyle(document.querySelector('main')).maxWidth") == "640px", path
            assert overflow(page) == 0, path
            assert low_contrast(page) == [], path
            # Every form control has a label a screen reader can announce.
            unlabelled = page.evaluate(
                """() => [...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
                     .filter(el => !el.labels?.length && !el.getAttribute('aria-label')).map(el => el.name)"""
            )
            assert unlabelled == [], path
    finally:
        context.close()


def send(ctx, day):
    """`send_issue` in a thread of its own: Playwright's sync API keeps an event loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(pipeline.send_issue, ctx, pipeline.SendOptions(issue_date=day, show_progress=False)).result()


def wait_for_mail(smtp_server, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(smtp_server.messages) < count:
        assert time.monotonic() < deadline, f"{count} mail(s) expected, {len(smtp_server.messages)} arrived"
        time.sleep(0.05)


def test_sign_up_confirm_edit_then_one_click_unsubscribe(browser, live_server, smtp_server) -> None:
    ctx = live_server.ctx
    today = pipeline.today(ctx.settings)
    ctx.papers.upsert(
        [
            make_paper(
                id="2611.20001",
                title="Surface codes at scale",
                abstract="Quantum error correction with surface codes.",
                announced=today,
            ),
            make_paper(
                id="2611.20002",
                title="Protein folding with diffusion",
                abstract="Protein structure prediction.",
                announced=today,
            ),
        ]
    )
    context = browser.new_context(viewport={"width": 375, "height": 800}, timezone_id="Europe/Paris")
    page = context.new_page()
    try:
        page.goto(live_server.url + "/subscribe")
        assert page.input_value("#timezone") == "Europe/Paris"  # filled from the browser, still editable
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "email"  # focus starts at the first field
        page.fill("#email", "lin@example.com")
        page.fill("#topics", "surface codes")
        page.get_by_role("button", name="Subscribe").click()
        expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()  # waits for the page to load

        wait_for_mail(smtp_server, 1)
        text = smtp_server.messages[0].message.get_body(("plain",)).get_content()
        confirm = re.search(r"http://\S+/confirm/\S+", text).group(0)
        assert ctx.subscribers.get("lin@example.com").status is Status.PENDING
        page.goto(confirm)  # what a mail scanner also does: nothing changes
        assert ctx.subscribers.get("lin@example.com").status is Status.PENDING
        page.get_by_role("button", name="Confirm my subscription").click()
        expect(page.get_by_text("You are subscribed")).to_be_visible()
        preview = page.locator(".paper")
        assert preview.count() == 1 and "Surface codes at scale" in preview.first.inner_text()

        page.fill("#topics", "protein structure prediction")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Your preferences are saved.")).to_be_visible()
        assert "Protein folding with diffusion" in page.locator(".paper").first.inner_text()
        assert "Surface codes" not in page.locator("#preview ~ .paper").all_inner_texts()[0]
        assert ctx.subscribers.get("lin@example.com").preferences.topics == ("protein structure prediction",)
    finally:
        context.close()

    summary = send(ctx, today)
    assert summary.sent == 1
    digest = smtp_server.messages[-1].message
    assert "Protein folding with diffusion" in digest.get_body(("plain",)).get_content()
    unsubscribe = re.search(r"<(http://[^>]+)>", digest["List-Unsubscribe"]).group(1)
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    one_click = {
        "content": b"List-Unsubscribe=One-Click",
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
    }
    page_get = httpx.get(unsubscribe)
    assert page_get.status_code == 200 and "<form" in page_get.text
    assert ctx.subscribers.get("lin@example.com").status is Status.ACTIVE  # GET changes nothing
    assert httpx.post(unsubscribe.replace("/unsubscribe/", "/unsubscribe/x"), **one_click).status_code == 404
    answer = httpx.post(unsubscribe, **one_click)
    assert answer.status_code == 200 and not answer.is_redirect
    assert ctx.subscribers.get("lin@example.com").status is Status.UNSUBSCRIBED

    received = len(smtp_server.messages)
    later = send(ctx, today + timedelta(days=1))
    assert later.sent == 0 and len(smtp_server.messages) == received


def test_search_from_the_daily_papers_page_then_subscribe_to_it(browser, live_server, smtp_server) -> None:
    ctx = live_server.ctx
    today = pipeline.today(ctx.settings)
    ctx.papers.upsert(
        [
            make_paper(title="Analog circuit sizing", abstract="Op-amps.", upvotes=50, announced=today),
            make_paper(title="Transformer circuits", abstract="Attention heads.", upvotes=9, announced=today),
            make_paper(title="Neural circuits in mice", abstract="Cortex.", upvotes=30, announced=today),
        ]
    )
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    try:
        page.goto(live_server.url + "/")
        titles = page.locator(".paper h3").all_inner_texts()
        assert titles == ["Analog circuit sizing", "Neural circuits in mice", "Transformer circuits"]  # by upvotes
        page.get_by_label("Search papers").fill("circuits -analog")
        page.keyboard.press("Enter")
        page.wait_for_url("**/search?q=*")
        assert sorted(page.locator(".paper h3").all_inner_texts()) == [
            "Neural circuits in mice",
            "Transformer circuits",
        ]
        assert overflow(page) == 0
        page.get_by_label("Email address").fill("searcher@example.com")
        page.get_by_role("button", name="Subscribe").click()
        expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    finally:
        context.close()
    wait_for_mail(smtp_server, 1)
    reader = ctx.subscribers.get("searcher@example.com")
    assert reader.status is Status.PENDING
    assert (reader.preferences.topics, reader.preferences.excluded) == (("circuits",), ("analog",))


def test_a_feedback_link_opens_a_page_and_only_its_button_records(browser, live_server) -> None:
    ctx = live_server.ctx
    reader = subscriptions.add(ctx.settings, ctx.subscribers, "fb@example.com", SubscriberChanges(topics=("codes",)))
    ctx.papers.upsert([make_paper(id="2611.40001", title="Surface codes, again")])
    link = f"{live_server.url}/feedback/{Tokens(ctx.settings.web.secret_key).make('feedback', reader)}/2611.40001/less"
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    try:
        page.goto(link)  # a mail scanner or a link preview gets this far: nothing is recorded
        assert page.get_by_role("heading", name="Fewer papers like this?").is_visible()
        assert page.get_by_text("Surface codes, again").is_visible()
        assert ctx.subscribers.get("fb@example.com").preferences.disliked == ()
        assert overflow(page) == 0 and low_contrast(page) == []
        page.get_by_role("button", name="Show me fewer like this").click()
        expect(page.get_by_role("heading", name="Thanks — noted")).to_be_visible()
        assert ctx.subscribers.get("fb@example.com").preferences.disliked == ("2611.40001",)
    finally:
        context.close()
