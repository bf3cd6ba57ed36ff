"""Double opt-in sign-up and the preferences page, with Starlette's test client and a real SMTP capture server."""

import re
import time
from datetime import date

import pytest
from starlette.testclient import TestClient

from newsletter.models import Status, SubscriberChanges
from newsletter.readers import subscriptions
from newsletter.tokens import Tokens
from newsletter.web import create_app
from tests.factories import make_paper


@pytest.fixture
def client(ctx):
    return TestClient(create_app(ctx), base_url="https://testserver", follow_redirects=False)


def csrf(client: TestClient, path: str = "/subscribe") -> str:
    page = client.get(path)
    assert page.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def sign_up(client: TestClient, email: str, **fields: str):
    """The form posted, and the page its answer sends the browser to (Post/Redirect/Get: a reload posts
    nothing twice); a refused form is its own answer."""
    return followed(client, client.post("/subscribe", data={"csrf": csrf(client), "email": email, **fields}))


def followed(client: TestClient, posted):
    if posted.status_code != 303:
        return posted
    assert posted.headers["location"] == "/subscribe/sent"
    return client.get(posted.headers["location"])


def links_in(smtp_server, path: str) -> list[str]:
    found = []
    for received in smtp_server.messages:
        text = received.message.get_body(("plain",)).get_content()
        found += re.findall(rf"https?://\S+{path}\S+", text)
    return found


def test_subscribe_page_is_a_labelled_form_with_a_csrf_cookie(client) -> None:
    page = client.get("/subscribe?q=transformer circuits")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    for field in ("email", "topics", "categories", "authors", "timezone", "send_hour"):
        assert f'<label for="{field}">' in page.text and f'id="{field}"' in page.text
    assert ">transformer circuits</textarea>" in page.text  # a search page's "subscribe" fills the topic
    cookie = page.headers["set-cookie"]
    assert "newsletter_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_sign_up_confirm_then_active_with_a_consent_record(ctx, client, smtp_server) -> None:
    ctx.papers.upsert([make_paper(id="2611.00001", title="Sparse circuits in transformers", announced=date.today())])
    response = sign_up(
        client,
        "Grace@Example.com",
        topics="transformer circuits\nsparse autoencoders",
        categories="cs.LG, cs.CL",
        timezone="Europe/Berlin",
        send_hour="8",
        frequency="weekly",
        weekday="friday",
    )
    assert response.status_code == 200 and "Check your inbox" in response.text
    assert "Check your inbox" in client.get("/subscribe/sent").text  # a reload: no second mail (below)
    pending = ctx.subscribers.get("grace@example.com")
    assert pending.status is Status.PENDING and pending.consent_source == "web"
    assert pending.preferences.topics == ("transformer circuits", "sparse autoencoders")
    assert pending.preferences.categories == ("cs.LG", "cs.CL")
    assert (pending.timezone, pending.send_hour, pending.weekday) == ("Europe/Berlin", 8, 4)
    assert pending.consent.ip == "testclient" and pending.consent.user_agent and pending.consent.form == "subscribe-1"
    assert not ctx.subscribers.count_due(date.today())  # nothing goes to an unconfirmed address

    [mail] = smtp_server.messages
    assert mail.recipients == ("grace@example.com",)
    assert mail.message["Subject"].startswith("Confirm your subscription")
    assert "List-Unsubscribe" not in mail.message  # a one-off mail, not a list message
    [link] = links_in(smtp_server, "/confirm/")
    assert link in mail.message.get_body(("html",)).get_content()

    path = link.replace(ctx.settings.web.base_url, "")
    # Mail scanners open every link (GET and HEAD): that shows a button and confirms nothing.
    assert client.head(path).status_code == 200
    page = client.get(path)
    assert page.status_code == 200 and "Confirm my subscription" in page.text and 'method="post"' in page.text
    assert ctx.subscribers.get("grace@example.com").status is Status.PENDING
    assert client.post(path).status_code == 403  # the button's form carries the CSRF token
    assert ctx.subscribers.get("grace@example.com").status is Status.PENDING
    done = client.post(path, data={"csrf": csrf(client, path)})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=confirmed")
    page = client.get(done.headers["location"])
    assert page.status_code == 200 and "You are subscribed" in page.text and "Your preferences" in page.text
    assert "Your first digest comes on the next Friday." in page.text  # a weekly reader's day, not the next one
    back = client.get(path)  # the back button: not "already used … sign up again" to a subscribed reader
    assert back.status_code == 200 and "grace@example.com gets the digest already" in back.text
    active = ctx.subscribers.get("grace@example.com")
    assert active.status is Status.ACTIVE and active.confirmed_at is not None
    # The preview of what they would get, the words of their topics marked.
    assert 'Sparse <strong class="hit">circuits</strong> in <strong class="hit">transformers</strong>' in page.text


