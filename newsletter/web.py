"""The web app (Starlette): unsubscribe pages with RFC 8058 one-click, and a health check.

Handlers are thin: read the token, call the store, render a page. Tokens are HMAC-signed with
`web.secret_key` and checked in constant time (itsdangerous); a bad one gets 404 and reveals nothing.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from newsletter.models import Status
from newsletter.pipeline import Context
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

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "papers": ctx.papers.count()})

    return Starlette(
        routes=[
            Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET"]),
            Route("/unsubscribe/{token}", unsubscribe, methods=["POST"]),
            Route("/feedback/{token}/{paper:path}/{direction:str}", feedback, methods=["GET", "POST"]),
            Route("/healthz", healthz),
        ]
    )
