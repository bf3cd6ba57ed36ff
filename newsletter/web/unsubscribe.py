"""Unsubscribing: the page a digest's link opens, and the RFC 8058 one-click POST."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from newsletter.links import reader_links
from newsletter.models import Status
from newsletter.web.site import site


async def unsubscribe_page(request: Request) -> Response:
    """GET never changes anything: mail scanners and link previews fetch it."""
    web = site(request)
    found = web.reader("unsubscribe", request.path_params["token"])
    if found is None:
        return web.not_found()
    return web.page(
        "web/unsubscribe.html.j2",
        title="Unsubscribe",
        email=found.email,
        done=found.status is Status.UNSUBSCRIBED,
        preferences=reader_links(web.settings, web.tokens, found).preferences,
    )


async def unsubscribe(request: Request) -> Response:
    """RFC 8058 one-click (body List-Unsubscribe=One-Click) and the page's button: effective at once,
    200 with a short page, never a redirect; no cookie or CSRF token is required."""
    web = site(request)
    found = web.reader("unsubscribe", request.path_params["token"])
    if found is None:
        return web.not_found()
    if found.status is not Status.UNSUBSCRIBED:
        web.ctx.subscribers.set_status(found.email, Status.UNSUBSCRIBED)
    # The way back: their preferences page, whose "Resume" button is theirs to press.
    preferences = reader_links(web.settings, web.tokens, found).preferences
    return web.page(
        "web/unsubscribe.html.j2", title="Unsubscribed", email=found.email, done=True, preferences=preferences
    )
