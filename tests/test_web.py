"""The web app with Starlette's test client: unsubscribe page, RFC 8058 one-click, bad tokens, health."""

import re
from dataclasses import replace
from datetime import date

import pytest
from starlette.testclient import TestClient

from newsletter.message import Composer
from newsletter.models import Status, SubscriberChanges
from newsletter.readers import subscriptions
from newsletter.web import create_app
from tests.factories import make_digest, make_paper


@pytest.fixture
def client(ctx):
    return TestClient(create_app(ctx), base_url="https://testserver", follow_redirects=False)


@pytest.fixture
def reader(ctx):
    return subscriptions.add(ctx.settings, ctx.subscribers, "ada@example.com", SubscriberChanges(topics=("x",)))


def unsubscribe_path(ctx, reader) -> str:
    """The path from a real message's List-Unsubscribe header."""
    out = Composer(ctx.settings).compose(make_digest([make_paper()], reader))
    header = next(line for line in out.data.decode().split("\r\n") if line.startswith("List-Unsubscribe:"))
    url = header.split("<", 1)[1].split(">", 1)[0]
    return url.replace(ctx.settings.web.base_url, "")


def test_get_shows_a_button_and_changes_nothing(ctx, client, reader) -> None:
    response = client.get(unsubscribe_path(ctx, reader))
    assert response.status_code == 200
    assert '<button type="submit">Unsubscribe</button>' in response.text and "ada@example.com" in response.text
    assert ctx.subscribers.get("ada@example.com").status is Status.ACTIVE


def test_one_click_post_unsubscribes_at_once_without_cookie_or_redirect(ctx, client, reader) -> None:
    path = unsubscribe_path(ctx, reader)
    response = client.post(
        path, content=b"List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 200 and "You are unsubscribed" in response.text
    assert "set-cookie" not in response.headers
    assert ctx.subscribers.get("ada@example.com").status is Status.UNSUBSCRIBED
    assert client.post(path, content=b"List-Unsubscribe=One-Click").status_code == 200  # idempotent
    page = client.get(path).text
    assert "You are unsubscribed" in page
    # The way back (a reader trial found none): their preferences page, where "Resume" is theirs to press.
    back = re.search(r'href="https?://[^/"]+(/preferences/[^"]+)"', page)[1]
    assert "Resume my digest" in client.get(back).text
    assert ctx.subscribers.get("ada@example.com").status is Status.UNSUBSCRIBED  # following it changes nothing


@pytest.mark.parametrize("token", ["forged", "MQ.AAAAAAAAAAAAAAAAAAAAAAAAAAA", "Mg.x"])
def test_bad_token_is_404_and_reveals_nothing(ctx, client, reader, token) -> None:
    for response in (client.get(f"/unsubscribe/{token}"), client.post(f"/unsubscribe/{token}")):
        assert response.status_code == 404 and "ada@example.com" not in response.text
    assert ctx.subscribers.get("ada@example.com").status is Status.ACTIVE


def test_a_token_for_another_purpose_does_not_unsubscribe(ctx, client, reader) -> None:
    preferences_token = Composer(ctx.settings).tokens.make("preferences", reader)
    assert client.post(f"/unsubscribe/{preferences_token}").status_code == 404


def test_healthz(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


@pytest.mark.slow
def test_serve_runs_as_a_real_server_and_its_log_holds_no_token(tmp_path) -> None:
    import http.client
    import subprocess
    import sys
    import time

    import httpx

    from newsletter.capture import free_port
    from newsletter.config import load_settings
    from newsletter.pipeline import Context

    port = free_port()
    config = tmp_path / "web.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/web.db"\n[web]\nsecret_key = "test-secret-of-the-tests"\n',
        encoding="utf-8",
    )
    app = Context.open(load_settings(config, env={}))
    reader = subscriptions.add(app.settings, app.subscribers, "ada@example.com", SubscriberChanges(topics=("x",)))
    token = Composer(app.settings).tokens.make("preferences", reader)
    app.close()
    server = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "--config", str(config), "serve", "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        assert response.status_code == 200 and response.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/unsubscribe/nope").status_code == 404
        page = httpx.get(f"http://127.0.0.1:{port}/preferences/{token}?done=saved")
        assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
        assert httpx.get(f"http://127.0.0.1:{port}/search", params={"page": "99999999999999999999"}).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/search", params={"q": "x", "page": "-1"}).status_code == 200
        # Sent byte for byte (an HTTP client would normalise some of these addresses).
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for path in [
            "/archive/%0d%0aINFO%20127.0.0.1%20-%20%22GET%20/forged%20HTTP/1.1%22%20200%201ms",
            "/archive/%00",
            "/archive/%e2%80%ae%1b%5b2J%7f",  # a right-to-left override, an ANSI escape, DEL
            f"/Preferences/{token}",
            f"//preferences/{token}",
            f"/%70references//{token}/",
            f"/search?q={token}",
            f"/search?{token}=1",
            f"/nowhere/{token}",
            f"/feedback/{token}/2611.00001/more",
        ]:
            connection.request("GET", path)
            assert connection.getresponse().read() is not None
        connection.close()
    finally:
        server.terminate()
        log = server.communicate(timeout=10)[1]
    # SIGTERM (systemd's stop) ends it cleanly: its database closed, SQLite's log folded into the file.
    assert server.returncode == 0, log
    assert not (tmp_path / "web.db-wal").exists()
    assert token not in log and token.split(".")[0] not in log and token.split(".")[-1] not in log
    forged = [line for line in log.splitlines() if "/forged" in line]
    assert len(forged) == 1 and '"GET /forged' not in log, forged  # one line, its quote escaped
    for shown in [
        '"GET /preferences/<token>?done HTTP/1.1" 200',
        '"GET /healthz HTTP/1.1" 200',
        '"GET /archive/\\x0d\\x0aINFO 127.0.0.1 - \\x22GET /forged HTTP/1.1\\x22 200 1ms HTTP/1.1" 404',
        '"GET /archive/\\x00 HTTP/1.1" 400',
        '"GET /archive/\\u202e\\x1b[2J\\x7f HTTP/1.1" 404',
        '"GET /Preferences/<token> HTTP/1.1" 404',
        '"GET /preferences/<token> HTTP/1.1" 404',
        '"GET /preferences/<token>/ HTTP/1.1" 404',
        '"GET /search?q HTTP/1.1" 200',
        '"GET /search?<token> HTTP/1.1" 200',
        '"GET /nowhere/<token> HTTP/1.1" 404',
        '"GET /feedback/<token>/<…>/<…> HTTP/1.1" 404',  # no such paper
    ]:
        assert shown in log, shown
    assert not any(char in log for char in "\x00\x1b\x7f\u202e")