def test_the_answer_is_the_same_whoever_the_address_belongs_to(ctx, client, smtp_server) -> None:
    subscriptions.add(ctx.settings, ctx.subscribers, "known@example.com", SubscriberChanges(topics=("graphs",)))
    form = {"csrf": csrf(client), "topics": "something else"}
    known = client.post("/subscribe", data={**form, "email": "known@example.com"})
    unknown = client.post("/subscribe", data={**form, "email": "unknown@example.com"})
    assert (known.status_code, known.headers["location"]) == (unknown.status_code, unknown.headers["location"])
    assert known.content == unknown.content
    # The known reader's topics are untouched; their mail says they are subscribed and links to preferences.
    assert ctx.subscribers.get("known@example.com").preferences.topics == ("graphs",)
    by_recipient = {m.recipients[0]: m.message for m in smtp_server.messages}
    assert by_recipient["known@example.com"]["Subject"].endswith("subscription")
    assert "/preferences/" in by_recipient["known@example.com"].get_body(("plain",)).get_content()
    assert "/confirm/" in by_recipient["unknown@example.com"].get_body(("plain",)).get_content()


def test_a_suppressed_address_gets_the_same_answer_and_no_mail(ctx, client, smtp_server) -> None:
    ctx.subscribers.suppress("gone@example.com", "bounce")
    assert "Check your inbox" in sign_up(client, "gone@example.com", topics="x").text
    assert ctx.subscribers.get("gone@example.com") is None and smtp_server.messages == []


def test_confirmation_mails_are_limited_per_address_and_per_ip(ctx, client, smtp_server) -> None:
    for _ in range(5):
        assert "Check your inbox" in sign_up(client, "many@example.com", topics="x").text
    assert len(smtp_server.messages) == ctx.settings.web.confirm_per_address == 3

    limited = TestClient(
        create_app(type(ctx)(ctx.settings.replace(web={"confirm_per_ip": 4}), ctx.db)),
        base_url="https://testserver",
        follow_redirects=False,
    )
    smtp_server.messages.clear()
    for n in range(4):
        assert sign_up(limited, f"reader{n}@example.com", topics="x").status_code == 200
    # The three mails above went to this client IP too: one more fits in the day.
    assert [m.recipients for m in smtp_server.messages] == [("reader0@example.com",)]


def test_bad_input_is_a_400_naming_the_field_and_keeps_what_was_typed(ctx, client, smtp_server) -> None:
    response = sign_up(client, "not-an-address", topics="quantum error correction")
    assert response.status_code == 400 and "invalid address" in response.text
    assert "quantum error correction</textarea>" in response.text
    response = sign_up(client, "ok@example.com", timezone="Mars/Olympus")
    assert response.status_code == 400 and "is not an IANA timezone" in response.text
    response = sign_up(client, "ok@example.com", name="Nul\x00", topics="kept topic")  # a NUL: 400 as well
    assert response.status_code == 400 and "holds a NUL character" in response.text
    assert "kept topic</textarea>" in response.text
    assert ctx.subscribers.list() == [] and smtp_server.messages == []


