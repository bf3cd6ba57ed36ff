"""The email's "more / fewer like this" links: a page with one button, and its POST that records the choice."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from newsletter.latex import readable
from newsletter.links import FEEDBACK
from newsletter.models import Paper, Subscriber
from newsletter.paper_views import listed_views
from newsletter.web.site import site


def feedback_target(request: Request) -> tuple[Subscriber, Paper, bool] | None:
    """The reader, the paper and whether they want more like it; None for a bad link."""
    web = site(request)
    found = web.reader("feedback", request.path_params["token"])
    direction = request.path_params["direction"]
    if found is None or direction not in FEEDBACK:
        return None
    paper = web.ctx.papers.get(request.path_params["paper"][:64])
    return (found, paper, FEEDBACK[direction]) if paper is not None else None


async def feedback_page(request: Request) -> Response:
    """The email's "more / fewer like this" links open this page; its button records the choice (a mail
    scanner following every link leaves nothing behind)."""
    web = site(request)
    target = feedback_target(request)
    if target is None:
        return web.not_found()
    _, paper, more = target
    return web.form_page(
        request,
        "web/feedback.html.j2",
        title="More like this" if more else "Fewer like this",
        paper=listed_views([paper])[0],
        more=more,
    )


async def feedback(request: Request) -> Response:
    web = site(request)
    target = feedback_target(request)
    if target is None:
        return web.not_found()
    await web.checked_form(request)
    found, paper, more = target
    web.ctx.subscribers.add_feedback(found.email, paper.id, liked=more)
    title = readable(paper.title)
    text = f"You will see more papers like “{title}”." if more else f"You will see fewer papers like “{title}”."
    return web.message("Thanks — noted", text)