def test_every_page_sends_the_security_headers_and_no_inline_script_or_style(ctx, client, reader) -> None:
    paper = make_paper(id="2611.55557", announced=date(2026, 11, 24))
    ctx.papers.upsert([paper])
    tokens = Composer(ctx.settings).tokens
    public = ["/", "/search?q=study", "/subscribe", "/archive", "/archive/2026-11-24", "/healthz", "/nowhere"]
    by_token = [
        f"/preferences/{tokens.make('preferences', reader)}",
        f"/unsubscribe/{tokens.make('unsubscribe', reader)}",
        f"/feedback/{tokens.make('feedback', reader)}/2611.55557/more",
        f"/confirm/{tokens.make('confirm', reader)}",
        "/preferences/forged",
    ]
    for path in public + by_token:
        for response in (client.get(path), client.head(path)):
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
            assert response.headers["x-content-type-options"] == "nosniff", path
            expected = "no-referrer" if path in by_token else "strict-origin-when-cross-origin"
            assert response.headers["referrer-policy"] == expected, path
        html = client.get(path).text
        assert re.search(r"<script(?![^>]*\ssrc=)", html) is None, path  # every script is a file
        assert " style=" not in html and "<style" not in html, path
    script, sheet = client.get("/static/timezone.js"), client.get("/static/site.css")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"] and "Intl" in script.text
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/../web/base.html.j2").status_code == 404


def test_the_access_log_masks_tokens(ctx, client, reader, caplog) -> None:
    token = Composer(ctx.settings).tokens.make("unsubscribe", reader)
    with caplog.at_level("INFO", logger="newsletter.web.access"):
        client.get(f"/unsubscribe/{token}")
        client.get(f"/feedback/{token}/2611.00001/more?x=1")
    lines = [r.getMessage() for r in caplog.records if r.name == "newsletter.web.access"]
    assert len(lines) == 2 and not any(token in line for line in lines)
    assert '"GET /unsubscribe/<token> HTTP/1.1" 200' in lines[0]
    assert '"GET /feedback/<token>/<…>/<…>?x HTTP/1.1" 404' in lines[1]