def test_a_post_without_the_csrf_token_changes_nothing(ctx, client, smtp_server) -> None:
    response = client.post("/subscribe", data={"email": "x@example.com", "topics": "x"})
    assert response.status_code == 403
    other = TestClient(create_app(ctx), base_url="https://testserver")  # a token from another browser's cookie
    response = other.post("/subscribe", data={"csrf": csrf(client), "email": "x@example.com"})
    assert response.status_code == 403
    assert ctx.subscribers.list() == [] and smtp_server.messages == []


def test_a_refused_form_comes_back_with_what_was_typed_and_why(ctx, client, smtp_server) -> None:
    typed = {"email": "kim@example.com", "topics": "sparse autoencoders & <circuits>"}
    blocked = TestClient(create_app(ctx), base_url="https://testserver", cookies=None)  # cookies blocked
    response = blocked.post("/subscribe", data={"csrf": csrf(client), **typed})
    assert response.status_code == 403 and "allow cookies for this site" in response.text
    assert 'value="kim@example.com"' in response.text and "sparse autoencoders &amp; &lt;circuits&gt;" in response.text
    assert re.search(r'name="csrf" value="[^"]+"', response.text)  # and a fresh token to send it with
    stale = client.post("/subscribe", data={"csrf": csrf(client) + "x", **typed})  # an old or tampered token
    assert stale.status_code == 403 and "This form had expired. What you typed is below" in stale.text
    assert 'value="kim@example.com"' in stale.text
    token = re.search(r'name="csrf" value="([^"]+)"', stale.text)[1]
    again = followed(client, client.post("/subscribe", data={"csrf": token, **typed}))
    assert again.status_code == 200 and "Check your inbox" in again.text
    assert [s.email for s in ctx.subscribers.list()] == ["kim@example.com"]


def test_forged_links_are_404_and_expired_ones_say_what_to_do(ctx, client, smtp_server, monkeypatch) -> None:
    sign_up(client, "late@example.com", topics="x")
    [link] = links_in(smtp_server, "/confirm/")
    path = link.replace(ctx.settings.web.base_url, "")
    assert client.get(path + "x").status_code == 404
    assert client.get("/confirm/" + "A" * 30).status_code == 404
    eight_days_later = time.time() + 8 * 24 * 3600
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: eight_days_later)
    late = client.get(path)
    assert late.status_code == 410 and "Confirmation links work for 7 days" in late.text
    assert f"Sign up again at {ctx.settings.web.base_url}/subscribe" in late.text
    assert press_confirm(client, path).status_code == 410
    assert client.get(path + "x").status_code == 404  # forged stays not found, however old
    assert ctx.subscribers.get("late@example.com").status is Status.PENDING


def confirm_path(ctx, smtp_server) -> str:
    return links_in(smtp_server, "/confirm/")[-1].replace(ctx.settings.web.base_url, "")


def press_confirm(client: TestClient, path: str):
    return client.post(path, data={"csrf": csrf(client, "/subscribe")})


def test_a_confirmation_link_works_once(ctx, client, smtp_server) -> None:
    sign_up(client, "once@example.com", topics="x")
    path = confirm_path(ctx, smtp_server)
    assert press_confirm(client, path).status_code == 303
    ctx.subscribers.set_status("once@example.com", Status.PAUSED)
    ctx.subscribers.set_status("once@example.com", Status.UNSUBSCRIBED)
    for answer in (client.get(path), press_confirm(client, path)):
        assert answer.status_code == 410 and "once@example.com" not in answer.text
    assert ctx.subscribers.get("once@example.com").status is Status.UNSUBSCRIBED


def test_a_confirmation_never_undoes_an_unsubscribe_but_a_new_sign_up_can(ctx, client, smtp_server) -> None:
    sign_up(client, "undo@example.com", topics="x")
    old = confirm_path(ctx, smtp_server)
    press_confirm(client, old)
    unsubscribe = "/unsubscribe/" + Tokens(ctx.settings.web.secret_key).make(
        "unsubscribe", ctx.subscribers.get("undo@example.com")
    )
    assert client.post(unsubscribe, content=b"List-Unsubscribe=One-Click").status_code == 200
    time.sleep(1.1)  # tokens carry whole seconds: the next link is made in a later one
    assert press_confirm(client, old).status_code == 410  # a scanner replaying the old link
    assert ctx.subscribers.get("undo@example.com").status is Status.UNSUBSCRIBED
    sign_up(client, "undo@example.com", topics="x")  # the reader comes back on purpose
    fresh = confirm_path(ctx, smtp_server)
    assert fresh != old and press_confirm(client, fresh).status_code == 303
    assert ctx.subscribers.get("undo@example.com").status is Status.ACTIVE


