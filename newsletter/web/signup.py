"""The sign-up pages: the form, its POST (double opt-in: a mail with a link), and the confirmation link."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from newsletter.errors import InputError
from newsletter.links import reader_path
from newsletter.models import Consent, Status
from newsletter.pipeline import mail_signup
from newsletter.readers import signup
from newsletter.tokens import EXPIRING
from newsletter.web.forms import changes_from_form
from newsletter.web.site import Refused, Site, site


async def subscribe_page(request: Request) -> Response:
    query = request.query_params.get("q", "").strip()[:200]
    return site(request).form_page(
        request, "web/subscribe.html.j2", title="Subscribe", values={"topics": query} if query else {}
    )


async def subscribe(request: Request) -> Response:
    web = site(request)
    try:
        values = await web.checked_form(request)
    except Refused as refused:  # what was typed is shown again
        return web.form_page(
            request,
            "web/subscribe.html.j2",
            refused.response.status_code,  # 403 for the CSRF token, 400 for a NUL
            title="Subscribe",
            error=refused.problem,
            values=refused.values,
        )
    email = values.get("email", "").strip()
    consent = consent_of(request, signup.FORM_VERSION)
    fields = {k: v for k, v in values.items() if k != "email"}
    try:
        outcome = signup.request(
            web.settings, web.ctx.subscribers, email, changes_from_form(fields, full=False), consent
        )
    except InputError as exc:
        return web.form_page(request, "web/subscribe.html.j2", 400, title="Subscribe", error=str(exc), values=values)
    # Mailed after the answer, so neither its text nor its timing tells whether the address was known; the
    # answer sends the browser on (Post/Redirect/Get), so a reload asks for no second mail.
    background = BackgroundTask(mail_signup, web.ctx, web.composer, outcome) if outcome.kind is not None else None
    return RedirectResponse("/subscribe/sent", status_code=303, background=background)


async def sent_page(request: Request) -> Response:
    return site(request).message(
        "Check your inbox",
        "If the address you gave can receive mail, a message with a link is on its way to it. "
        "Open the link to confirm; nothing is sent before that.",
    )


def gone_or_not_found(web: Site, token: str) -> Response:
    """A confirmation link past its days says so and where to get a new one; any other is not found."""
    if not web.tokens.expired("confirm", token):
        return web.not_found()
    days = EXPIRING["confirm"] // 86400
    where = web.settings.web.base_url.rstrip("/") + "/subscribe"
    return web.message(
        "Link expired",
        f"Confirmation links work for {days} days, and this one is older. Sign up again at {where}: a new link "
        "is mailed to you.",
        410,
    )


async def confirm_page(request: Request) -> Response:
    """GET shows the button and changes nothing: mail scanners and link previews fetch it."""
    web = site(request)
    found = web.claimed("confirm", request.path_params["token"])
    if found is None:
        return gone_or_not_found(web, request.path_params["token"])
    claim, subscriber = found
    assert claim.issued_at is not None  # confirmation tokens are timed
    if not subscriber.confirmable(claim.issued_at):
        if subscriber.status is Status.ACTIVE:  # this link's work is done (the back button, a second click)
            return web.message(
                "You are subscribed",
                f"{subscriber.email} gets the digest already. Each digest's own links manage your subscription.",
            )
        return web.message(
            "Link already used",
            "This confirmation link was used already or is older than your last change. "
            "Your digest's own links manage your subscription; or sign up again.",
            410,
        )
    return web.form_page(request, "web/confirm.html.j2", title="Confirm your subscription", email=subscriber.email)


async def confirm(request: Request) -> Response:
    web = site(request)
    found = web.claimed("confirm", request.path_params["token"])
    if found is None:
        return gone_or_not_found(web, request.path_params["token"])
    await web.checked_form(request)
    claim, subscriber = found
    assert claim.issued_at is not None
    # A reader coming back (unsubscribed): their consent is this click.
    returning = consent_of(request, signup.CONFIRM_FORM)
    confirmed = web.ctx.subscribers.confirm(subscriber.id, claim.issued_at, returning)
    if confirmed is None:
        return web.message("Link already used", "This confirmation link was used already.", 410)
    done = "returned" if subscriber.status is Status.UNSUBSCRIBED else "confirmed"
    return RedirectResponse(reader_path("preferences", web.tokens, confirmed) + f"?done={done}", status_code=303)


def consent_of(request: Request, form: str) -> Consent:
    """A reader's consent as given by this request: when, from where, with what, on which form."""
    return Consent(
        at=datetime.now(UTC),
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent", "")[:300],
        form=form,
    )
