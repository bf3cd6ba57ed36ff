"""The web app (Starlette): double opt-in sign-up, preferences, RFC 8058 unsubscribe, feedback, archive, health.

Handlers are thin: read the token, call the store, render a page. Tokens are HMAC-signed with
`web.secret_key`, bound to the reader's link key and checked in constant time; a bad one gets 404 and
reveals nothing. No GET or HEAD changes anything (mail scanners open every link): confirmation and
feedback links show a page whose one button POSTs. Forms carry a signed double-submit CSRF token; the
one-click unsubscribe POST needs none (RFC 8058). web_guard adds the security headers and the access log.
"""

from __future__ import annotations

import functools
import secrets
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from newsletter import signup, subscriptions
from newsletter.errors import InputError
from newsletter.forms import changes_from_form, form_values, timezones
from newsletter.latex import readable
from newsletter.message import Composer, confirm_link, reader_links
from newsletter.models import Consent, Paper, Pick, Status, Subscriber, Why
from newsletter.pipeline import Context, mail_notice, sample_digest
from newsletter.query import parse as parse_query
from newsletter.render import PaperView, format_day, paper_view
from newsletter.tokens import Claim, Tokens
from newsletter.web_guard import Guard

CSRF_COOKIE = "newsletter_csrf"
SEARCH_PAGE = 20
MAX_SEARCH_PAGE = 500  # 10,000 results deep is enough for a person; past it the database would overflow
# A form is typed by a person: a few dozen fields of a few KB (Starlette enforces both while parsing).
FORM_LIMITS = {"max_files": 0, "max_fields": 50, "max_part_size": 64 * 1024}
# What the preferences page says after a change (Post/Redirect/Get keeps a reload from posting twice).
DONE = {
    "saved": "Your preferences are saved.",
    "paused": "Your digest is paused. Nothing is sent until you resume it.",
    "resumed": "Your digest is on again.",
    "confirmed": "You are subscribed. Your first digest comes with the next announcement.",
}

# The pause and resume buttons: the status each sets, and the statuses it may be pressed in (a bounced
# address stays suppressed).
SWITCHES = {
    "pause": (Status.PAUSED, (Status.ACTIVE, Status.PAUSED)),
    "resume": (Status.ACTIVE, (Status.ACTIVE, Status.PAUSED, Status.UNSUBSCRIBED)),
}


class Refused(Exception):
    """A posted form that cannot be used (expired CSRF token, a NUL byte): answered with `response`."""

    def __init__(self, response: Response) -> None:
        self.response = response


async def refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return exc.response


