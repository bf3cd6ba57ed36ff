"""The web app (Starlette): unsubscribe with RFC 8058 one-click, feedback links, the public archive, health.

Handlers are thin: read the token, call the store, render a page. Tokens are HMAC-signed with
`web.secret_key` and checked in constant time (itsdangerous); a bad one gets 404 and reveals nothing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from newsletter.latex import readable
from newsletter.models import Status
from newsletter.pipeline import Context
from newsletter.render import format_day, shorten_authors, snippet
from newsletter.tokens import Tokens


def create_app(ctx: Context) -> Starlette:
    settings = ctx.settings
    tokens = Tokens(settings.web.secret_key)
    env = Environment(
        loader=FileSystemLoader(Path(settings.paths.templates)), autoescape=select_autoescape(["html", "j2"])
    )

    def page(name: str, status: int = 200, **context: object) -> HTMLResponse:
        body = env.get_template(name).render(sender=settings.sender, **context)
        return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    def not_found() -> HTMLResponse:
        return page("web/message.html.j2", 404, title="Link not found", text="This link is not valid.")

    def reader(request: Request):  # type: ignore[no-untyped-def]
        subscriber_id = tokens.read("unsubscribe", request.path_params["token"])
        if subscriber_id is None:
            return None
        return ctx.subscribers.by_ids([subscriber_id]).get(subscriber_id)

    async def unsubscribe_page(request: Request) -> Response:
        """GET never changes anything: mail scanners and link previews fetch it."""
        found = reader(request)
        if found is None:
            return not_found()
        return page(
            "web/unsubscribe.html.j2", title="Unsubscribe", email=found.email, done=found.status is Status.UNSUBSCRIBED
        )

    async def unsubscribe(request: Request) -> Response:
        """RFC 8058 one-click (body List-Unsubscribe=One-Click) and the page's button: effective at once,
        200 with a short page, never a redirect; no cookie or CSRF token is required."""
        found = reader(request)
        if found is None:
            return not_found()
        if found.status is not Status.UNSUBSCRIBED:
            ctx.subscribers.set_status(found.email, Status.UNSUBSCRIBED)
        return page("web/unsubscribe.html.j2", title="Unsubscribed", email=found.email, done=True)

    async def feedback(request: Request) -> Response:
        """The email's "more / fewer like this" links: a like or dislike that shapes later picks."""
        subscriber_id = tokens.read("feedback", request.path_params["token"])
        paper = ctx.papers.get(request.path_params["paper"])
        found = ctx.subscribers.by_ids([subscriber_id]).get(subscriber_id) if subscriber_id is not None else None
        direction = request.path_params["direction"]
        if found is None or paper is None or direction not in ("more", "less"):
            return not_found()
        more = direction == "more"
        ctx.subscribers.add_feedback(found.email, paper.id, liked=more)
        text = (
            f"You will see more papers like “{paper.title}”."
            if more
            else f"You will see fewer papers like “{paper.title}”."
        )
        return page("web/message.html.j2", title="Thanks — noted", text=text)

    async def archive(request: Request) -> Response:
        return page("web/archive.html.j2", title="Daily papers", day=None, days=ctx.papers.announcement_days())

    async def archive_day(request: Request) -> Response:
        try:
            day = date.fromisoformat(request.path_params["day"])
        except ValueError:
            return not_found()
        papers = sorted(ctx.papers.list(on=day), key=lambda p: -(p.upvotes or 0))
        views = [
            {
                "title": readable(p.title),
                "abs_url": p.abs_url,
                "authors": shorten_authors(p.authors),
                "upvotes": p.upvotes,
                "snippet": snippet(readable(p.abstract)),
            }
            for p in papers
        ]
        return page("web/archive.html.j2", title=f"Daily papers — {format_day(day)}", day=format_day(day), papers=views)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "papers": ctx.papers.count()})

    return Starlette(
        routes=[
            Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET"]),
            Route("/unsubscribe/{token}", unsubscribe, methods=["POST"]),
            Route("/feedback/{token}/{paper:path}/{direction:str}", feedback, methods=["GET", "POST"]),
            Route("/archive", archive),
            Route("/archive/{day}", archive_day),
            Route("/healthz", healthz),
        ]
    )
