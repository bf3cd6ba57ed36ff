"""The preferences page: a reader's settings, a preview of their next digest, save, pause and resume."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from newsletter.errors import InputError
from newsletter.links import reader_links, reader_path
from newsletter.models import Frequency, Subscriber
from newsletter.paper_views import pick_views, window_label
from newsletter.pipeline import sample_digest
from newsletter.readers import subscriptions
from newsletter.readers.fields import FIELDS
from newsletter.store import SubscriberStore
from newsletter.web.forms import changes_from_form, form_values
from newsletter.web.site import Refused, site

# What the preferences page says after a change (Post/Redirect/Get keeps a reload from posting twice).
DONE = {
    "saved": "Your preferences are saved.",
    "paused": "Your digest is paused. Nothing is sent until you resume it.",
    "resumed": "Your digest is on again.",
    "confirmed": "You are subscribed. {first}",
    # A sign-up form changes nobody's preferences (anyone may type an address in it): said, not left to find.
    "returned": "You are subscribed again, with the preferences you had before; change them below. {first}",
}


def done_message(done: str | None, subscriber: Subscriber) -> str | None:
    """What the page says after `done`; when the first digest comes, for a reader just subscribed."""
    message = DONE.get(done or "")
    if message is None:
        return None
    weekday = subscriber.weekday if subscriber.frequency is Frequency.WEEKLY else None
    when = "with the next announcement" if weekday is None else f"on the next {calendar.day_name[weekday]}"
    return message.format(first=f"Your first digest comes {when}.")


# The pause and resume buttons, as the operator's commands with the reader's own say (subscriptions.py).
SWITCHES: dict[str, Callable[[SubscriberStore, str], Subscriber]] = {
    "pause": subscriptions.pause,
    "resume": partial(subscriptions.resume, by_reader=True),
}


async def preferences_page(
    request: Request, subscriber: Subscriber, status: int = 200, done: str | None = None, **context: Any
) -> HTMLResponse:
    web = site(request)
    # Ranking the latest papers takes a while on a big day: off the event loop.
    digest = await run_in_threadpool(sample_digest, web.ctx, subscriber)
    return web.form_page(
        request,
        "web/preferences.html.j2",
        status,
        title="Your preferences",
        subscriber=subscriber,
        values=context.pop("values", None) or form_values(subscriber),
        done=done_message(done, subscriber),
        action=reader_path("preferences", web.tokens, subscriber),
        unsubscribe=reader_links(web.settings, web.tokens, subscriber).unsubscribe,
        preview=pick_views(digest.picks, since=digest.window_start),
        window=window_label(digest.window_start, digest.window_end) if digest.candidates else None,
        candidates=digest.candidates,
        **context,
    )


async def preferences(request: Request) -> Response:
    web = site(request)
    found = web.reader("preferences", request.path_params["token"])
    if found is None:
        return web.not_found()
    return await preferences_page(request, found, done=request.query_params.get("done"))


async def update_preferences(request: Request) -> Response:
    web = site(request)
    found = web.reader("preferences", request.path_params["token"])
    if found is None:
        return web.not_found()
    try:
        values = await web.checked_form(request)
    except Refused as refused:  # what was typed is shown again
        refused.values.pop("action", None)
        status = refused.response.status_code  # 403 for the CSRF token, 400 for a NUL
        return await preferences_page(request, found, status, error=refused.problem, values=refused.values or None)
    action = values.pop("action", "save")
    # Pause and resume sit under the same form as the fields: what was typed beside them is saved too (it was
    # dropped without a word), when the form carries the fields at all.
    if action == "save" or (action in SWITCHES and values.keys() & {f.name for f in FIELDS}):
        try:
            subscriptions.update(web.ctx.subscribers, found.email, changes_from_form(values, full=True))
        except InputError as exc:
            return await preferences_page(request, found, 400, error=str(exc), values=values)
    if action in SWITCHES:
        try:
            SWITCHES[action](web.ctx.subscribers, found.email)
        except InputError:  # a bounce, a complaint, a sign-up not confirmed: said without naming why
            return await preferences_page(request, found, 400, error=f"This digest cannot be {action}d now.")
    elif action != "save":
        return await preferences_page(request, found, 400, error="This form has no such button.")
    done = {"save": "saved", "pause": "paused", "resume": "resumed"}[action]
    return RedirectResponse(f"{request.url.path}?done={done}", status_code=303)