def create_app(ctx: Context) -> Starlette:
    settings = ctx.settings
    tokens = Tokens(settings.web.secret_key)
    env = Environment(
        loader=FileSystemLoader(Path(settings.paths.templates)), autoescape=select_autoescape(["html", "j2"])
    )
    secure_cookie = settings.web.base_url.startswith("https://")
    base = settings.web.base_url.rstrip("/")
    # Made at the first sign-up mail, then kept: the app starts without loading the email templates.
    composer = functools.cache(lambda: Composer(settings))

    def page(name: str, status: int = 200, background: BackgroundTask | None = None, **context: Any) -> HTMLResponse:
        body = env.get_template(name).render(sender=settings.sender, **context)
        return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"}, background=background)

    def message(title: str, text: str, status: int = 200, background: BackgroundTask | None = None) -> HTMLResponse:
        return page("web/message.html.j2", status, background, title=title, text=text)

    def not_found() -> HTMLResponse:
        return message("Link not found", "This link is not valid.", 404)

    def form_page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A page with a form: the browser's CSRF cookie (set here if new) and its signed twin in the form."""
        cookie = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(18)
        response = page(name, status, csrf=tokens.csrf_field(cookie), timezones=timezones(), **context)
        if request.cookies.get(CSRF_COOKIE) != cookie:
            response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="lax", secure=secure_cookie)
        return response

    async def checked_form(request: Request) -> dict[str, str]:
        """The posted fields; Refused when the CSRF token does not match this browser's cookie, or a field
        holds a NUL byte (no database stores one)."""
        form = await request.form(**FORM_LIMITS)
        values = {key: value for key, value in form.items() if isinstance(value, str)}
        if not tokens.csrf_ok(request.cookies.get(CSRF_COOKIE), values.pop("csrf", None)):
            raise Refused(message("Please try again", "This form has expired. Reload the page and send it again.", 403))
        bad = next((key for key, value in values.items() if "\x00" in key or "\x00" in value), None)
        if bad is not None:
            raise Refused(message("Please try again", f"The field {bad[:40]!r} holds a NUL character.", 400))
        return values

    def claimed(purpose: str, token: str) -> tuple[Claim, Subscriber] | None:
        """The token's claim and its reader, when the token is genuine and the reader still holds its key."""
        claim = tokens.read(purpose, token)
        if claim is None:
            return None
        found = ctx.subscribers.by_ids([claim.subscriber_id]).get(claim.subscriber_id)
        return (claim, found) if found is not None and claim.opens(found) else None

    def reader(purpose: str, token: str) -> Subscriber | None:
        found = claimed(purpose, token)
        return found[1] if found else None

    # -- sign-up ----------------------------------------------------------------------------------------

    async def subscribe_page(request: Request) -> Response:
        query = request.query_params.get("q", "").strip()[:200]
        return form_page(request, "web/subscribe.html.j2", title="Subscribe", values={"topics": query} if query else {})

    async def subscribe(request: Request) -> Response:
        values = await checked_form(request)
        email = values.get("email", "").strip()
        consent = Consent(
            at=datetime.now(UTC),
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent", "")[:300],
            form=signup.FORM_VERSION,
        )
        fields = {k: v for k, v in values.items() if k != "email"}
        try:
            outcome = signup.request(settings, ctx.subscribers, email, changes_from_form(fields, full=False), consent)
        except InputError as exc:
            return form_page(request, "web/subscribe.html.j2", 400, title="Subscribe", error=str(exc), values=values)
        # Mailed after the answer, so neither its text nor its timing tells whether the address was known.
        background = BackgroundTask(send_notice, outcome) if outcome.kind is not None else None
        return message(
            "Check your inbox",
            f"If {email} can receive mail, a message with a link is on its way to it. "
            "Open the link to confirm; nothing is sent before that.",
            background=background,
        )

    async def send_notice(outcome: signup.Outcome) -> None:
        subscriber, kind = outcome.subscriber, outcome.kind
        assert subscriber is not None and kind is not None
        if kind is signup.MailKind.CONFIRM:
            url = confirm_link(settings, tokens, subscriber)
        else:
            url = reader_links(settings, tokens, subscriber).preferences
        await mail_notice(ctx, composer(), subscriber, signup.notice(settings, kind, url))

    async def confirm_page(request: Request) -> Response:
        """GET shows the button and changes nothing: mail scanners and link previews fetch it."""
        found = claimed("confirm", request.path_params["token"])
        if found is None:
            return not_found()
        claim, subscriber = found
        assert claim.issued_at is not None  # confirmation tokens are timed
        if not subscriber.confirmable(claim.issued_at):
            return message(
                "Link already used",
                "This confirmation link was used already or is older than your last change. "
                "Your digest's own links manage your subscription; or sign up again.",
                410,
            )
        return form_page(request, "web/confirm.html.j2", title="Confirm your subscription", email=subscriber.email)

    async def confirm(request: Request) -> Response:
        found = claimed("confirm", request.path_params["token"])
        if found is None:
            return not_found()
        await checked_form(request)
        claim, subscriber = found
        assert claim.issued_at is not None
        confirmed = ctx.subscribers.confirm(subscriber.id, claim.issued_at)
        if confirmed is None:
            return message("Link already used", "This confirmation link was used already.", 410)
        links = reader_links(settings, tokens, confirmed)
        return RedirectResponse(links.preferences.removeprefix(base) + "?done=confirmed", status_code=303)

    # -- preferences ------------------------------------------------------------------------------------

    async def preferences_page(
        request: Request, subscriber: Subscriber, status: int = 200, done: str | None = None, **context: Any
    ) -> HTMLResponse:
        # Ranking the latest papers takes a while on a big day: off the event loop.
        digest = await run_in_threadpool(sample_digest, ctx, subscriber)
        links = reader_links(settings, tokens, subscriber)
        return form_page(
            request,
            "web/preferences.html.j2",
            status,
            title="Your preferences",
            subscriber=subscriber,
            values=context.pop("values", None) or form_values(subscriber),
            done=DONE.get(done or ""),
            action=links.preferences.removeprefix(base),
            unsubscribe=links.unsubscribe,
            preview=[paper_view(rank, pick) for rank, pick in enumerate(digest.picks, start=1)],
            window=(format_day(digest.window_start), format_day(digest.window_end)) if digest.candidates else None,
            candidates=digest.candidates,
            **context,
        )

    async def preferences(request: Request) -> Response:
        found = reader("preferences", request.path_params["token"])
        if found is None:
            return not_found()
        return await preferences_page(request, found, done=request.query_params.get("done"))

    async def update_preferences(request: Request) -> Response:
        found = reader("preferences", request.path_params["token"])
        if found is None:
            return not_found()
        values = await checked_form(request)
        action = values.pop("action", "save")
        if action == "save":
            try:
                subscriptions.update(ctx.subscribers, found.email, changes_from_form(values, full=True))
            except InputError as exc:
                return await preferences_page(request, found, 400, error=str(exc), values=values)
        elif action in SWITCHES and found.status in SWITCHES[action][1]:
            if found.status is not SWITCHES[action][0]:
                try:
                    ctx.subscribers.set_status(found.email, SWITCHES[action][0])
                except InputError:  # suppressed after a bounce or a complaint: said without naming why
                    return await preferences_page(request, found, 400, error="This digest cannot be resumed.")
        else:
            return await preferences_page(request, found, 400, error=f"This digest cannot be {action[:20]}d now.")
        done = {"save": "saved", "pause": "paused", "resume": "resumed"}[action]
        return RedirectResponse(f"{request.url.path}?done={done}", status_code=303)

    # -- unsubscribe and feedback -----------------------------------------------------------------------

    async def unsubscribe_page(request: Request) -> Response:
        """GET never changes anything: mail scanners and link previews fetch it."""
        found = reader("unsubscribe", request.path_params["token"])
        if found is None:
            return not_found()
        return page(
            "web/unsubscribe.html.j2", title="Unsubscribe", email=found.email, done=found.status is Status.UNSUBSCRIBED
        )

    async def unsubscribe(request: Request) -> Response:
        """RFC 8058 one-click (body List-Unsubscribe=One-Click) and the page's button: effective at once,
        200 with a short page, never a redirect; no cookie or CSRF token is required."""
        found = reader("unsubscribe", request.path_params["token"])
        if found is None:
            return not_found()
        if found.status is not Status.UNSUBSCRIBED:
            ctx.subscribers.set_status(found.email, Status.UNSUBSCRIBED)
        return page("web/unsubscribe.html.j2", title="Unsubscribed", email=found.email, done=True)

    def feedback_target(request: Request) -> tuple[Subscriber, Paper, bool] | None:
        """The reader, the paper and whether they want more like it; None for a bad link."""
        found = reader("feedback", request.path_params["token"])
        direction = request.path_params["direction"]
        if found is None or direction not in ("more", "less"):
            return None
        paper = ctx.papers.get(request.path_params["paper"][:64])
        return (found, paper, direction == "more") if paper is not None else None

    async def feedback_page(request: Request) -> Response:
        """The email's "more / fewer like this" links open this page; its button records the choice (a mail
        scanner following every link leaves nothing behind)."""
        target = feedback_target(request)
        if target is None:
            return not_found()
        _, paper, more = target
        return form_page(
            request,
            "web/feedback.html.j2",
            title="More like this" if more else "Fewer like this",
            paper=paper_view(1, Pick(paper, 0.0, Why("note"))),
            more=more,
        )

    async def feedback(request: Request) -> Response:
        target = feedback_target(request)
        if target is None:
            return not_found()
        await checked_form(request)
        found, paper, more = target
        ctx.subscribers.add_feedback(found.email, paper.id, liked=more)
        title = readable(paper.title)
        text = f"You will see more papers like “{title}”." if more else f"You will see fewer papers like “{title}”."
        return message("Thanks — noted", text)

    # -- public pages -----------------------------------------------------------------------------------

    def views(papers: list[Paper]) -> list[PaperView]:
        return [paper_view(rank, Pick(p, 0.0, Why("note"))) for rank, p in enumerate(papers, start=1)]

    async def daily_papers(request: Request) -> Response:
        """The day's papers by trending score, newest day first, a day per page."""
        try:
            day = date.fromisoformat(request.query_params["day"]) if "day" in request.query_params else None
        except ValueError:
            return not_found()
        return day_page(request, day or ctx.papers.latest_announcement(date.max))

    async def archive_day(request: Request) -> Response:
        try:
            day = date.fromisoformat(request.path_params["day"])
        except ValueError:
            return not_found()
        return day_page(request, day)

    def day_page(request: Request, day: date | None) -> Response:
        papers = ctx.papers.list(on=day, trending=True) if day else []
        older, newer = ctx.papers.neighbour_days(day) if day else (None, None)
        return form_page(
            request,
            "web/papers.html.j2",
            title="Daily papers",
            heading=f"Daily papers — {format_day(day)}" if day else "Daily papers",
            query="",
            papers=views(papers),
            note=f"{len(papers)} papers announced {format_day(day)}, most upvoted first." if papers else None,
            empty="No papers yet." if day is None else f"Nothing was announced on {format_day(day)}.",
            newer=(format_day(newer), f"/?day={newer}") if newer else None,
            older=(format_day(older), f"/?day={older}") if older else None,
            subscribe_label="The most upvoted new papers every morning. Or search for a topic and get that.",
        )

    async def search(request: Request) -> Response:
        text = request.query_params.get("q", "").strip()
        try:
            page_number = min(max(1, int(request.query_params.get("page", "1"))), MAX_SEARCH_PAGE)
        except ValueError:
            page_number = 1
        context: dict[str, Any] = {"title": "Search", "heading": "Search papers", "query": text, "search": True}
        if not text:
            return form_page(request, "web/papers.html.j2", papers=[], **context)
        try:
            query = parse_query(text)
            hits = await run_in_threadpool(
                ctx.search.search, query, limit=SEARCH_PAGE + 1, offset=(page_number - 1) * SEARCH_PAGE
            )
        except InputError as exc:
            return form_page(request, "web/papers.html.j2", 400, papers=[], error=str(exc), **context)
        more = len(hits) > SEARCH_PAGE
        found = [h.paper for h in hits[:SEARCH_PAGE]]
        link = f"/search?{urlencode({'q': text})}&page="
        return form_page(
            request,
            "web/papers.html.j2",
            papers=views(found),
            note=f"Results {(page_number - 1) * SEARCH_PAGE + 1}–{(page_number - 1) * SEARCH_PAGE + len(found)}, "
            "best match first."
            if found
            else None,
            empty=f"No paper matches “{text}”.",
            newer=("Previous results", link + str(page_number - 1)) if page_number > 1 else None,
            older=("More results", link + str(page_number + 1)) if more else None,
            subscribe_label=f"New papers matching “{text}”, ranked for you, every morning.",
            **{**context, "title": f"{text} — Search"},
        )

    async def archive(request: Request) -> Response:
        return page("web/archive.html.j2", title="Archive", days=ctx.papers.announcement_days())

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "papers": ctx.papers.count()})

    return Starlette(
        routes=[
            Route("/subscribe", subscribe_page, methods=["GET"]),
            Route("/subscribe", subscribe, methods=["POST"]),
            Route("/confirm/{token}", confirm_page, methods=["GET"]),
            Route("/confirm/{token}", confirm, methods=["POST"]),
            Route("/preferences/{token}", preferences, methods=["GET"]),
            Route("/preferences/{token}", update_preferences, methods=["POST"]),
            Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET"]),
            Route("/unsubscribe/{token}", unsubscribe, methods=["POST"]),
            Route("/feedback/{token}/{paper:path}/{direction:str}", feedback_page, methods=["GET"]),
            Route("/feedback/{token}/{paper:path}/{direction:str}", feedback, methods=["POST"]),
            Route("/", daily_papers),
            Route("/search", search),
            Route("/archive", archive),
            Route("/archive/{day}", archive_day),
            Route("/healthz", healthz),
            Mount("/static", StaticFiles(directory=Path(settings.paths.templates) / "web" / "static"), name="static"),
        ],
        middleware=[Middleware(Guard)],
        exception_handlers={Refused: refused},
    )