def test_coming_back_on_the_web_keeps_the_readers_data_until_they_confirm(ctx, client, smtp_server) -> None:
    """A reader added from the CLI who unsubscribed, then the sign-up form sent for their address: anyone may
    send it, so nothing of theirs changes until the owner of the address opens the link; that click is their
    consent (source web), and they land on their preferences."""
    subscriptions.add(ctx.settings, ctx.subscribers, "back@example.com", SubscriberChanges(topics=("circuits",)))
    ctx.subscribers.set_status("back@example.com", Status.UNSUBSCRIBED)
    time.sleep(1.1)  # tokens carry whole seconds: the link is made after the unsubscribe
    sign_up(client, "back@example.com", topics="crypto scams", name="Mallory was here")
    waiting = ctx.subscribers.get("back@example.com")
    assert waiting.status is Status.UNSUBSCRIBED and waiting.preferences.topics == ("circuits",)
    assert waiting.name == "" and waiting.consent_source == "cli"
    done = press_confirm(client, confirm_path(ctx, smtp_server))
    assert done.status_code == 303 and "/preferences/" in done.headers["location"]
    # The form they filled in changed nothing, and the page says so (a reader trial found it silent).
    said = client.get(done.headers["location"]).text
    assert "You are subscribed again, with the preferences you had before" in said and "circuits" in said
    back = ctx.subscribers.get("back@example.com")
    assert back.status is Status.ACTIVE and back.preferences.topics == ("circuits",)
    assert back.consent_source == "web" and back.consent.form == "confirm-1" and back.consent.ip == "testclient"


def test_a_confirmation_never_undoes_a_suppression(ctx, client, smtp_server) -> None:
    sign_up(client, "held@example.com", topics="x")
    path = confirm_path(ctx, smtp_server)
    ctx.subscribers.suppress("held@example.com", "complaint")
    assert press_confirm(client, path).status_code == 410
    assert ctx.subscribers.get("held@example.com").status is Status.PENDING
    ctx.subscribers.forget("held@example.com")
    assert client.get(path).status_code == 404 and press_confirm(client, path).status_code == 404


# -- preferences ---------------------------------------------------------------------------------------


@pytest.fixture
def prefs_path(ctx):
    reader = subscriptions.add(
        ctx.settings, ctx.subscribers, "ada@example.com", SubscriberChanges(topics=("quantum error correction",))
    )
    return "/preferences/" + Tokens(ctx.settings.web.secret_key).make("preferences", reader)