def csrf_of(page) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def test_feedback_links_show_a_button_and_only_its_post_records(ctx, client, reader) -> None:
    paper = make_paper(id="2611.55555", title="A paper to like")
    ctx.papers.upsert([paper])
    out = Composer(ctx.settings).compose(make_digest([paper], reader))
    base = ctx.settings.web.base_url
    more = next(line.split(": ", 1)[1] for line in out.text.splitlines() if "More like this:" in line)
    less = next(line.split(": ", 1)[1] for line in out.text.splitlines() if "Fewer like this:" in line)
    assert more.startswith(base) and more in out.html
    more, less = more.replace(base, ""), less.replace(base, "")
    # A mail scanner fetches every link, with GET and HEAD: nothing is recorded.
    assert client.head(more).status_code == 200 and client.head(less).status_code == 200
    page = client.get(more)
    assert page.status_code == 200 and "A paper to like" in page.text and "Show me more like this" in page.text
    assert ctx.subscribers.get("ada@example.com").preferences == reader.preferences
    assert client.post(more).status_code == 403  # no CSRF token: a cross-site post records nothing
    assert ctx.subscribers.get("ada@example.com").preferences.liked == ()
    done = client.post(more, data={"csrf": csrf_of(page)})
    assert done.status_code == 200 and "more papers like" in done.text
    assert ctx.subscribers.get("ada@example.com").preferences.liked == ("2611.55555",)
    client.post(less, data={"csrf": csrf_of(client.get(less))})
    prefs = ctx.subscribers.get("ada@example.com").preferences
    assert prefs.liked == () and prefs.disliked == ("2611.55555",)
    assert client.get(more.replace("/more", "/sideways")).status_code == 404
    assert client.get(more.replace("2611.55555", "2611.99999")).status_code == 404
    assert client.get(more.replace("/feedback/", "/feedback/x")).status_code == 404


def test_a_forgotten_readers_links_reach_nobody_and_ids_are_not_reused(ctx, client, reader) -> None:
    paper = make_paper(id="2611.55556")
    ctx.papers.upsert([paper])
    out = Composer(ctx.settings).compose(make_digest([paper], reader))
    base = ctx.settings.web.base_url
    old = [u.replace(base, "") for u in re.findall(r"https?://[^\s<>\"]+", out.text) if u.startswith(base)]
    assert {u.split("/")[1] for u in old} >= {"unsubscribe", "preferences", "feedback"}
    assert all(client.get(u).status_code == 200 for u in old)
    ctx.subscribers.forget("ada@example.com")
    newcomer = subscriptions.add(ctx.settings, ctx.subscribers, "bea@example.com", SubscriberChanges(topics=("x",)))
    assert newcomer.id != reader.id and newcomer.link_key and newcomer.link_key != reader.link_key
    for path in old:
        for response in (client.get(path), client.post(path)):
            assert response.status_code == 404, path
            assert "bea@example.com" not in response.text and "ada@example.com" not in response.text
    # Even a token naming the newcomer's id with the forgotten reader's key opens nothing.
    tokens = Composer(ctx.settings).tokens
    stale = tokens.make("preferences", replace(newcomer, link_key=reader.link_key))
    assert client.get(f"/preferences/{stale}").status_code == 404
    assert client.get(f"/preferences/{tokens.make('preferences', newcomer)}").status_code == 200
    assert ctx.subscribers.get("bea@example.com").status is Status.ACTIVE


def test_the_message_id_is_the_same_for_every_resend_of_an_issue(ctx, reader) -> None:
    composer = Composer(ctx.settings)
    digest = make_digest([make_paper()], reader)
    first, again = composer.compose(digest), Composer(ctx.settings).compose(digest)
    assert first.message_id == again.message_id
    other_day = composer.compose(make_digest([make_paper()], reader, issue_date=date(2026, 11, 25)))
    assert other_day.message_id != first.message_id


def test_archive_lists_days_and_escapes_feed_text(ctx, client) -> None:
    ctx.papers.upsert(
        [
            make_paper(id="2611.00101", title="<script>x</script> Circuits", upvotes=3, announced=date(2026, 11, 24)),
            make_paper(id="2611.00102", title=r"Bounds $\mathcal{O}(n)$", upvotes=9, announced=date(2026, 11, 24)),
            make_paper(id="2611.00103", title="Older", announced=date(2026, 11, 23)),
        ]
    )
    listing = client.get("/archive")
    assert listing.status_code == 200
    assert listing.text.index("2026-11-24") < listing.text.index("2026-11-23") and "2 papers" in listing.text
    day = client.get("/archive/2026-11-24")
    assert day.status_code == 200 and "&lt;script&gt;" in day.text and "<script>x" not in day.text
    assert day.text.index("Bounds O(n)") < day.text.index("Circuits")  # most upvoted first
    assert "https://arxiv.org/abs/2611.00102" in day.text
    assert "Nothing was announced" in client.get("/archive/2026-11-01").text
    assert client.get("/archive/not-a-date").status_code == 404


def test_an_unknown_address_is_a_page_of_the_site_with_a_way_on(client) -> None:
    # A reader trial met Starlette's bare "Not Found", and dead ends on the site's own messages.
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "text/html" in response.headers["content-type"]
    assert "Page not found" in response.text and '<a href="/">' in response.text
    assert '<a href="/">' in client.get("/unsubscribe/forged").text