def test_preferences_save_and_the_preview_follows(ctx, client, prefs_path) -> None:
    today = date.today()
    ctx.papers.upsert(
        [
            make_paper(
                id="2611.10001", title="Surface codes at scale", abstract="Quantum error correction.", announced=today
            ),
            make_paper(
                id="2611.10002", title="Protein folding with diffusion", abstract="Protein structure.", announced=today
            ),
        ]
    )
    page = client.get(prefs_path)
    assert page.status_code == 200 and "quantum error correction</textarea>" in page.text
    preview = page.text.split("What you would get today", 1)[1]
    assert "Surface codes at scale" in preview and "Protein folding" not in preview

    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    form = {
        "csrf": token,
        "topics": "protein structure prediction",
        "categories": "q-bio.BM",
        "authors": "",
        "excluded": "",
        "max_items": "5",
        "timezone": "Asia/Tokyo",
        "send_hour": "6",
        "frequency": "daily",
        "action": "save",
    }
    saved = client.post(prefs_path, data=form)
    assert saved.status_code == 303 and saved.headers["location"].endswith("?done=saved")
    reader = ctx.subscribers.get("ada@example.com")
    assert reader.preferences.topics == ("protein structure prediction",) and reader.max_items == 5
    assert (reader.timezone, reader.send_hour, reader.preferences.categories) == ("Asia/Tokyo", 6, ("q-bio.BM",))
    assert reader.min_score is None  # left empty: the usual threshold
    page = client.get(saved.headers["location"])
    preview = page.text.split("What you would get today", 1)[1]
    assert "preferences are saved" in page.text and '<strong class="hit">Protein</strong> folding' in preview
    assert "Surface codes" not in preview

    bad = client.post(prefs_path, data={**form, "send_hour": "25"})
    assert bad.status_code == 400 and "send hour 25 must be 0..23" in bad.text
    assert ctx.subscribers.get("ada@example.com").send_hour == 6
    long_name = client.post(prefs_path, data={**form, "name": "N" * 201})
    assert long_name.status_code == 400 and "longer than 200 characters" in long_name.text
    closer = client.post(prefs_path, data={**form, "min_score": "0.4"})
    assert closer.status_code == 303 and ctx.subscribers.get("ada@example.com").min_score == 0.4
    shown = client.get(prefs_path).text
    assert 'name="min_score" min="0" max="1" step="0.05" aria-describedby="min_score-hint" value="0.4"' in shown
    too_far = client.post(prefs_path, data={**form, "min_score": "1.5"})
    assert too_far.status_code == 400 and "min score 1.5 must be between 0 and 1" in too_far.text
    assert ctx.subscribers.get("ada@example.com").min_score == 0.4
    expired = client.post(prefs_path, data={**form, "csrf": "old", "topics": "a topic typed at length"})
    assert expired.status_code == 403 and "This form had expired" in expired.text
    assert "a topic typed at length" in expired.text and ctx.subscribers.get("ada@example.com").min_score == 0.4


def test_pause_and_resume_from_the_preferences_page(ctx, client, prefs_path) -> None:
    token = csrf(client, prefs_path)
    assert client.post(prefs_path, data={"csrf": token, "action": "pause"}).status_code == 303
    assert ctx.subscribers.get("ada@example.com").status is Status.PAUSED
    assert "Resume my digest" in client.get(prefs_path).text
    assert client.post(prefs_path, data={"csrf": token, "action": "resume"}).status_code == 303
    assert ctx.subscribers.get("ada@example.com").status is Status.ACTIVE
    # Pause under a form with changed fields: the changes are kept too (a reader trial saw them dropped).
    typed = {"topics": "robots", "max_items": "7", "timezone": "UTC", "send_hour": "7", "frequency": "daily"}
    assert client.post(prefs_path, data={"csrf": token, "action": "pause", **typed}).status_code == 303
    paused = ctx.subscribers.get("ada@example.com")
    assert paused.status is Status.PAUSED and paused.preferences.topics == ("robots",) and paused.max_items == 7
    assert client.post(prefs_path, data={"csrf": token, "action": "resume", **typed}).status_code == 303
    unknown = client.post(prefs_path, data={"csrf": token, "action": "<b>x"})
    assert unknown.status_code == 400 and "This form has no such button." in unknown.text
    # After a spam complaint the address is suppressed: the page cannot turn the digest back on.
    assert client.post(prefs_path, data={"csrf": token, "action": "pause"}).status_code == 303
    ctx.subscribers.suppress("ada@example.com", "complaint")
    refused = client.post(prefs_path, data={"csrf": token, "action": "resume"})
    assert refused.status_code == 400 and "This digest cannot be resumed now." in refused.text
    assert ctx.subscribers.get("ada@example.com").status is Status.PAUSED


def test_preferences_refuse_forged_tokens_and_missing_csrf(ctx, client, prefs_path) -> None:
    assert client.get(prefs_path + "x").status_code == 404
    assert client.post(prefs_path + "x", data={"action": "pause"}).status_code == 404
    assert client.post(prefs_path, data={"action": "pause"}).status_code == 403
    assert ctx.subscribers.get("ada@example.com").status is Status.ACTIVE
